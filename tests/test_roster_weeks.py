"""Planning weeks: any horizon, weeks starting on any day, limits per planning week, partial weeks
pro-rated; the solver, the validator and ``roster check`` agree on them."""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli.main import app
from api.formats.agents import write_agents
from api.formats.templates import write_templates
from dispatcher.domain import Contract, Roster, Shift
from dispatcher.errors import InvalidInput
from dispatcher.roster.problem import RosterProblem, Weights
from dispatcher.roster.solve import solve_roster
from dispatcher.roster.validate import validate_roster
from dispatcher.roster.weeks import has_days_off_pair, pair_windows, parse_weekday, planning_weeks, week_contract
from tests.test_roster_rules import MONDAY, agent, at, day, problem, requirements, template

SUNDAY = MONDAY - timedelta(days=1)


@given(st.integers(0, 3000), st.integers(1, 40), st.one_of(st.none(), st.integers(0, 6)))
def test_planning_weeks_cut_the_horizon_into_runs_of_at_most_seven_days(first: int, n: int,
                                                                         start: int | None) -> None:
    days = [date(2026, 1, 1) + timedelta(days=first + i) for i in range(n)]
    weeks = planning_weeks(days, start)
    assert [d for w in weeks for d in w.days] == days
    for w in weeks:
        assert all(d in w for d in w.days) and 1 <= len(w.days) <= 7
        assert start is None or w.start.weekday() == start
    assert all(len(w.days) == 7 for w in weeks[1:-1])
    if start is None:
        assert weeks[0].start == days[0]


def test_partial_week_pro_rates_hours_by_the_contract_days_it_can_hold() -> None:
    contract = Contract(max_hours_week=40, min_hours_week=32, max_days_week=5)
    three, six, full = (planning_weeks([MONDAY + timedelta(days=i) for i in range(n)])[0] for n in (3, 6, 7))
    assert week_contract(contract, three) == (week_contract(contract, three).__class__(76, 96, 3))
    assert week_contract(contract, six).min_quarters == 128 and week_contract(contract, six).max_quarters == 160
    assert week_contract(contract, full).max_days == 5


def test_weekday_names_parse_and_nonsense_is_rejected_naming_the_option() -> None:
    assert [parse_weekday(x) for x in ("Mon", "sunday", "SAT")] == [0, 6, 5]
    with pytest.raises(InvalidInput) as err:
        parse_weekday("someday")
    assert err.value.field == "--week-start"


def _weekly_minimum_problem(first: date) -> RosterProblem:
    """Seven days from ``first``; demand 09-17 every day but the first (closed); three agents who must
    each work 16-40 h on at most 5 days."""
    offset = (first - MONDAY).days
    spans = [("billing", offset + d, "09:00", "17:00", 1) for d in range(1, 7)]
    req = requirements([*spans, ("billing", offset, "09:00", "09:15", 0)], days=offset + 7)
    agents = [agent(x, min_hours_week=16, max_hours_week=40, max_days_week=5) for x in ("a", "b", "c")]
    return problem(req, agents, [template("f8", "09:00", 8)])


@pytest.mark.parametrize("first", [SUNDAY + timedelta(days=7), MONDAY + timedelta(days=5)], ids=["sunday", "saturday"])
def test_week_starting_on_sunday_or_saturday_meets_weekly_minimums_without_violations(first: date) -> None:
    p = _weekly_minimum_problem(first)
    assert p.requirements.days[0] == first and len(p.weeks) == 1
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert validate_roster(result.roster, p) == []
    paid = {a: sum((s.end - s.start).total_seconds() / 3600 for s in result.roster.shifts if s.agent_id == a)
            for a in ("a", "b", "c")}
    assert all(h >= 16 for h in paid.values())
    assert result.status != "partial"


def test_two_week_horizon_holds_the_limits_in_each_planning_week() -> None:
    req = requirements([("billing", d, "09:00", "13:00", 1) for d in range(14)], days=14)
    p = problem(req, [agent("a", max_days_week=3, max_hours_week=40, min_hours_week=8)], [template("p4", "09:00", 4)])
    assert [len(w.days) for w in p.weeks] == [7, 7]
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert validate_roster(result.roster, p) == []
    per_week = [sum(1 for s in result.roster.shifts if s.start.date() in w.days) for w in p.weeks]
    assert per_week == [3, 3]  # three days in each week, not three over the horizon


