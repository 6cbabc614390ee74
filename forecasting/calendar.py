"""The calendar a forecast lives on: opening hours, public holidays, special days, the post-holiday rebound.

Learned from history: a period of the week (weekday × period of day) that never saw a contact is
closed; a public holiday's effect is its volume over the usual volume of that weekday (0 when the
site was closed); the first open day after a closed day runs at ``rebound`` times the usual volume.
Models see *normal* days only: `normalize` removes these effects from history and `day_factors`
puts them back on the forecast, so a holiday never shifts the weekly pattern.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import holidays as holidays_lib
import numpy as np

from dispatcher.errors import InvalidInput
from forecasting.series import BoolArray, DayArray, DayGrid, FloatArray, weekday_of

CLOSED_RATIO = 0.2
"""A holiday at less than this share of the usual volume counts as a closed day (a rebound follows)."""
BASELINE_WEEKS = 4


@dataclass(frozen=True, slots=True)
class SpecialDay:
    """A user-given day with its own effect (campaign, outage, bill run): a fixed factor, or
    ``None`` to learn it from past days with the same name."""

    day: date
    name: str
    factor: float | None = None


@dataclass(frozen=True, slots=True)
class Calendar:
    open_slots: BoolArray
    """``open_slots[weekday, period]``: the period of the week saw contacts in history."""
    holidays: Mapping[date, str] = field(default_factory=dict)
    holiday_effect: Mapping[str, float] = field(default_factory=dict)
    """Learned volume ratio per holiday name."""
    default_holiday_effect: float = 1.0
    rebound: float = 1.0
    special_effect: Mapping[date, float] = field(default_factory=dict)

    def open_mask(self, days: DayArray) -> BoolArray:
        """(days, periods) open periods, ignoring holidays."""
        return self.open_slots[weekday_of(days)]

    def day_factors(self, days: DayArray, closed: BoolArray | None = None) -> FloatArray:
        """Multiplier of a normal day's forecast per day: holiday effect, rebound, special days.
        ``closed`` marks days known to have been closed (history without data): factor 0."""
        factors = np.ones(len(days))
        open_weekday: BoolArray = np.asarray(self.open_slots.any(axis=1), dtype=bool)
        closed_before = False
        for i, day in enumerate(days.astype(object)):
            weekday = day.weekday()
            if closed is not None and closed[i]:
                factors[i] = 0.0
            elif day in self.special_effect:
                factors[i] = self.special_effect[day]
            elif day in self.holidays:
                factors[i] = self.holiday_effect.get(self.holidays[day], self.default_holiday_effect)
            elif closed_before and open_weekday[weekday]:
                factors[i] = self.rebound
            if open_weekday[weekday] or day in self.holidays:
                closed_before = factors[i] < CLOSED_RATIO
        return factors


def public_holidays(country: str | None, first: date, last: date, subdivision: str | None = None) -> dict[date, str]:
    if not country:
        return {}
    try:
        cal = holidays_lib.country_holidays(country, subdiv=subdivision, years=range(first.year, last.year + 1))
    except NotImplementedError as exc:
        raise InvalidInput(f"unknown holiday country/subdivision {country!r}/{subdivision!r}",
                           field="country") from exc
    return {d: str(name) for d, name in cal.items() if first <= d <= last}


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


def learn_calendar(
    grid: DayGrid,
    *,
    holidays: Mapping[date, str] | None = None,
    special_days: Iterable[SpecialDay] = (),
) -> Calendar:
    """Opening hours, holiday effects and rebound from one queue's history (``holidays`` may reach
    into the horizon; only those inside the history are learned from)."""
    holidays = dict(holidays or {})
    specials = list(special_days)
    days = grid.days
    weekdays = weekday_of(days)
    per_day = grid.periods_per_day
    open_slots = np.zeros((7, per_day), dtype=bool)
    seen = ~np.isnan(grid.volume[:, 0])
    for wd in range(7):
        rows = grid.volume[(weekdays == wd) & seen]
        if len(rows):
            open_slots[wd] = rows.sum(axis=0) > 0
    open_weekday: BoolArray = np.asarray(open_slots.any(axis=1), dtype=bool)
    totals = np.nan_to_num(np.nansum(grid.volume, axis=1), nan=0.0)
    present = seen
    day_objs = days.astype(object)
    is_holiday = np.array([d in holidays for d in day_objs], dtype=bool)
    special_dates = {s.day for s in specials}
    is_special = np.array([d in special_dates for d in day_objs], dtype=bool)
    # Interior days of an open weekday with no data at all: closed (or a gap) — missing, not zero.
    first_seen = int(np.argmax(present)) if present.any() else 0
    last_seen = len(present) - 1 - int(np.argmax(present[::-1])) if present.any() else -1
    interior = (np.arange(len(days)) >= first_seen) & (np.arange(len(days)) <= last_seen)
    closed_day = interior & open_weekday[weekdays] & ~present
    after_closed = np.zeros(len(days), dtype=bool)
    pending = False
    for i in range(len(days)):
        if closed_day[i] or (is_holiday[i] and interior[i] and not present[i]):
            pending = True
        elif open_weekday[weekdays[i]] and present[i]:
            after_closed[i] = pending and not is_holiday[i]
            pending = False
    normal = present & ~is_holiday & ~after_closed & ~is_special & open_weekday[weekdays]
    usual = usual_totals(totals, weekdays, normal)
    ratio = np.where(usual > 0, totals / np.where(usual > 0, usual, 1.0), np.nan)
    holiday_effect: dict[str, list[float]] = {}
    for h in np.flatnonzero(is_holiday & interior & open_weekday[weekdays] & ~np.isnan(ratio)):
        holiday_effect.setdefault(holidays[day_objs[h]], []).append(float(ratio[h]))
    effects = {name: float(np.median(v)) for name, v in holiday_effect.items()}
    default_effect = float(np.median(list(effects.values()))) if effects else 1.0
    rebound_ratios = ratio[after_closed & ~np.isnan(ratio)]
    rebound = float(np.median(rebound_ratios)) if len(rebound_ratios) else 1.0
    special_effect: dict[date, float] = {}
    learned: dict[str, list[float]] = {}
    for k in np.flatnonzero(is_special & ~np.isnan(ratio) & present):
        name = next(s.name for s in specials if s.day == day_objs[k])
        learned.setdefault(name, []).append(float(ratio[k]))
    for s in specials:
        if s.factor is not None:
            if s.factor < 0:
                raise InvalidInput(f"special day {s.day} has a negative factor {s.factor}", field="factor")
            special_effect[s.day] = s.factor
        elif s.name in learned:
            special_effect[s.day] = float(np.median(learned[s.name]))
    return Calendar(open_slots, holidays, effects, default_effect, rebound, special_effect)


def normalize(grid: DayGrid, calendar: Calendar) -> FloatArray:
    """History as normal days: holidays and closed days NaN, rebound and special days divided out."""
    volume = grid.volume.copy()
    factors = calendar.day_factors(grid.days, closed_days(grid, calendar))
    is_holiday = np.array([d in calendar.holidays for d in grid.days.astype(object)], dtype=bool)
    volume[is_holiday | (factors < CLOSED_RATIO)] = np.nan
    scale = np.where(factors >= CLOSED_RATIO, factors, 1.0)
    return volume / scale[:, None]


def closed_days(grid: DayGrid, calendar: Calendar) -> BoolArray:
    """History days of an open weekday without any data (closed or a gap)."""
    open_weekday: BoolArray = np.asarray(calendar.open_slots.any(axis=1), dtype=bool)
    return np.isnan(grid.volume[:, 0]) & open_weekday[weekday_of(grid.days)]


def horizon_factors(grid: DayGrid, calendar: Calendar, days: DayArray) -> FloatArray:
    """Day factors for forecast days, knowing whether the days just before them were closed."""
    lead = grid.days[-7:]
    lead_closed = closed_days(grid, calendar)[-7:]
    keep = lead < days[0]
    all_days = np.concatenate([lead[keep], days])
    closed = np.concatenate([lead_closed[keep], np.zeros(len(days), dtype=bool)])
    return calendar.day_factors(all_days, closed)[int(keep.sum()):]
