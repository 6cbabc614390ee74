"""Roster solve as a whole: validator on random instances, partial rosters with the binding rule named,
re-rostering with pins and absences, and bad input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatcher.domain import BreakRule, Interval, Shift, ShiftTemplate
from dispatcher.roster.problem import RosterProblem
from dispatcher.roster.solve import solve_roster
from dispatcher.roster.validate import validate_roster
from tests.test_roster_rules import TZ, agent, at, day, problem, requirements, template

TEMPLATES = [template("early", "08:00", 6, [BreakRule(15, 90, 150, paid=True)]),
             template("late", "14:00", 8, [BreakRule(30, 180, 240)]), template("short", "10:00", 4)]


SKILL_SETS: tuple[dict[str, int], ...] = ({"billing": 3}, {"tech": 2}, {"billing": 2, "tech": 4})


@st.composite
def roster_instances(draw: st.DrawFn, templates: list[ShiftTemplate], *, last_start: int = 18, max_length: int = 4,
                     close: int = 22, min_need: int = 0, skill_sets: tuple[dict[str, int], ...] = SKILL_SETS,
                     weekly_hours: tuple[float, ...] = (8.0, 14.0, 40.0), max_days: int = 3) -> RosterProblem:
    """Small random rosters: 1-3 days, 1-2 skills with one requirement span a day each, 1-4 agents."""
    n_days = draw(st.integers(1, 3))
    skills = ["billing", "tech"][: draw(st.integers(1, 2))]
    spans = []
    for d in range(n_days):
        for skill in skills:
            start = draw(st.integers(8, last_start))
            length = draw(st.integers(1, max_length))
            spans.append((skill, d, f"{start:02d}:00", f"{min(start + length, close):02d}:00",
                          draw(st.integers(min_need, 3))))
    agents = []
    for i in range(draw(st.integers(1, 4))):
        own = draw(st.sampled_from(skill_sets))
        agents.append(agent(f"a{i}", own, max_hours_week=draw(st.sampled_from(weekly_hours)),
                            min_hours_week=0.0, max_days_week=draw(st.integers(1, max_days)),
                            min_rest_hours=draw(st.sampled_from([0.0, 11.0, 16.0])),
                            max_consecutive_days=draw(st.integers(1, 3))))
    return problem(requirements(spans, days=n_days), agents, templates)


def instances() -> st.SearchStrategy[RosterProblem]:
    return roster_instances(TEMPLATES)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_solver_roster_passes_the_independent_validator(p: object) -> None:
    result = solve_roster(p, time_limit_s=1.0, workers=1, seed=0, explain=False)  # type: ignore[arg-type]
    assert validate_roster(result.roster, p) == []  # type: ignore[arg-type]
    assert result.objective.total >= result.bound - 1e-6
    # the first complete roster is a roster too (the final one may score higher on the reported objective:
    # the local search also weighs days off in pairs and preferences), and it comes first
    assert result.first_objective >= result.bound - 1e-6 and 0.0 <= result.first_gap <= 1.0
    assert 0.0 < result.timings["first"] <= result.timings["total"]


def test_over_constrained_week_returns_a_partial_roster_and_names_the_binding_rule() -> None:
    req = requirements([("billing", d, "09:00", "17:00", 2) for d in range(3)], days=3)
    p = problem(req, [agent("a", max_hours_week=40, min_hours_week=0)], [template("f8", "09:00", 8)])
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=True)
    assert len(result.roster) == 3  # the one agent works every day
    assert sum(result.coverage.under_hours.values()) == 24.0
    binding = [e for e in result.explanations if "(binding)" in e.message]
    assert [e.rule for e in binding] == ["headcount"]


def test_max_days_binding_is_named_when_it_is_what_holds_coverage_back() -> None:
    req = requirements([("billing", d, "09:00", "13:00", 1) for d in range(3)], days=3)
    p = problem(req, [agent("a", max_days_week=2, min_hours_week=0)], [template("p4", "09:00", 4)])
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=True)
    binding = next(e for e in result.explanations if "(binding)" in e.message)
    assert binding.rule in ("max_days_week", "headcount")
    assert {e.rule for e in result.explanations} >= {"max_days_week"}


def test_contract_minimum_that_availability_cannot_meet_is_explained_not_infeasible() -> None:
    req = requirements([("billing", d, "09:00", "17:00", 1) for d in range(3)], days=3)
    off = {"a": {day(1): None, day(2): None}}
    p = problem(req, [agent("a", min_hours_week=24, max_hours_week=40)], [template("f8", "09:00", 8)],
                availability=off)
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert result.status == "partial"
    assert len(result.roster) == 1
    (why,) = [e for e in result.explanations if e.rule == "min_hours_week"]
    assert why.agent_id == "a" and "8 h" in why.message
    assert [v.rule for v in validate_roster(result.roster, p)] == ["min_hours_week"]


def test_agent_with_no_availability_is_named() -> None:
    req = requirements([("billing", 0, "09:00", "13:00", 1)])
    p = problem(req, [agent("a"), agent("b")], [template("p4", "09:00", 4)], availability={"a": {day(0): None}})
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert any(e.rule == "availability" and e.agent_id == "a" for e in result.explanations)
    assert [s.agent_id for s in result.roster.shifts] == ["b"]


def test_requirement_for_a_skill_nobody_has_names_its_row_and_still_rosters_the_rest() -> None:
    req = requirements([("billing", 0, "09:00", "13:00", 1), ("spanish", 0, "10:00", "11:00", 1)])
    p = problem(req, [agent("a")], [template("p4", "09:00", 4)])
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    (why,) = [e for e in result.explanations if e.rule == "skills"]
    first_spanish_row = int(req.source_row[req.skills.index("spanish")][req.required[1] > 0][0])
    assert why.skill == "spanish" and why.row == first_spanish_row
    assert len(result.roster) == 1 and result.coverage.under_hours["spanish"] == 1.0


def test_templates_that_cannot_cover_opening_hours_name_the_first_uncovered_row() -> None:
    req = requirements([("billing", 0, "09:00", "15:00", 1)])
    p = problem(req, [agent("a")], [template("p4", "09:00", 4)])
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    (why,) = [e for e in result.explanations if e.rule == "templates"]
    assert "13:00" in why.message and why.row is not None
    assert result.coverage.under_hours["billing"] == 2.0


def test_re_roster_keeps_pins_respects_absence_and_changes_little() -> None:
    req = requirements([("billing", d, "09:00", "17:00", 2) for d in range(3)], days=3)
    agents = [agent(x, min_hours_week=0, max_days_week=3) for x in ("a", "b", "c")]
    templates = [template("f8", "09:00", 8)]
    first = solve_roster(problem(req, agents, templates), time_limit_s=3.0, workers=1, seed=0, explain=False)
    worked = [s for s in first.roster.shifts if s.start.date() == day(0)]
    absent = next(s.agent_id for s in first.roster.shifts if s.start.date() == day(1))
    again = problem(req, agents, templates, pins=worked, published=first.roster,
                    availability={absent: {day(1): None}})
    second = solve_roster(again, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert validate_roster(second.roster, again) == []
    kept = {(s.agent_id, s.start) for s in second.roster.shifts}
    assert {(s.agent_id, s.start) for s in worked} <= kept
    assert all(not (s.agent_id == absent and s.start.date() == day(1)) for s in second.roster.shifts)
    assert second.changed_shifts == 1  # only the absent agent's shift moved
    assert sum(second.coverage.under_hours.values()) == sum(first.coverage.under_hours.values())


def test_pinned_shift_off_template_is_kept_and_counted() -> None:
    req = requirements([("billing", 0, "09:00", "13:00", 1)])
    pin = Shift("a", at(0, "09:00"), at(0, "13:00"), (Interval(at(0, "11:00"), at(0, "11:15")),))
    p = problem(req, [agent("a"), agent("b")], [template("p4", "09:00", 4)], pins=[pin])
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert pin in result.roster.shifts
    assert result.coverage.scheduled.sum() >= 15  # 16 periods less the 15-minute break
    assert all(s.start.astimezone(TZ).date() == day(0) for s in result.roster.shifts)