def test_validator_counts_days_per_planning_week_not_per_calendar_week() -> None:
    # Thu..Wed horizon, weeks from Thursday: Thu-Sun plus Mon-Wed is one planning week of 7 days
    req = requirements([("billing", d, "09:00", "13:00", 1) for d in range(3, 10)], days=10)
    p = problem(req, [agent("a", max_days_week=4, max_consecutive_days=6)], [template("p4", "09:00", 4)])
    assert [len(w.days) for w in p.weeks] == [7]
    six = Roster(day(3), tuple(Shift("a", at(d, "09:00"), at(d, "13:00")) for d in (3, 4, 5, 7, 8)))
    rules = [v.rule for v in validate_roster(six, p)]
    assert rules == ["max_days_week"]  # 5 days in the one planning week; Monday-based weeks would say 3 + 2
    assert "2026-01-15..2026-01-21" in str(validate_roster(six, p)[0])


def test_partial_week_is_pro_rated_in_the_solver_and_the_validator() -> None:
    # 10 days from Monday: a full week, then 3 days. 20 h / 5 days contract → 12 h in the 3-day week.
    req = requirements([("billing", d, "09:00", "13:00", 2) for d in range(10)], days=10)
    p = problem(req, [agent("a", max_hours_week=20, min_hours_week=20, max_days_week=5)],
                [template("p4", "09:00", 4)])
    assert [len(w.days) for w in p.weeks] == [7, 3]
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert validate_roster(result.roster, p) == []
    per_week = [sum(4 for s in result.roster.shifts if s.start.date() in w.days) for w in p.weeks]
    assert per_week == [20, 12]
    four = Roster(day(0), tuple(Shift("a", at(d, "09:00"), at(d, "13:00")) for d in (0, 1, 2, 3, 4, 7, 8, 9, 7)))
    two = Roster(day(0), tuple(Shift("a", at(d, "09:00"), at(d, "13:00")) for d in (0, 1, 2, 3, 4, 7, 8)))
    assert "max_hours_week" not in [v.rule for v in validate_roster(two, p)]
    assert [v.rule for v in validate_roster(two, p)] == ["min_hours_week"]  # 8 h of the 12 h asked
    assert "max_hours_week" in [v.rule for v in validate_roster(four, p)]


def test_pins_from_another_week_are_an_error_naming_the_dates() -> None:
    req = requirements([("billing", d, "09:00", "13:00", 1) for d in range(7)], days=7)
    stale = Shift("a", at(-7, "09:00"), at(-7, "13:00"))
    with pytest.raises(InvalidInput) as err:
        problem(req, [agent("a")], [template("p4", "09:00", 4)], pins=[stale])
    assert "2026-01-05" in err.value.message and "2026-01-12..2026-01-18" in err.value.message
    with pytest.raises(InvalidInput) as err:
        problem(req, [agent("a")], [template("p4", "09:00", 4)], published=Roster(day(-7), (stale,)))
    assert err.value.field == "published"


def _files(tmp_path: Path, first: date) -> tuple[Path, Path, Path]:
    agents, templates, req = tmp_path / "agents.csv", tmp_path / "templates.csv", tmp_path / "req.csv"
    write_agents(agents, [agent(x, min_hours_week=16, max_hours_week=40, max_days_week=5) for x in ("a", "b", "c")])
    write_templates(templates, [template("f8", "09:00", 8)])
    with req.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["skill", "period_start", "required"])
        start = at((first - MONDAY).days, "00:00")
        for q in range(7 * 96):
            moment = start + q * timedelta(minutes=15)
            open_ = moment.date() != first and 9 <= moment.astimezone(start.tzinfo).hour < 17
            w.writerow(["billing", moment.isoformat(), 1 if open_ else 0])
    return agents, templates, req


@pytest.mark.parametrize("first", [SUNDAY + timedelta(days=7), MONDAY + timedelta(days=5)], ids=["sunday", "saturday"])
def test_cli_plans_a_week_from_sunday_or_saturday_with_exit_0_and_check_agrees(tmp_path: Path, first: date) -> None:
    agents, templates, req = _files(tmp_path, first)
    out = tmp_path / "roster.csv"
    common = ["--agents", str(agents), "--templates", str(templates), "--timezone", "America/New_York"]
    planned = CliRunner().invoke(app, ["roster", str(req), *common, "--time-limit", "3", "--workers", "1",
                                       "--out", str(out), "--no-explain"])
    assert planned.exit_code == 0, planned.output
    assert "violation" not in planned.output
    assert re.search(r"first roster: \d+\.\d s, gap \d+\.\d\d%", " ".join(planned.output.split())), planned.output
    checked = CliRunner().invoke(app, ["roster", "check", str(out), *common])
    assert checked.exit_code == 0, checked.output
    with_req = CliRunner().invoke(app, ["roster", "check", str(out), *common, "--requirements", str(req)])
    assert with_req.exit_code == 0 and "0 violation(s)" in with_req.output, with_req.output


