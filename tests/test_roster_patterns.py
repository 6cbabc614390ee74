"""The pattern model: pricing finds the cheapest pattern that keeps every contract rule (checked against
enumerating all patterns), and the ``patterns`` method's rosters pass the validator with a valid bound.
Exact break placement on fixed shifts keeps every shift and never costs more than the placement it
starts from."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatcher.domain import BreakRule
from dispatcher.roster import solve as solve_module
from dispatcher.roster.explain import precheck
from dispatcher.roster.grid import Candidate, Group, build_candidates, build_groups
from dispatcher.roster.improve import Placed
from dispatcher.roster.named_mip import solve_breaks
from dispatcher.roster.pricing import PatternPricer
from dispatcher.roster.problem import RosterProblem
from dispatcher.roster.rules.contract import hours_outside, long_runs
from dispatcher.roster.rules.rest import conflicts
from dispatcher.roster.solve import solve_roster
from dispatcher.roster.validate import validate_roster
from dispatcher.roster.weeks import has_days_off_pair, pair_possible
from tests.test_roster_bound import _exact_optimum, instances
from tests.test_roster_rules import agent, problem, requirements, template

TEMPLATES = [template("early", "07:00", 8, [BreakRule(30, 120, 240)]), template("mid", "12:00", 6),
             template("late", "15:00", 8), template("short", "09:00", 4)]


@st.composite
def pricing_cases(draw: st.DrawFn) -> tuple[RosterProblem, dict[int, float], float]:
    n_days = draw(st.integers(1, 9))
    req = requirements([("billing", d, "00:00", "23:45", 1) for d in range(n_days)], days=n_days)
    others = draw(st.lists(st.sampled_from(TEMPLATES[:2] + TEMPLATES[3:]), max_size=2, unique_by=lambda t: t.name))
    templates = [TEMPLATES[2], *others]  # the late shift clashes with the next early one by rest
    max_hours = draw(st.sampled_from([12.0, 20.0, 40.0]))
    a = agent("a", max_hours_week=max_hours, min_hours_week=draw(st.sampled_from([0.0, 8.0, 12.0])),
              max_days_week=draw(st.integers(1, 6)),
              min_rest_hours=draw(st.sampled_from([0.0, 11.0, 14.0])), max_consecutive_days=draw(st.integers(1, 4)))
    p = problem(req, [a], templates)
    week_start = draw(st.none() | st.integers(0, 6))
    p = RosterProblem(p.requirements, p.agents, p.templates, timezone=p.timezone, week_start=week_start)
    candidates = build_candidates(p)
    prices = {c.index: draw(st.floats(-5, 1, allow_nan=False)) for c in candidates}  # mostly worth working
    return p, prices, draw(st.sampled_from([0.0, 0.5, 3.0]))


def _feasible(pattern: Sequence[Candidate], group: Group) -> bool:
    lim = group.limits
    if len({c.day_index for c in pattern}) < len(pattern):
        return False
    for k, week in enumerate(lim.weeks):
        mine = [c for c in pattern if c.week == k]
        if any(hours_outside(sum(c.paid_quarters for c in mine), week.min_quarters, week.max_quarters)):
            return False
        if len(mine) > week.max_days:
            return False
    if long_runs({c.day_index for c in pattern} | set(lim.pinned_days), lim.max_consecutive):
        return False
    rest_s = lim.min_rest.total_seconds()
    return not any(conflicts(a, b, rest_s) for a, b in itertools.combinations(pattern, 2))


def _unpaired(pattern: Sequence[Candidate], group: Group, longest: int) -> int:
    worked = {c.day_index for c in pattern} | set(group.limits.pinned_days)
    return sum(1 for w in group.limits.weeks
               if pair_possible(len(w.days), w.min_quarters, longest) and not has_days_off_pair(w.days, worked))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pricing_cases())
def test_pricing_finds_the_cheapest_pattern_that_keeps_every_contract_rule(
        case: tuple[RosterProblem, dict[int, float], float]) -> None:
    p, prices, pair_weight = case
    candidates = build_candidates(p)
    (group,) = build_groups(p, candidates)
    allowed = [candidates[ci] for ci in group.allowed]
    longest = max((c.paid_quarters for c in allowed), default=0)
    by_day: dict[int, list[Candidate | None]] = {d: [None] for d in range(len(p.requirements.days))}
    for c in allowed:
        by_day[c.day_index].append(c)
    best = math.inf
    for choice in itertools.product(*by_day.values()):
        pattern = [c for c in choice if c is not None]
        if _feasible(pattern, group):
            best = min(best, sum(prices[c.index] for c in pattern)
                       + pair_weight * _unpaired(pattern, group, longest) * (pair_weight > 0))
    priced = PatternPricer(group, candidates, len(p.requirements.days), pair_weight=pair_weight).price(prices)
    if math.isinf(best):
        assert priced is None
        return
    assert priced is not None
    chosen = [candidates[ci] for ci in priced.candidates]
    assert _feasible(chosen, group)
    assert math.isclose(priced.price, best, abs_tol=1e-9)
    own = sum(prices[c.index] for c in chosen) + pair_weight * _unpaired(chosen, group, longest)
    assert math.isclose(own, priced.price, abs_tol=1e-9)
    assert priced.unpaired_weeks == (_unpaired(chosen, group, longest) if pair_weight > 0 else 0)


@pytest.mark.parametrize("offset", [0, 6, 2], ids=["monday", "sunday", "wednesday"])
def test_pricing_counts_a_whole_weeks_first_and_last_days_off_as_a_pair(offset: int) -> None:
    # Working the five middle days is cheapest; its two days off are the week's last and first, which in a
    # whole week (it wraps around) are two days off in a row: no penalty, whatever day the week starts on.
    req = requirements([*(("billing", d, "00:00", "23:45", 1) for d in range(offset, offset + 7))],
                       days=offset + 7)
    p = problem(req, [agent("a", max_hours_week=40, min_hours_week=0, max_days_week=5, max_consecutive_days=6)],
                [TEMPLATES[3]])
    assert len(p.weeks) == 1 and len(p.requirements.days) == 7
    candidates = build_candidates(p)
    (group,) = build_groups(p, candidates)
    prices = {c.index: 1.0 if c.day_index in (0, 6) else -5.0 for c in candidates}
    priced = PatternPricer(group, candidates, 7, pair_weight=3.0).price(prices)
    assert priced is not None
    assert sorted(candidates[ci].day_index for ci in priced.candidates) == [1, 2, 3, 4, 5]
    assert priced.unpaired_weeks == 0 and math.isclose(priced.price, -25.0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_pattern_method_rosters_pass_the_validator_and_its_bound_never_exceeds_the_optimum(p: RosterProblem) -> None:
    optimum = _exact_optimum(p)
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False, method="patterns")
    assert validate_roster(result.roster, p) == []
    assert result.bound <= optimum + 1e-6
    assert result.objective.total >= optimum - 1e-6


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_exact_break_placement_keeps_every_shift_and_never_costs_more(p: RosterProblem) -> None:
    result = solve_roster(p, time_limit_s=1.0, workers=1, seed=0, explain=False, exact_breaks=False)
    candidates = build_candidates(p)
    groups = build_groups(p, candidates, precheck(p, candidates).lowered_minimum)
    group_of = {a.id: g.index for g in groups for a in g.agents}
    by_span = {(c.start, c.end): c for c in candidates}
    placed = []
    for shift in result.roster.shifts:
        c = by_span[shift.start, shift.end]
        offsets = [int((b.start - c.start) / timedelta(minutes=15)) for b in shift.breaks]
        placed.append(Placed(shift.agent_id, group_of[shift.agent_id], c, offsets))
    solve_module._allocate_skills(placed, groups, p.requirements.required, p)
    before = solve_module._cost(placed, p, p.weeks[0].start)
    exact = solve_breaks(p, candidates, groups, p.requirements.required, placed, time_limit_s=30.0)
    assert exact.placed is not None and exact.optimal
    assert sorted((pl.agent_id, pl.candidate.index) for pl in exact.placed) == \
        sorted((pl.agent_id, pl.candidate.index) for pl in placed)
    for pl in exact.placed:
        assert all(o in pl.candidate.breaks[b].offsets for b, o in enumerate(pl.break_offsets))
    solve_module._allocate_skills(exact.placed, groups, p.requirements.required, p)
    after = solve_module._cost(exact.placed, p, p.weeks[0].start)
    assert after <= before + 1e-6
    assert math.isclose(after, exact.objective, abs_tol=1e-6)
