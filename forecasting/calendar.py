"""The calendar a forecast lives on: opening hours, public holidays, planner days, the post-closure rebound.

Closed means *known* closed. A period is forecast exactly 0 only when
(a) the planner's calendar says the day is closed, or
(b) its slot of the week saw no contact in any of the last ``RECENT_WEEKS`` weeks (opening hours), or
(c) the same named holiday was observed closed: it had no rows while the days around it had rows
    (``--holidays closed`` closes every public holiday, ``--holidays open`` none).
A row-less ordinary day is *missing* (a data gap), never evidence of a closure. A holiday never seen,
or seen only inside a gap, is forecast open with the median effect of the holidays observed open,
else as a normal day of its weekday. Every horizon day that is not a normal day gets a `DayNote`
saying what was assumed and why.

Models see *normal* days only: `normalize` removes these effects from history and `plan_horizon`
puts them back on the forecast, so a holiday never shifts the weekly pattern.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays as holidays_lib
import numpy as np

from dispatcher.errors import InvalidInput
from forecasting.series import BoolArray, DayArray, DayGrid, FloatArray, weekday_of

CLOSED_RATIO = 0.2
"""A day below this share of the usual volume counts as closed for the rebound that follows it."""
BASELINE_WEEKS = 4
RECENT_WEEKS = 8
"""Opening hours: a slot of the week is open when it saw a contact in one of the last 8 weeks."""
NEIGHBOUR_DAYS = 4
"""A row-less holiday is observed closed when rows exist within this many days before and after it."""
HOLIDAY_AS_NORMAL = 0.1
"""A holiday observed within ±10% of its weekday's usual volume stays in the models' history (scaled
by its effect): on a timetable the holiday week is the most recent schedule, too valuable to drop."""
CALENDAR_KINDS = ("closed", "open", "special")
HOLIDAY_MODES = ("learn", "open", "closed")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class SpecialDay:
    """A user-given day with its own effect (campaign, outage, bill run): a fixed factor, or
    ``None`` to learn it from past days with the same name."""

    day: date
    name: str
    factor: float | None = None


@dataclass(frozen=True, slots=True)
class PlannerDay:
    """One row of the planner's calendar: ``kind`` closed, open or special (``effect`` a multiplier,
    ``None`` to learn it from past days with the same label); ``queue`` None means every queue."""

    day: date
    kind: str
    queue: str | None = None
    effect: float | None = None
    label: str = ""
    row: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in CALENDAR_KINDS:
            raise InvalidInput(f"unknown kind {self.kind!r}; use one of {list(CALENDAR_KINDS)}", field="kind",
                               row=self.row)
        if self.effect is not None and not (np.isfinite(self.effect) and self.effect >= 0):
            raise InvalidInput(f"effect must be a number >= 0, got {self.effect}", field="effect", row=self.row)

    @property
    def source(self) -> str:
        where = f"calendar row {self.row}" if self.row is not None else "calendar"
        return f"{where} ({self.label})" if self.label else where

    def applies_to(self, queue: str) -> bool:
        return self.queue is None or self.queue == queue


@dataclass(frozen=True, slots=True)
class DayNote:
    """What the forecast assumed about one day that is not a normal day of its weekday."""

    day: date
    queue: str
    status: str
    """closed, open (a holiday or planner day forecast open), special or rebound."""
    factor: float
    """Multiplier of a normal day's forecast (0: closed)."""
    reason: str
    warning: bool = False
    """A whole-day zero on a weekday that is open in history."""


@dataclass(frozen=True, slots=True)
class HolidaySeen:
    """How one holiday name showed up in history: open (with its volume ratio), closed, or missing."""

    open_ratios: tuple[float, ...] = ()
    last_open: date | None = None
    last_closed: date | None = None
    last_missing: date | None = None

    @property
    def closed_last(self) -> bool:
        return self.last_closed is not None and (self.last_open is None or self.last_closed > self.last_open)