def test_cli_week_start_makes_a_horizon_of_two_partial_weeks(tmp_path: Path) -> None:
    agents, templates, req = _files(tmp_path, MONDAY + timedelta(days=2))  # Wednesday .. Tuesday
    out = tmp_path / "roster.csv"
    common = ["--agents", str(agents), "--templates", str(templates), "--timezone", "America/New_York"]
    planned = CliRunner().invoke(app, ["roster", str(req), *common, "--time-limit", "3", "--workers", "1",
                                       "--out", str(out), "--no-explain", "--week-start", "Mon"])
    assert planned.exit_code == 0, planned.output
    text = " ".join(planned.output.split())
    assert "2026-01-14..2026-01-18 (5 of 7 days)" in text and "2026-01-19..2026-01-20 (2 of 7 days)" in text
    checked = CliRunner().invoke(app, ["roster", "check", str(out), *common, "--requirements", str(req),
                                       "--week-start", "Mon"])
    assert checked.exit_code == 0, checked.output
    bad = CliRunner().invoke(app, ["roster", str(req), *common, "--week-start", "Someday"])
    assert isinstance(bad.exception, InvalidInput) and "week start" in str(bad.exception)


def test_two_days_off_in_a_row_in_every_planning_week_that_allows_them() -> None:
    # Demand every day of two weeks; the agent works exactly 5 days a week (20 h of 4-h shifts), so any
    # 5 days cover equally and only the days-off rule picks which.
    req = requirements([("billing", d, "09:00", "13:00", 1) for d in range(14)], days=14)
    p = problem(req, [agent("a", min_hours_week=20, max_hours_week=20, max_days_week=5, max_consecutive_days=5)],
                [template("p4", "09:00", 4)], weights=Weights(days_off_pair=20.0))
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert validate_roster(result.roster, p) == []
    first = p.requirements.days[0]
    worked = {(s.start.date() - first).days for s in result.roster.shifts}
    for week in p.weeks:
        days = tuple((d - first).days for d in week.days)
        assert sum(d in worked for d in days) == 5
        assert has_days_off_pair(days, worked), f"no pair in {week.label()}: {sorted(worked)}"
    assert result.fairness.days_off_pair_share == 1.0 and result.fairness.no_two_days_off == 0


@given(st.sets(st.integers(0, 6)), st.integers(1, 6), st.integers(0, 20))
def test_two_days_off_in_a_row_read_the_same_whichever_day_a_whole_week_starts_on(
        offsets: set[int], turn: int, first: int) -> None:
    week = tuple(range(first, first + 7))
    worked = {first + d for d in offsets}
    turned = {first + (d + turn) % 7 for d in offsets}
    assert has_days_off_pair(week, worked) == has_days_off_pair(week, turned)
    assert (week[-1], week[0]) in pair_windows(week)
    assert (week[-1], week[0]) not in pair_windows(week[:-1])  # a partial week does not wrap


@pytest.mark.parametrize("first", [SUNDAY + timedelta(days=7), MONDAY, MONDAY + timedelta(days=5)],
                         ids=["sunday", "monday", "saturday"])
def test_a_weekend_off_is_two_days_off_in_a_row_whichever_day_the_week_starts(first: date) -> None:
    # Open Monday to Friday only; a 40-h, 5-day agent works the five weekdays, so in a week from Sunday
    # its days off are the week's first and last: the same weekend as in a week from Monday.
    offset = (first - MONDAY).days
    weekdays = [d for d in range(offset, offset + 7) if (MONDAY + timedelta(days=d)).weekday() < 5]
    req = requirements([*(("billing", d, "09:00", "17:00", 1) for d in weekdays),
                        ("billing", offset, "09:00", "09:15", 0)], days=offset + 7)
    p = problem(req, [agent("a", min_hours_week=40, max_hours_week=40, max_days_week=5)],
                [template("f8", "09:00", 8)])
    assert p.requirements.days[0] == first and len(p.weeks) == 1
    result = solve_roster(p, time_limit_s=3.0, workers=1, seed=0, explain=False)
    assert validate_roster(result.roster, p) == []
    assert sorted((s.start.date() - MONDAY).days for s in result.roster.shifts) == weekdays
    assert result.fairness.days_off_pair_share == 1.0 and result.fairness.no_two_days_off == 0


def test_cli_rejects_a_negative_days_off_pair_weight_naming_it(tmp_path: Path) -> None:
    agents, templates, req = _files(tmp_path, MONDAY)
    bad = CliRunner().invoke(app, ["roster", str(req), "--agents", str(agents), "--templates", str(templates),
                                   "--days-off-pair-weight", "-1"])
    assert isinstance(bad.exception, InvalidInput) and bad.exception.field == "days_off_pair"
