"""Planning weeks: the one definition of "the week" that contract limits apply to.

The horizon (the requirement grid's days) is cut into planning weeks of 7 days starting on the
horizon's first day, or on ``week_start`` (0 = Monday .. 6 = Sunday) when given. A week the horizon
cuts short to n < 7 days holds n days of the contract's working days: its weekly minimum and maximum
hours are pro-rated by n / max days a week (capped at 1; minimum rounded down, maximum rounded up to
the quarter-hour), so a 3-day week of a 32-40 h, 5-day contract asks 19-24 h and a 6-day one the
full 32-40 h; max days is at most n. Consecutive days and rest count across week boundaries. Two
days off in a row are asked per planning week; a whole week wraps around (its last and first days are
consecutive, as in a rota that repeats weekly), so the rule does not depend on the week's first weekday.
The solver, the local search, the validator and the explanations all read these weeks.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dispatcher.domain import Contract
from dispatcher.errors import InvalidInput

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUARTERS_PER_HOUR = 4


@dataclass(frozen=True, slots=True)
class PlanningWeek:
    index: int
    start: date
    """The week's first calendar day (before the horizon when the first week is cut short)."""
    days: tuple[date, ...]
    """The horizon's days in this week."""

    @property
    def partial(self) -> bool:
        return len(self.days) < 7

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.start + timedelta(days=7)

    def label(self) -> str:
        first, last = self.days[0], self.days[-1]
        return f"{first.isoformat()}..{last.isoformat()}" + (f" ({len(self.days)} of 7 days)" if self.partial else "")


@dataclass(frozen=True, slots=True)
class WeekContract:
    """A contract's limits for one planning week (pro-rated when the week is partial)."""

    min_quarters: int
    max_quarters: int
    max_days: int


def parse_weekday(text: str) -> int:
    """``mon``..``sun`` (any case, full names too) → 0..6."""
    key = text.strip().lower()[:3]
    if key not in WEEKDAY_NAMES:
        raise InvalidInput(f"week start must be a weekday name (Mon..Sun), got {text!r}", field="--week-start")
    return WEEKDAY_NAMES.index(key)


def planning_weeks(days: Sequence[date], week_start: int | None = None) -> tuple[PlanningWeek, ...]:
    """Cut consecutive ``days`` into planning weeks starting on ``week_start`` (default: ``days[0]``'s weekday)."""
    if not days:
        return ()
    first = days[0]
    anchor = first if week_start is None else first - timedelta(days=(first.weekday() - week_start) % 7)
    weeks: list[PlanningWeek] = []
    for day in days:
        k = (day - anchor).days // 7
        if k >= len(weeks):
            weeks.append(PlanningWeek(k, anchor + timedelta(days=7 * k), ()))
        week = weeks[k]
        weeks[k] = PlanningWeek(week.index, week.start, (*week.days, day))
    return tuple(weeks)


def week_contract(contract: Contract, week: PlanningWeek) -> WeekContract:
    n = len(week.days)
    share = min(n / contract.max_days_week, 1.0) if contract.max_days_week else 1.0
    min_q = math.floor(contract.min_hours_week * QUARTERS_PER_HOUR * share + 1e-9)
    max_q = math.ceil(contract.max_hours_week * QUARTERS_PER_HOUR * share - 1e-9)
    return WeekContract(min_q, max_q, min(contract.max_days_week, n))


def week_of(weeks: Sequence[PlanningWeek], day: date) -> PlanningWeek | None:
    for week in weeks:
        if day in week:
            return week
    return None


def repeats_as_rota(days: Sequence[int]) -> bool:
    """Whether a planning week is whole (7 days): a weekly roster repeats, so its last day and its first
    day are consecutive (Saturday and Sunday off in a week from Sunday is a weekend off)."""
    return len(days) == 7


def pair_windows(days: Sequence[int]) -> list[tuple[int, int]]:
    """Pairs of consecutive days of one planning week (day numbers); a whole week wraps around, so the
    days-off rule reads the same whichever weekday the week starts on."""
    windows = [(d, d + 1) for d in days if d + 1 in days]
    if repeats_as_rota(days):
        windows.append((max(days), min(days)))
    return windows


def has_days_off_pair(days: Sequence[int], worked: Collection[int]) -> bool:
    """Whether two consecutive days of the week (``days``) are both off."""
    return any(d not in worked and e not in worked for d, e in pair_windows(days))


def pair_possible(n_days: int, min_quarters: int, longest_shift_quarters: int) -> bool:
    """Whether a week of ``n_days`` can leave two days off in a row and still meet the minimum."""
    if n_days < 2:
        return False
    needed = math.ceil(min_quarters / longest_shift_quarters) if longest_shift_quarters > 0 else 0
    return needed <= n_days - 2
