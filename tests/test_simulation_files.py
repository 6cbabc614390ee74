"""``dispatchwise simulate`` on the generator's data, and the files it reads: errors name file, key, value."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from api.formats.agents import write_agents
from api.formats.roster import write_roster
from api.formats.simulation import load_study, read_forecast, read_scenarios
from dispatcher.datagen import GeneratorConfig, default_templates, generate
from dispatcher.errors import InvalidInput
from dispatcher.simulation.replicate import run_study
from dispatcher.simulation.rosters import cyclic_roster

DAY = date(2026, 1, 12)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    data = generate(GeneratorConfig(days=7, horizon_days=7, agents=45, seed=11))
    truth = data.truth.copy()
    truth["period_start"] = truth["period_start"].map(lambda t: t.isoformat())
    truth.to_csv(out / "truth.csv", index=False)
    contacts = data.contacts.copy()
    contacts["created_at"] = contacts["created_at"].map(lambda t: t.isoformat(timespec="milliseconds"))
    contacts.to_csv(out / "contacts.csv", index=False)
    forecast = truth.rename(columns={"expected_volume": "volume", "expected_aht_s": "aht_s"})
    forecast.drop(columns=["is_history"]).assign(model="truth").to_csv(out / "forecast.csv", index=False)
    write_agents(out / "agents.csv", data.agents)
    full = [t for t in default_templates() if t.name.startswith("F")]
    write_roster(out / "roster.csv", cyclic_roster(data.agents, full, DAY, "America/New_York"))
    return out


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_simulate_command_compares_scenarios_and_writes_results_plot_and_event_log(
    generated: Path, tmp_path: Path
) -> None:
    scenarios = write(tmp_path / "whatif.toml", """
[simulation]
routing = "greedy"
mean_patience_s = 240

[[scenarios]]
name = "volume +25%"
volume = 1.25

[[scenarios]]
name = "a001 and a002 sick"
absentees = ["a001", "a002"]
""")
    out, plot, events = tmp_path / "results.csv", tmp_path / "kpis.png", tmp_path / "events.csv"
    result = CliRunner().invoke(app, [
        "simulate", "--forecast", str(generated / "forecast.csv"), "--roster", str(generated / "roster.csv"),
        "--agents", str(generated / "agents.csv"), "--scenarios", str(scenarios), "--replications", "4",
        "--out", str(out), "--plot", str(plot), "--events", str(events),
    ])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out).set_index(["scenario", "kpi"])
    assert list(dict.fromkeys(table.index.get_level_values(0))) == ["baseline", "volume +25%", "a001 and a002 sick"]
    assert (table.loc["baseline"]["diff_vs_baseline"] == 0).all()
    assert table.loc[("volume +25%", "offered"), "diff_vs_baseline"] > 0
    assert table.loc[("volume +25%", "asa_s"), "mean"] > table.loc[("baseline", "asa_s"), "mean"]
    assert (table["replications"] == 4).all()
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log = pd.read_csv(events)
    assert {"queue", "quadrant", "arrival_at", "wait_s", "agent", "abandoned"} <= set(log.columns)
    assert log["agent"].dropna().isin(pd.read_csv(generated / "agents.csv")["id"]).all()
    assert pd.to_datetime(log["arrival_at"], utc=True).dt.tz_convert("America/New_York").dt.date.eq(DAY).all()


def test_forecast_with_a_gap_is_rejected_naming_row_and_period(generated: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(generated / "forecast.csv")
    gap = frame.drop(index=40)
    gap.to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(InvalidInput) as err:
        read_forecast(tmp_path / "gap.csv")
    assert err.value.file == str(tmp_path / "gap.csv")
    assert err.value.field == "period_start"
    assert err.value.row == 42  # the first row after the missing period (index 41, file line 42)
    assert frame["period_start"].iloc[41] in err.value.message


def test_forecast_with_negative_volume_is_rejected(generated: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(generated / "forecast.csv")
    frame.loc[7, "volume"] = -3
    frame.to_csv(tmp_path / "neg.csv", index=False)
    with pytest.raises(InvalidInput, match="-3") as err:
        read_forecast(tmp_path / "neg.csv")
    assert (err.value.row, err.value.field) == (9, "volume")


@pytest.mark.parametrize(
    ("name", "text", "field", "value"),
    [
        ("typo.toml", '[[scenarios]]\nname = "x"\nvolumee = 1.2\n', "scenarios[0].volumee", "1.2"),
        ("typo.yaml", "scenarios:\n  - name: x\n    abstentees: [a001]\n", "scenarios[0].abstentees", "a001"),
        ("top.toml", 'sceanrios = 3\n', "top level.sceanrios", "3"),
        ("sim.yaml", "simulation:\n  routeing: greedy\n", "simulation.routeing", "greedy"),
        ("neg.toml", '[[scenarios]]\nname = "x"\naht = -1.5\n', "scenarios[x].aht", "-1.5"),
        ("neg.yaml", "scenarios:\n  - name: x\n    volume: -2\n", "scenarios[x].volume", "-2"),
        ("route.toml", '[[scenarios]]\nname = "x"\nrouting = "psychic"\n', "scenarios[x].routing", "psychic"),
    ],
)
def test_scenario_file_errors_name_file_key_and_value(
    generated: Path, tmp_path: Path, name: str, text: str, field: str, value: str
) -> None:
    path = write(tmp_path / name, text)
    demand = read_forecast(generated / "forecast.csv", *_day_bounds())
    with pytest.raises(InvalidInput) as err:
        read_scenarios(path, demand)
    assert err.value.file == str(path)
    assert err.value.field == field
    assert value in err.value.message


def test_yaml_and_toml_scenario_files_mean_the_same(generated: Path, tmp_path: Path) -> None:
    demand = read_forecast(generated / "forecast.csv", *_day_bounds())
    toml = write(tmp_path / "a.toml", """
