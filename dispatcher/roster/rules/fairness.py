"""Fairness within a group of like agents: weekend and late shifts spread evenly, hours balanced
against the contract, and two consecutive days off in every planning week (of two days or more)
preferred; ``weeks.has_days_off_pair`` is the one check the local search and the reports use."""

from __future__ import annotations

from collections.abc import Sequence

from ortools.sat.python import cp_model

from dispatcher.roster.assign import AssignModel
from dispatcher.roster.weeks import pair_possible, pair_windows


def _spread(am: AssignModel, values: Sequence[cp_model.LinearExprT], upper: int, name: str) -> cp_model.IntVar:
    hi = am.model.new_int_var(0, upper, f"{name}_max")
    lo = am.model.new_int_var(0, upper, f"{name}_min")
    for v in values:
        am.model.add(v <= hi)
        am.model.add(v >= lo)
    spread = am.model.new_int_var(0, upper, f"{name}_spread")
    am.model.add(spread == hi - lo)
    return spread


def assign(am: AssignModel) -> None:
    w = am.problem.weights
    size = am.group.size
    if size > 1 and w.fairness > 0:
        weekend = [sum(am.y[i, c.index] for c in am.candidates if c.weekend) for i in range(size)]
        late = [sum(am.y[i, c.index] for c in am.candidates if c.late) for i in range(size)]
        hours = [sum(c.paid_quarters * am.y[i, c.index] for c in am.candidates) for i in range(size)]
        if any(c.weekend for c in am.candidates):
            am.penalise(_spread(am, weekend, am.n_days, "weekend"), w.fairness)
        if any(c.late for c in am.candidates):
            am.penalise(_spread(am, late, am.n_days, "late"), w.fairness)
        top = max(am.group.limits.max_quarters, 0)
        am.penalise(_spread(am, hours, top, "hours"), w.fairness / 16)  # per 4 hours of spread
    if w.days_off_pair > 0:
        longest = max((c.paid_quarters for c in am.candidates), default=0)
        for week in am.group.limits.weeks:
            pairs_of_days = pair_windows(week.days)
            if not pairs_of_days or not pair_possible(len(week.days), week.min_quarters, longest):
                continue
            for i in range(size):
                pairs = []
                for d, e in pairs_of_days:
                    both_off = am.model.new_bool_var(f"off2_{i}_{d}")
                    am.model.add(am.works(i, d) + am.works(i, e) == 0).only_enforce_if(both_off)
                    pairs.append(both_off)
                has_pair = am.model.new_bool_var(f"pair_{i}_{week.days[0]}")
                am.model.add_bool_or(pairs).only_enforce_if(has_pair)
                am.penalise(1 - has_pair, w.days_off_pair)

