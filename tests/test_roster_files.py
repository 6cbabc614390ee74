"""Roster files and the ``dispatchwise roster`` / ``roster check`` commands."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from api.formats.agents import write_agents
from api.formats.roster import read_availability, read_requirements, read_roster, write_roster
from api.formats.templates import write_templates
from dispatcher.domain import BreakRule, Interval, Roster, Shift, SkillBlock
from dispatcher.errors import InvalidInput
from tests.test_roster_rules import MONDAY, agent, at, template

AGENTS = [agent("a1", {"billing": 3, "tech": 2}), agent("a2", {"billing": 4})]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_roster_round_trips_with_breaks_and_skill_plan(tmp_path: Path) -> None:
    shifts = (
        Shift("a1", at(0, "09:00"), at(0, "17:00"), (Interval(at(0, "12:00"), at(0, "12:30")),),
              (SkillBlock(at(0, "09:00"), at(0, "11:00"), "billing"),
               SkillBlock(at(0, "11:00"), at(0, "17:00"), "tech"))),
        Shift("a2", at(1, "13:00"), at(1, "17:00"), (), (SkillBlock(at(1, "13:00"), at(1, "17:00"), "billing"),)),
    )
    path = tmp_path / "roster.csv"
    write_roster(path, Roster(MONDAY, shifts))
    back = read_roster(path, AGENTS)
    assert back.shifts == Roster(MONDAY, shifts).shifts
    assert back.week_start == MONDAY
    assert "billing@" in path.read_text() and ",billing\n" in path.read_text()


def test_pins_naming_an_unknown_agent_fail_on_their_row(tmp_path: Path) -> None:
    path = write(tmp_path, "pins.csv", "agent_id,date,start,end,breaks,skills\n"
                 "a1,2026-01-12,2026-01-12T09:00:00-05:00,2026-01-12T13:00:00-05:00,,billing\n"
                 "zz,2026-01-12,2026-01-12T09:00:00-05:00,2026-01-12T13:00:00-05:00,,billing\n")
    with pytest.raises(InvalidInput) as err:
        read_roster(path, AGENTS)
    assert err.value.row == 3 and err.value.field == "agent_id" and "zz" in str(err.value)


def test_roster_row_with_a_skill_the_agent_lacks_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "agent_id,date,start,end,breaks,skills\n"
                 "a2,2026-01-12,2026-01-12T09:00:00-05:00,2026-01-12T13:00:00-05:00,,tech\n")
    with pytest.raises(InvalidInput) as err:
        read_roster(path, AGENTS)
    assert err.value.row == 2 and "tech" in str(err.value)


def test_staffing_output_uses_agents_scheduled_and_falls_back_to_agents(tmp_path: Path) -> None:
    path = write(tmp_path, "req.csv",
                 "queue,period_start,volume,aht_s,agents,agents_scheduled,service_level,asa_s,occupancy,abandon_rate\n"
                 "billing,2026-01-12T09:00:00-05:00,10,300,3,4,0.8,10,0.7,0.01\n"
                 "billing,2026-01-12T09:15:00-05:00,10,300,3,,0.8,10,0.7,0.01\n")
    req = read_requirements(path)
    p = req.period_of(at(0, "09:00"))
    assert req.skills == ("billing",)
    assert req.required[0, p] == 4 and req.required[0, p + 1] == 3
    assert req.source_row[0, p] == 2


def test_requirements_off_the_15_minute_grid_name_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "req.csv", "skill,period_start,required\n"
                 "billing,2026-01-12T09:00:00-05:00,1\nbilling,2026-01-12T09:10:00-05:00,1\n")
    with pytest.raises(InvalidInput) as err:
        read_requirements(path)
    assert err.value.row == 3 and "15-minute" in str(err.value)


def test_overlapping_time_off_rows_are_rejected_naming_the_second_row(tmp_path: Path) -> None:
    path = write(tmp_path, "av.csv", "agent_id,date,available_from,available_to\n"
                 "a1,2026-01-12,off,\na2,2026-01-12,12:00,20:00\na1,2026-01-12,09:00,13:00\n")
    with pytest.raises(InvalidInput) as err:
        read_availability(path, AGENTS)
    assert err.value.row == 4 and "row 2" in err.value.message


def test_availability_reads_windows_and_days_off(tmp_path: Path) -> None:
    path = write(tmp_path, "av.csv", "agent_id,date,available_from,available_to\n"
                 "a1,2026-01-12,off,\na2,2026-01-13,12:00,24:00\n")
    av = read_availability(path, AGENTS)
    assert av["a1"][MONDAY] is None
    window = av["a2"][at(1, "00:00").date()]
    assert window is not None and window[0].total_seconds() == 12 * 3600 and window[1].total_seconds() == 86400


def _inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    agents = tmp_path / "agents.csv"
    write_agents(agents, AGENTS)
    templates = tmp_path / "templates.csv"
    write_templates(templates, [template("p4", "09:00", 4), template("f8", "09:00", 8, [BreakRule(30, 180, 240)])])
    req = tmp_path / "req.csv"
    with req.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["skill", "period_start", "required"])
        step = at(0, "09:15") - at(0, "09:00")
        for q in range(32):
            w.writerow(["billing", (at(0, "09:00") + q * step).isoformat(), 1])
    return agents, templates, req


def test_cli_plans_a_roster_that_check_accepts(tmp_path: Path) -> None:
    agents, templates, req = _inputs(tmp_path)
    out, cov = tmp_path / "roster.csv", tmp_path / "coverage.csv"
    result = CliRunner().invoke(app, ["roster", str(req), "--agents", str(agents), "--templates", str(templates),
                                      "--time-limit", "3", "--workers", "1", "--out", str(out),
                                      "--coverage", str(cov), "--timezone", "America/New_York", "--no-explain"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["start"].endswith("09:00:00-05:00")
    coverage = list(csv.DictReader(cov.open()))
    assert len(coverage) == 32
    assert sorted(r["gap"] for r in coverage) == ["-1"] * 2 + ["0"] * 30  # one 8-h shift, its 30-min meal short
    check = CliRunner().invoke(app, ["roster", "check", str(out), "--agents", str(agents), "--templates",
                                     str(templates), "--requirements", str(req), "--timezone", "America/New_York"])
    assert check.exit_code == 0, check.output
    assert "0 violation(s)" in check.output


def test_cli_check_reports_a_rest_violation_in_a_hand_made_roster(tmp_path: Path) -> None:
    agents, templates, _ = _inputs(tmp_path)
    roster = write(tmp_path, "hand.csv", "agent_id,date,start,end,breaks,skills\n"
                   "a2,2026-01-12,2026-01-12T09:00:00-05:00,2026-01-12T13:00:00-05:00,,billing\n"
                   "a2,2026-01-12,2026-01-12T09:00:00-05:00,2026-01-12T13:00:00-05:00,,billing\n"
                   "a1,2026-01-13,2026-01-13T10:00:00-05:00,2026-01-13T14:00:00-05:00,,billing\n")
    result = CliRunner().invoke(app, ["roster", "check", str(roster), "--agents", str(agents), "--templates",
                                      str(templates)])
    assert result.exit_code == 1
    assert "one_shift_per_day" in result.output and "[template]" in result.output


def test_cli_re_roster_keeps_pins_and_honours_absence_and_preferences(tmp_path: Path) -> None:
    agents, templates, req = _inputs(tmp_path)
    published = write(tmp_path, "published.csv", "agent_id,date,start,end,breaks,skills\n"
                      "a1,2026-01-12,2026-01-12T09:00:00-05:00,2026-01-12T17:00:00-05:00,"
                      "2026-01-12T12:00:00-05:00/2026-01-12T12:30:00-05:00,billing\n")
    absence = write(tmp_path, "availability.csv", "agent_id,date,available_from,available_to\na1,2026-01-12,off,\n")
    prefs = write(tmp_path, "preferences.csv", "agent_id,day,kind,value\na2,Mon,shift,p4\n")
    out = tmp_path / "roster.csv"
    result = CliRunner().invoke(app, ["roster", str(req), "--agents", str(agents), "--templates", str(templates),
                                      "--time-limit", "3", "--workers", "1", "--out", str(out),
                                      "--published", str(published), "--availability", str(absence),
                                      "--preferences", str(prefs), "--timezone", "America/New_York",
                                      "--no-explain"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert [r["agent_id"] for r in rows] == ["a2"]  # a1 is absent; a2 takes the day
    assert "changed shifts 1" in result.output.replace("\n", " ")
    pinned = CliRunner().invoke(app, ["roster", str(req), "--agents", str(agents), "--templates", str(templates),
                                      "--time-limit", "3", "--workers", "1", "--out", str(out),
                                      "--pin", str(published), "--timezone", "America/New_York", "--no-explain"])
    assert pinned.exit_code == 0, pinned.output
    rows = list(csv.DictReader(out.open()))
    assert any(r["agent_id"] == "a1" and r["start"] == "2026-01-12T09:00:00-05:00" for r in rows)


def test_agents_with_skills_no_requirement_asks_for_are_named_and_strict_makes_it_an_error(tmp_path: Path) -> None:
    agents, templates, req = _inputs(tmp_path)
    typo = replace(AGENTS[0], skills={**AGENTS[0].skills, "bilingg": 3})
    write_agents(agents, [typo, *AGENTS[1:]])
    args = ["roster", str(req), "--agents", str(agents), "--templates", str(templates), "--time-limit", "3",
            "--workers", "1", "--out", str(tmp_path / "roster.csv"), "--timezone", "America/New_York", "--no-explain"]
    warned = CliRunner().invoke(app, args)
    assert warned.exit_code == 0, warned.output
    assert "warning" in warned.output and "'bilingg'" in warned.output and typo.id in warned.output
    with pytest.raises(InvalidInput) as err:
        CliRunner().invoke(app, [*args, "--strict"], catch_exceptions=False)
    assert err.value.field == "skills" and "'bilingg'" in err.value.message