@dataclass(frozen=True, slots=True)
class Calendar:
    open_slots: BoolArray
    """``open_slots[weekday, period]``: the slot of the week saw contacts in the recent weeks."""
    holidays: Mapping[date, str] = field(default_factory=dict)
    seen: Mapping[str, HolidaySeen] = field(default_factory=dict)
    """Per holiday name, how it showed up in history."""
    comparable_effect: float | None = None
    """Median volume ratio of the holidays observed open (None: none was)."""
    rebound: float = 1.0
    special_effect: Mapping[date, float] = field(default_factory=dict)
    special_name: Mapping[date, str] = field(default_factory=dict)
    planner: Mapping[date, PlannerDay] = field(default_factory=dict)
    """The planner's closed/open/special days for this queue."""
    known_closed: frozenset[date] = frozenset()
    """History days known to have been closed (planner row or observed-closed holiday)."""
    holiday_mode: str = "learn"
    weekday_ever_open: BoolArray = field(default_factory=lambda: np.ones(7, dtype=bool))
    """The weekday had contacts anywhere in history (a whole-day zero on it is a warning)."""

    def open_mask(self, days: DayArray) -> BoolArray:
        """(days, periods) open periods, ignoring holidays."""
        return self.open_slots[weekday_of(days)]

    @property
    def open_weekday(self) -> BoolArray:
        return np.asarray(self.open_slots.any(axis=1), dtype=bool)

    def holiday_factor(self, day: date) -> tuple[float, str, str]:
        """(factor, status, reason) of a public holiday, from the holiday mode and what history showed."""
        name = self.holidays[day]
        if self.holiday_mode == "closed":
            return 0.0, "closed", f"closed: {name} (--holidays closed)"
        seen = self.seen.get(name, HolidaySeen())
        if self.holiday_mode == "learn" and seen.closed_last and seen.last_closed is not None:
            return 0.0, "closed", f"closed: {name} {seen.last_closed.year} had no contacts between open days"
        if seen.open_ratios and seen.last_open is not None:
            factor = float(np.median(seen.open_ratios))
            return factor, "open", f"open: {name} at ×{factor:.2f} of a normal day, as in {seen.last_open.year}"
        how = ("never seen in history" if not (seen.last_missing or seen.last_closed)
               else "seen only as missing data" if seen.last_closed is None
               else f"closed in {seen.last_closed.year} but --holidays {self.holiday_mode}")
        if self.comparable_effect is not None:
            return (self.comparable_effect, "open",
                    f"open: {name} {how}; ×{self.comparable_effect:.2f} like the holidays observed open")
        return 1.0, "open", f"open: {name} {how}; forecast as a normal {WEEKDAY_NAMES[day.weekday()]}"

    def plan(self, days: Sequence[date], closed_before: bool = False) -> list[tuple[float, str, str]]:
        """Per day ``(factor, status, reason)``; status ``normal`` for a plain day. ``closed_before``:
        the last open day before ``days[0]`` was closed (the first open day rebounds)."""
        out = []
        open_weekday = self.open_weekday
        for day in days:
            wd = day.weekday()
            row = self.planner.get(day)
            if day in self.known_closed and (row is None or row.kind == "closed"):
                why = row.source if row is not None else f"{self.holidays.get(day, 'day')} had no contacts"
                entry = (0.0, "closed", f"closed: {why}")
            elif row is not None and row.kind == "closed":
                entry = (0.0, "closed", f"closed: {row.source}")
            elif row is not None and row.kind == "special":
                factor = row.effect if row.effect is not None else self.special_effect.get(day)
                entry = ((1.0, "special", f"special: {row.source}, effect not known yet (×1)") if factor is None
                         else (factor, "special", f"special: {row.source} ×{factor:.2f}"))
            elif day in self.special_effect:
                factor = self.special_effect[day]
                entry = (factor, "special", f"special: {self.special_name.get(day, 'special day')} ×{factor:.2f}")
            elif day in self.holidays:
                factor, status, reason = self.holiday_factor(day)
                if row is not None and factor < CLOSED_RATIO:  # the planner says open: never closed
                    factor = self.comparable_effect or 1.0
                    status, reason = "open", f"open: {row.source}; {self.holidays[day]} at ×{factor:.2f}"
                entry = (factor, status, reason)
            elif row is not None:
                entry = (1.0, "open", f"open: {row.source}")
            elif closed_before and open_weekday[wd]:
                entry = (self.rebound, "rebound", f"rebound: first open day after a closed day ×{self.rebound:.2f}")
            else:
                entry = (1.0, "normal", "")
            out.append(entry)
            if open_weekday[wd] or day in self.holidays or row is not None:
                closed_before = entry[0] < CLOSED_RATIO
        return out


def public_holidays(country: str | None, first: date, last: date, subdivision: str | None = None) -> dict[date, str]:
    if not country:
        return {}
    try:
        cal = holidays_lib.country_holidays(country, subdiv=subdivision, years=range(first.year, last.year + 1))
    except NotImplementedError as exc:
        raise InvalidInput(f"unknown holiday country/subdivision {country!r}/{subdivision!r}",
                           field="country") from exc
    return {d: str(name) for d, name in cal.items() if first <= d <= last}


def check_holiday_mode(mode: str) -> None:
    if mode not in HOLIDAY_MODES:
        raise InvalidInput(f"unknown holiday mode {mode!r}; use one of {list(HOLIDAY_MODES)}", field="holidays")


