"""Contracts: one shift a day, weekly paid hours within min/max, max days, max consecutive days.

Each limit is checked by one function here (``hours_outside``, ``days_over``, ``long_runs``); the
count LP and the assignment model add the same limits as constraints, the local search
(``improve.py``) and the validator (``validate.py``) call the checks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from dispatcher.roster.assign import AssignModel
from dispatcher.roster.counts import CountModel, Term

MIN_HOURS_SHORTFALL_POINTS = 50.0
"""Per quarter-hour below a contract minimum, only when no roster can meet the minimum."""


def hours_outside(paid_quarters: float, min_quarters: float, max_quarters: float) -> tuple[float, float]:
    """(quarters below the minimum, quarters above the maximum); both 0 inside the contract."""
    return max(min_quarters - paid_quarters, 0.0), max(paid_quarters - max_quarters, 0.0)


def days_over(days_worked: int, max_days: int) -> int:
    return max(days_worked - max_days, 0)


def consecutive_windows(first: int, last: int, max_consecutive: int) -> list[range]:
    """Every run of ``max_consecutive + 1`` days within days ``first..last``: at most
    ``max_consecutive`` of each may be worked."""
    window = max_consecutive + 1
    return [range(start, start + window) for start in range(first, last - window + 2)]


def long_runs(worked: Collection[int], max_consecutive: int) -> list[range]:
    """Windows of ``max_consecutive + 1`` days all worked (day numbers, e.g. ordinals or indices)."""
    if not worked:
        return []
    return [w for w in consecutive_windows(min(worked), max(worked), max_consecutive) if all(d in worked for d in w)]


def counts(model: CountModel) -> None:
    cand = {c.index: c for c in model.candidates}
    n_days = len(model.problem.requirements.days)
    for g in model.groups:
        lim = g.limits
        by_day: dict[int, list[Term]] = defaultdict(list)
        hours: dict[int, list[Term]] = defaultdict(list)
        for ci in g.allowed:
            var = model.n[g.index, ci]
            by_day[cand[ci].day_index].append((var, 1.0))
            hours[cand[ci].week].append((var, float(cand[ci].paid_quarters)))
        for terms in by_day.values():
            model.add_row(terms, 0.0, float(g.size))
        for k, week in enumerate(lim.weeks):
            model.add_row(hours.get(k, []), float(g.size * week.min_quarters), float(g.size * week.max_quarters))
            days = [t for d in week.days for t in by_day.get(d, [])]
            model.add_row(days, 0.0, float(g.size * week.max_days))
        for span in consecutive_windows(0, n_days - 1, lim.max_consecutive):
            pinned = sum(1 for d in span if d in lim.pinned_days)
            terms = [t for d in span for t in by_day.get(d, [])]
            if terms:
                model.add_row(terms, 0.0, float(g.size * (lim.max_consecutive - pinned)))


def assign(am: AssignModel) -> None:
    lim = am.group.limits
    m = am.model
    for i in range(am.group.size):
        for d in range(am.n_days):
            day = am.shifts_of(i, d)
            if len(day) > 1:
                m.add_at_most_one(day)
        for k, week in enumerate(lim.weeks):
            mine = [c for c in am.candidates if c.week == k]
            paid = sum(c.paid_quarters * am.y[i, c.index] for c in mine)
            m.add(paid <= week.max_quarters)
            if am.soft_minimum:
                short = m.new_int_var(0, week.min_quarters, f"short_{i}_{k}")
                m.add(paid + short >= week.min_quarters)
                am.penalise(short, MIN_HOURS_SHORTFALL_POINTS)
            else:
                m.add(paid >= week.min_quarters)
            m.add(sum(am.y[i, c.index] for c in mine) <= week.max_days)
        for span in consecutive_windows(0, am.n_days - 1, lim.max_consecutive):
            m.add(sum(am.works(i, d) for d in span) <= lim.max_consecutive)
