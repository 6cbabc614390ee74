"""``dispatchwise scorecard`` and ``dispatchwise abtest`` on CSV files, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from dispatcher.errors import InvalidInput
from tests.test_scorecard import hand_built

runner = CliRunner()


@pytest.fixture()
def events_csv(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    hand_built().assign(policy=["base", "fast"] * 8 + ["base"]).to_csv(path, index=False)
    return path


def test_scorecard_prints_the_table_and_writes_every_part(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "cards.csv"
    result = runner.invoke(app, ["scorecard", str(events_csv), "--level", "agent", "--explain", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "a1" in result.output and "a2" in result.output and "composite" in result.output
    cards = pd.read_csv(out).set_index("agent")
    assert cards.loc["a1", "handled"] == 2 and cards.loc["a2", "asa_s"] == 2400
    points = cards.filter(like="points_").sum(axis=1)
    assert (points - cards["composite"]).abs().max() < 1e-9


def test_scorecard_weights_and_window_options(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.csv"
    result = runner.invoke(app, ["scorecard", str(events_csv), "--level", "queue", "--from", "2026-01-05T09:30:00Z",
                                 "--weights", "sla:1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cards = pd.read_csv(out)
    assert list(cards["queue"]) == ["billing"] and cards.loc[0, "tasks"] == 1  # only t5 created after 09:30


def test_scorecard_reads_a_simulator_export(tmp_path: Path) -> None:
    path = tmp_path / "sim.csv"
    pd.DataFrame({"task": [0, 1, 2], "queue": ["billing"] * 3, "quadrant": ["Q1", "Q2", "Q4"],
                  "arrival_s": [0, 10, 20], "start_s": [5, None, 30], "end_s": [100, None, 90],
                  "wait_s": [5, 60, 10], "abandoned": [False, True, False], "agent": ["a1", "", "a2"]}).to_csv(
        path, index=False)
    out = tmp_path / "cards.csv"
    result = runner.invoke(app, ["scorecard", str(path), "--level", "queue", "--out", str(out)])
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out).iloc[0]
    assert row["tasks"] == 3 and row["abandonment"] == pytest.approx(1 / 3) and row["aht_s"] == pytest.approx(77.5)


def test_bad_cell_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    frame = hand_built()
    frame.loc[6, "at"] = "2026-01-05 09:40"  # no timezone
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInput) as err:
        runner.invoke(app, ["scorecard", str(path)], catch_exceptions=False)
    assert (err.value.file, err.value.row, err.value.field) == (str(path), 8, "at")


def test_abtest_command_reports_each_kpi(events_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "ab.csv"
    result = runner.invoke(app, ["abtest", str(events_csv), "--policies", "base,fast", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "A = base" in result.output and "B = fast" in result.output
    report = pd.read_csv(out)
    assert {"sla", "asa_s", "fcr", "abandonment", "satisfaction"} <= set(report["kpi"])


def test_cli_error_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    hand_built().assign(event="finished").to_csv(path, index=False)
    result = subprocess.run([sys.executable, "-m", "api.cli.main", "scorecard", str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "row 2" in result.stderr and "'event'" in result.stderr and "Traceback" not in result.stderr


def test_targets_command_shows_achievement_and_overdue_actions(events_csv: Path, tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("id,kpi,level,scope,value,owner,deadline,start\n"
                       "billing-sl,sla,queue,billing,0.8,team lead B,2026-01-31,2026-01-05T00:00:00Z\n"
                       "a1-asa,asa_s,agent,a1,120,coach C,2026-01-31,2026-01-05T00:00:00Z\n")
    actions = tmp_path / "actions.csv"
    actions.write_text("plan_id,target_id,title,plan_owner,action_id,description,owner,due,done_at\n"
                       "p1,billing-sl,Lift SL,team lead B,coach,coach new hires,coach C,2026-01-04,\n"
                       "p1,billing-sl,Lift SL,team lead B,ivr,fix the IVR,it E,2026-01-04,2026-01-03T10:00:00Z\n")
    out = tmp_path / "status.csv"
    result = runner.invoke(app, ["targets", str(events_csv), "--targets", str(targets), "--actions", str(actions),
                                 "--now", "2026-01-06T00:00:00Z", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "overdue coach" in result.output and "ivr" not in result.output.split("overdue", 1)[1]
    status = pd.read_csv(out).set_index("target")
    # billing: t1 and t5 in time, t2 late -> 2/3; a1 answered after 120 s and 360 s -> ASA 240 s
    assert status.loc["billing-sl", "actual"] == pytest.approx(2 / 3)
    assert status.loc["billing-sl", "achievement_rate"] == pytest.approx((2 / 3) / 0.8)
    assert status.loc["a1-asa", "achievement_rate"] == pytest.approx(120 / 240)
    assert status.loc["billing-sl", "owner"] == "team lead B"


def test_bad_target_row_names_file_row_and_field(events_csv: Path, tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("id,kpi,level,scope,value,owner,deadline\n"
                       "ok,sla,queue,billing,0.8,B,2026-01-31\n"
                       "bad,sla,queue,billing,0.8,B,someday\n")
    with pytest.raises(InvalidInput) as err:
        runner.invoke(app, ["targets", str(events_csv), "--targets", str(targets)], catch_exceptions=False)
    assert (err.value.file, err.value.row, err.value.field) == (str(targets), 3, "deadline")


def test_team_scorecards_without_any_team_name_the_missing_option(tmp_path: Path) -> None:
    path = tmp_path / "no_teams.csv"
    hand_built().drop(columns=["team"]).to_csv(path, index=False)
    with pytest.raises(InvalidInput) as err:
        runner.invoke(app, ["scorecard", str(path), "--level", "team"], catch_exceptions=False)
    assert err.value.field == "--agents" and "--agents" in err.value.message