def usual_totals(totals: FloatArray, weekdays: np.ndarray, normal: BoolArray) -> FloatArray:
    """Per day, the mean total of normal same-weekday days within ±4 weeks (NaN when none)."""
    out = np.full(len(totals), np.nan)
    for i in range(len(totals)):
        lo, hi = max(0, i - 7 * BASELINE_WEEKS), min(len(totals), i + 7 * BASELINE_WEEKS + 1)
        idx = np.arange(lo, hi)
        pick = idx[(weekdays[idx] == weekdays[i]) & normal[idx] & (idx != i)]
        if len(pick):
            out[i] = totals[pick].mean()
    return out


def opening_hours(grid: DayGrid) -> BoolArray:
    """``[weekday, period]`` open when the slot saw a contact in one of the last RECENT_WEEKS weeks."""
    present = ~np.isnan(grid.volume[:, 0])
    recent = np.arange(grid.n_days) >= grid.n_days - 7 * RECENT_WEEKS
    weekdays = weekday_of(grid.days)
    slots = np.zeros((7, grid.periods_per_day), dtype=bool)
    for wd in range(7):
        rows = grid.volume[(weekdays == wd) & present & recent]
        if len(rows):
            slots[wd] = rows.sum(axis=0) > 0
    return slots


def observed_closed(present: BoolArray, i: int) -> bool:
    """A row-less day with rows within NEIGHBOUR_DAYS before and after it: closed between open days."""
    before = present[max(0, i - NEIGHBOUR_DAYS):i]
    after = present[i + 1:i + 1 + NEIGHBOUR_DAYS]
    return bool(before.any() and after.any())


def learn_calendar(
    grid: DayGrid,
    *,
    holidays: Mapping[date, str] | None = None,
    special_days: Iterable[SpecialDay] = (),
    planner: Iterable[PlannerDay] = (),
    holiday_mode: str = "learn",
) -> Calendar:
    """Opening hours, holiday observations, rebound and special effects from one queue's history
    (``holidays`` and ``planner`` may reach into the horizon; only the history is learned from)."""
    check_holiday_mode(holiday_mode)
    holidays = dict(holidays or {})
    planned = {p.day: p for p in planner if p.applies_to(grid.queue)}
    specials = [*special_days, *(SpecialDay(p.day, p.label or "special", p.effect)
                                 for p in planned.values() if p.kind == "special")]
    days = grid.days
    day_objs: list[date] = list(days.astype(object))
    weekdays = weekday_of(days)
    open_slots = opening_hours(grid)
    open_weekday: BoolArray = np.asarray(open_slots.any(axis=1), dtype=bool)
    present: BoolArray = ~np.isnan(grid.volume[:, 0])
    ever_open = np.zeros(7, dtype=bool)
    ever_open[np.unique(weekdays[present])] = True
    totals = np.nan_to_num(np.nansum(grid.volume, axis=1), nan=0.0)
    is_holiday = np.array([d in holidays for d in day_objs], dtype=bool)
    special_dates = {s.day for s in specials}
    is_special = np.array([d in special_dates for d in day_objs], dtype=bool)
    planner_closed = np.array([d in planned and planned[d].kind == "closed" for d in day_objs], dtype=bool)
    planner_open = np.array([d in planned and planned[d].kind == "open" for d in day_objs], dtype=bool)
    holiday_closed = np.array([is_holiday[i] and not present[i] and not planner_open[i]
                               and observed_closed(present, i) for i in range(len(days))], dtype=bool)
    known_closed = planner_closed | holiday_closed
    after_closed = np.zeros(len(days), dtype=bool)
    pending = False
    for i in range(len(days)):
        if known_closed[i]:
            pending = True
        elif open_weekday[weekdays[i]] and present[i]:
            after_closed[i] = pending and not is_holiday[i]
            pending = False
    normal = present & ~is_holiday & ~after_closed & ~is_special & ~planner_open & open_weekday[weekdays]
    usual = usual_totals(totals, weekdays, normal)
    ratio = np.where(usual > 0, totals / np.where(usual > 0, usual, 1.0), np.nan)
    seen = holidays_seen(holidays, day_objs, present, holiday_closed, ratio, open_weekday[weekdays])
    open_ratios = [r for s in seen.values() for r in s.open_ratios]
    comparable = float(np.median(open_ratios)) if open_ratios else None
    rebound_ratios = ratio[after_closed & ~np.isnan(ratio)]
    rebound = float(np.median(rebound_ratios)) if len(rebound_ratios) else 1.0
    special_effect, special_name = special_effects(specials, day_objs, ratio, present & is_special)
    return Calendar(open_slots, holidays, seen, comparable, rebound, special_effect, special_name, planned,
                    frozenset(d for d, c in zip(day_objs, known_closed, strict=True) if c), holiday_mode,
                    ever_open)