[simulation]
answer_within_s = 30
[[scenarios]]
name = "late shift"
roster_edits = [{agent = "a004", start = "14:00", end = "22:00"}]
shrinkage = 0.1
sl_target_s = 60
""")
    yaml = write(tmp_path / "a.yaml", """
simulation: {answer_within_s: 30}
scenarios:
  - name: late shift
    roster_edits: [{agent: a004, start: "14:00", end: "22:00"}]
    shrinkage: 0.1
    sl_target_s: 60
""")
    a, b = read_scenarios(toml, demand), read_scenarios(yaml, demand)
    assert a == b
    assert [s.name for s in a.scenarios] == ["baseline", "late shift"]
    edit = a.scenarios[1].roster_edits[0]
    assert (edit.start_s, edit.end_s) == (14 * 3600.0, 22 * 3600.0)
    assert a.config.answer_within_s == 30 and a.scenarios[1].answer_within_s == 60


def _day_bounds() -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(DAY.isoformat()).tz_localize("America/New_York")
    return start, start + pd.Timedelta(days=1)


def test_roster_with_unknown_agent_exits_2_with_one_line_naming_file_and_agent(
    generated: Path, tmp_path: Path
) -> None:
    roster = pd.read_csv(generated / "roster.csv")
    roster.loc[3, "agent_id"] = "ghost7"
    roster.to_csv(tmp_path / "roster.csv", index=False)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dispatchwise"), "simulate", "--forecast", str(generated / "truth.csv"),
         "--roster", str(tmp_path / "roster.csv"), "--agents", str(generated / "agents.csv")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "ghost7" in message and "roster.csv" in message and "row 5" in message
    assert "Traceback" not in done.stderr


def test_scenario_naming_an_agent_not_in_agents_csv_is_rejected(generated: Path, tmp_path: Path) -> None:
    scenarios = write(tmp_path / "s.toml", '[[scenarios]]\nname = "x"\nabsentees = ["nobody"]\n')
    result = CliRunner().invoke(app, [
        "simulate", "--forecast", str(generated / "truth.csv"), "--roster", str(generated / "roster.csv"),
        "--agents", str(generated / "agents.csv"), "--scenarios", str(scenarios), "--replications", "1",
        "--out", str(tmp_path / "r.csv"),
    ])
    assert isinstance(result.exception, InvalidInput)
    assert "nobody" in str(result.exception) and str(scenarios) in str(result.exception)
    assert not np.any([(tmp_path / "r.csv").exists()])


def test_replaying_a_history_day_offers_exactly_its_contacts_on_the_roster_day(generated: Path) -> None:
    contacts = pd.read_csv(generated / "contacts.csv")
    local = pd.to_datetime(contacts["created_at"], utc=True).dt.tz_convert("America/New_York")
    replay_day = date(2026, 1, 5)
    that_day = contacts[local.dt.date == replay_day]
    study = load_study(forecast=None, roster=generated / "roster.csv", agents=generated / "agents.csv",
                       history=generated / "contacts.csv", replay_day=replay_day, replications=2)
    assert study.history is not None
    assert len(study.history.arrival_s) == len(that_day)
    assert study.demand.start.date() == DAY
    # same local time of day, moved to the roster's day
    first = local[local.dt.date == replay_day].min()
    assert study.history.arrival_s[0] == pytest.approx(first.hour * 3600 + first.minute * 60 + first.second
                                                       + first.microsecond / 1e6, abs=1e-3)
    answered = that_day[~that_day["abandoned"]]
    np.testing.assert_allclose(np.sort(study.history.handle_s[np.isfinite(study.history.handle_s)]),
                               np.sort(answered["handle_time_s"].to_numpy()))
    runs = run_study(study, workers=1)
    assert all(r["offered"] == len(that_day) for r in runs["baseline"])
    # the generator draws handle times with a lognormal shape of 0.6
    assert study.config.handle_sigma == pytest.approx(0.6, abs=0.02)


def test_replay_needs_a_history_and_history_errors_name_the_row(generated: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="history"):
        load_study(forecast=None, roster=generated / "roster.csv", agents=generated / "agents.csv",
                   replay_day=DAY)
    contacts = pd.read_csv(generated / "contacts.csv", dtype=str).head(50)
    contacts.loc[9, "urgent"] = "maybe"
    contacts.to_csv(tmp_path / "contacts.csv", index=False)
    with pytest.raises(InvalidInput) as err:
        load_study(forecast=generated / "forecast.csv", roster=generated / "roster.csv",
                   agents=generated / "agents.csv", history=tmp_path / "contacts.csv")
    assert (err.value.row, err.value.field) == (11, "urgent") and "maybe" in err.value.message


def test_forecast_intervals_become_the_forecasts_own_relative_error(tmp_path: Path) -> None:
    half = 1.959964 * np.sqrt(100.0 + 20.0**2)  # Poisson variance 100 plus a 20% error of the mean
    rows = [
        {"queue": q, "period_start": f"2026-03-02T{9 + i // 4:02d}:{15 * (i % 4):02d}:00-05:00", "volume": 100.0,
         "volume_lo95": 100.0 - half, "volume_hi95": 100.0 + half, "aht_s": 300.0, "model": "m"}
        for q in ("billing", "tech") for i in range(8)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "f.csv", index=False)
    demand = read_forecast(tmp_path / "f.csv")
    assert demand.volume_rel_sd is not None
    np.testing.assert_allclose(demand.volume_rel_sd, 0.2, rtol=1e-6)
    assert demand.queues == ("billing", "tech") and demand.period_s == 900.0
