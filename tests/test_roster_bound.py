"""The reported bound is a bound: on small instances the named MIP (``named_mip.py``, HiGHS) solved to
optimality gives the exact optimum of the reported objective, and the count LP's bound never exceeds it."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatcher.domain import BreakRule
from dispatcher.roster import counts as count_model
from dispatcher.roster.explain import precheck
from dispatcher.roster.grid import build_candidates, build_groups
from dispatcher.roster.named_mip import solve_counts, solve_named
from dispatcher.roster.problem import RosterProblem
from dispatcher.roster.rules import COUNT_RULES
from dispatcher.roster.solve import solve_roster
from dispatcher.roster.validate import validate_roster
from tests.test_roster_rules import agent, problem, requirements, template
from tests.test_roster_solve import SKILL_SETS, roster_instances

TEMPLATES = [template("early", "08:00", 6, [BreakRule(15, 60, 180, paid=True)]),
             template("late", "13:00", 6, [BreakRule(30, 120, 210)]), template("short", "10:00", 4)]


def instances() -> st.SearchStrategy[RosterProblem]:
    return roster_instances(TEMPLATES, last_start=16, max_length=5, close=19, min_need=1,
                            skill_sets=(*SKILL_SETS, {"tech": 3, "billing": 1}), weekly_hours=(10.0, 20.0, 40.0),
                            max_days=5)


def _count_lp_bound(p: RosterProblem) -> float:
    candidates = build_candidates(p)
    groups = build_groups(p, candidates, precheck(p, candidates).lowered_minimum)
    model = count_model.build(p, candidates, groups, COUNT_RULES, p.requirements.required)
    assert model.solver.Solve() == model.solver.OPTIMAL
    return float(model.solver.Objective().Value()) + model.constant


def _exact_optimum(p: RosterProblem) -> float:
    candidates = build_candidates(p)
    groups = build_groups(p, candidates, precheck(p, candidates).lowered_minimum)
    outcome = solve_named(p, candidates, groups, p.requirements.required, time_limit_s=60.0)
    assert outcome.optimal and outcome.placed is not None
    assert abs(outcome.bound - outcome.objective) <= 1e-6 * max(1.0, abs(outcome.objective))
    return outcome.objective


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_count_lp_bound_never_exceeds_the_exact_optimum_and_no_roster_beats_it(p: RosterProblem) -> None:
    optimum = _exact_optimum(p)
    assert _count_lp_bound(p) <= optimum + 1e-6
    result = solve_roster(p, time_limit_s=1.0, workers=1, seed=0, explain=False)
    assert validate_roster(result.roster, p) == []
    assert result.bound <= optimum + 1e-6
    assert result.objective.total >= optimum - 1e-6


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_integer_count_relaxation_lies_between_the_count_lp_and_the_exact_optimum(p: RosterProblem) -> None:
    optimum = _exact_optimum(p)
    candidates = build_candidates(p)
    groups = build_groups(p, candidates, precheck(p, candidates).lowered_minimum)
    relaxed = solve_counts(p, candidates, groups, p.requirements.required, time_limit_s=30.0)
    assert relaxed.optimal
    assert _count_lp_bound(p) - 1e-6 <= relaxed.bound <= optimum + 1e-6
    assert relaxed.objective <= optimum + 1e-6


def test_named_mip_finds_the_optimum_the_decomposition_can_miss_and_its_roster_is_valid() -> None:
    # Two agents, one skill each, breaks that must be staggered per skill: the MIP's roster keeps every rule
    # and is at least as good as the decomposition's.
    meal = BreakRule(30, 120, 180)
    req = requirements([("billing", 0, "08:00", "14:00", 1), ("tech", 0, "08:00", "14:00", 1)])
    p = problem(req, [agent("b", {"billing": 3}), agent("t", {"tech": 3})], [template("d6", "08:00", 6, [meal])])
    decomposition = solve_roster(p, time_limit_s=2.0, workers=1, seed=0, explain=False)
    with_mip = solve_roster(p, time_limit_s=4.0, workers=1, seed=0, explain=False, method="mip")
    assert validate_roster(with_mip.roster, p) == []
    assert with_mip.objective.total <= decomposition.objective.total + 1e-9
    assert with_mip.bound >= decomposition.bound - 1e-9
    assert with_mip.bound <= with_mip.objective.total + 1e-9
    assert np.isclose(with_mip.bound, _exact_optimum(p))