def holidays_seen(holidays: Mapping[date, str], day_objs: Sequence[date], present: BoolArray,
                  closed: BoolArray, ratio: FloatArray, open_weekday: BoolArray) -> dict[str, HolidaySeen]:
    """Per holiday name: volume ratios when open, the last day seen closed, the last day seen missing."""
    seen: dict[str, HolidaySeen] = {}
    for i, day in enumerate(day_objs):
        name = holidays.get(day)
        if name is None or not open_weekday[i]:
            continue
        was = seen.get(name, HolidaySeen())
        if present[i] and np.isfinite(ratio[i]):
            was = HolidaySeen((*was.open_ratios, float(ratio[i])), day, was.last_closed, was.last_missing)
        elif closed[i]:
            was = HolidaySeen(was.open_ratios, was.last_open, day, was.last_missing)
        elif not present[i]:
            was = HolidaySeen(was.open_ratios, was.last_open, was.last_closed, day)
        seen[name] = was
    return seen


def special_effects(specials: Sequence[SpecialDay], day_objs: Sequence[date], ratio: FloatArray,
                    observed: BoolArray) -> tuple[dict[date, float], dict[date, str]]:
    """Per special day its factor: the given one, else the median ratio of past days of the same name."""
    learned: dict[str, list[float]] = {}
    by_day = {s.day: s for s in specials}
    for k in np.flatnonzero(observed & ~np.isnan(ratio)):
        learned.setdefault(by_day[day_objs[int(k)]].name, []).append(float(ratio[k]))
    effect: dict[date, float] = {}
    names: dict[date, str] = {}
    for s in specials:
        if s.factor is not None:
            if s.factor < 0:
                raise InvalidInput(f"special day {s.day} has a negative factor {s.factor}", field="factor")
            effect[s.day] = s.factor
        elif s.name in learned:
            effect[s.day] = float(np.median(learned[s.name]))
        names[s.day] = s.name
    return effect, names


def normalize(grid: DayGrid, calendar: Calendar) -> FloatArray:
    """History as normal days: holidays (but those running within HOLIDAY_AS_NORMAL of normal) and
    closed or planner days NaN; rebound, special days and kept holidays divided by their effect."""
    volume = grid.volume.copy()
    day_objs = list(grid.days.astype(object))
    factors = np.array([f for f, _, _ in calendar.plan(day_objs)])
    near_normal = np.abs(factors - 1.0) <= HOLIDAY_AS_NORMAL
    drop = np.array([(d in calendar.holidays and not near_normal[i]) or d in calendar.planner
                     for i, d in enumerate(day_objs)], dtype=bool)
    volume[drop | (factors < CLOSED_RATIO)] = np.nan
    scale = np.where(factors >= CLOSED_RATIO, factors, 1.0)
    return volume / scale[:, None]


def last_open_day_closed(grid: DayGrid, calendar: Calendar, before: date) -> bool:
    """Whether the last day of an open weekday before ``before`` (within the history) was known closed."""
    open_weekday = calendar.open_weekday
    day = before - timedelta(days=1)
    for _ in range(7):
        if day < grid.first_day or day >= grid.end_day:
            return False
        if day in calendar.known_closed:
            return True
        if open_weekday[day.weekday()]:
            return False
        day -= timedelta(days=1)
    return False


def plan_horizon(grid: DayGrid, calendar: Calendar, days: DayArray) -> list[tuple[float, str, str]]:
    """``(factor, status, reason)`` per forecast day, knowing whether the day before them was closed."""
    day_objs: list[date] = list(days.astype(object))
    if not day_objs:
        return []
    return calendar.plan(day_objs, last_open_day_closed(grid, calendar, day_objs[0]))


def horizon_factors(grid: DayGrid, calendar: Calendar, days: DayArray) -> FloatArray:
    """Day factors for forecast days (multiplier of a normal day's forecast; 0 = closed)."""
    return np.array([f for f, _, _ in plan_horizon(grid, calendar, days)], dtype=float)


def day_notes(queue: str, calendar: Calendar, days: DayArray, plan: Sequence[tuple[float, str, str]],
              day_totals: FloatArray) -> list[DayNote]:
    """The horizon days that are not plain days, plus any whole-day zero on a weekday open in history."""
    notes = []
    for day, (factor, status, reason), total in zip(days.astype(object), plan, day_totals, strict=True):
        zero_on_open_weekday = bool(total <= 0 and calendar.weekday_ever_open[day.weekday()])
        if status == "normal" and not zero_on_open_weekday:
            continue
        if status == "normal":
            status, factor = "closed", 0.0
            reason = (f"closed: no contacts on {WEEKDAY_NAMES[day.weekday()]} in the last {RECENT_WEEKS} weeks"
                      " (opening hours)")
        notes.append(DayNote(day, queue, status, float(factor), reason, zero_on_open_weekday))
    return notes
