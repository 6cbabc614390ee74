"""A/B experiments before going live: the report's intervals cover a known effect about 95% of the
time, the simulated experiment splits and routes like the live one, and ``dispatchwise abtest --simulate``
runs on files."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from dispatcher.abtest import Experiment, mean_difference, power_analysis, proportion_difference
from dispatcher.domain import Agent
from dispatcher.errors import InvalidInput
from dispatcher.policy import GREEDY, LIVE
from dispatcher.simulation.experiment import arms_for, run_experiment_replication, summarize_experiment
from dispatcher.simulation.model import Demand, SimulationConfig, staffing_from_agents
from dispatcher.simulation.replicate import Study
from dispatcher.simulation.scenarios import Scenario
from tests.test_simulation_files import generated  # noqa: F401 - the module's generated-files fixture


def test_live_report_intervals_cover_a_known_effect_about_95_percent_of_the_time() -> None:
    # per-task outcomes with known arm means: SL 80% vs 84%, ASA 30 s vs 26 s (exponential waits)
    rng = np.random.default_rng(2026)
    experiments = 600
    sl_hits = asa_hits = 0
    for _ in range(experiments):
        n_a, n_b = rng.binomial(2000, 0.5), 0
        n_b = 2000 - n_a
        sl = proportion_difference("sla", (rng.random(n_a) < 0.80).astype(float),
                                   (rng.random(n_b) < 0.84).astype(float))
        asa = mean_difference("asa_s", rng.exponential(30.0, n_a), rng.exponential(26.0, n_b))
        sl_hits += sl.ci_low <= 0.04 <= sl.ci_high
        asa_hits += asa.ci_low <= -4.0 <= asa.ci_high
    for hits in (sl_hits, asa_hits):
        assert 0.93 <= hits / experiments <= 0.97, hits / experiments  # 95% ± 2.2 binomial sd


def test_power_analysis_says_how_many_tasks_the_observed_effect_needs() -> None:
    rng = np.random.default_rng(4)
    diff = proportion_difference("sla", (rng.random(1000) < 0.8).astype(float), (rng.random(1000) < 0.83).astype(float))
    power = power_analysis(diff)
    assert power.detectable > abs(diff.ci_high - diff.ci_low) / 2, "80% power needs more than the half-width"
    # the textbook sample size for 80% vs 83% at 5%/80% is about 2 × 2,500 tasks
    textbook = 2 * (1.96 + 0.8416) ** 2 * (0.8 * 0.2 + 0.83 * 0.17) / 0.03**2
    assert power.tasks_needed > 0
    assert 0.2 * textbook < power.tasks_needed * (diff.difference / 0.03) ** 2 < 5 * textbook


def small_study(seed: int, hours: float = 2.0) -> Study:
    agents = [Agent(id=f"a{i:02d}", name=f"a{i}", skills={"billing": 3, "tech": 2 + i % 3},
                    primary_skills=frozenset({"billing"} if i % 2 else {"tech"})) for i in range(8)]
    periods = int(hours * 4)
    demand = Demand(("billing", "tech"), datetime(2026, 1, 12, tzinfo=UTC), 900.0,
                    np.full((periods, 2), 45.0), np.full((periods, 2), 240.0))
    staffing = staffing_from_agents(agents, demand.queues, [[(0.0, hours * 3600)]] * len(agents))
    return Study(demand, staffing, SimulationConfig(mean_patience_s=600.0), (Scenario("baseline"),),
                 replications=6, seed=seed)


def test_simulated_split_routes_each_arms_tasks_by_its_policy() -> None:
    study = small_study(seed=3)
    experiment = Experiment("split", LIVE, GREEDY, share_b=0.3)
    arms = arms_for(experiment, 1000, study.staffing.agent_ids, replication=0)
    assert arms[0].tasks is not None and arms[1].tasks is not None
    assert not (arms[0].tasks & arms[1].tasks).any() and (arms[0].tasks | arms[1].tasks).all()
    assert abs(arms[1].tasks.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 1000)
    run = run_experiment_replication(study, experiment, 0)
    assert run["A"]["offered"] + run["B"]["offered"] > 500
    assert abs(run["B"]["offered"] / (run["A"]["offered"] + run["B"]["offered"]) - 0.3) < 0.07


@pytest.mark.slow
def test_simulated_a_a_experiment_intervals_cover_zero_about_95_percent_of_the_time() -> None:
    # the same policy in both arms: the true difference is 0 (arms are exchangeable)
    experiments = 60
    covered = 0
    same = Experiment("a-a", LIVE, replace(LIVE, name="live-too"))
    for seed in range(experiments):
        study = small_study(seed, hours=1.0)
        runs = [run_experiment_replication(study, same, r) for r in range(5)]
        sl = next(d for d in summarize_experiment(runs) if d.kpi == "service_level")
        covered += sl.ci_low <= 0.0 <= sl.ci_high
    assert 0.85 <= covered / experiments <= 1.0, covered / experiments  # 95%, 60 draws: sd 2.8 points


def test_abtest_command_runs_the_experiment_on_simulated_days(generated: Path, tmp_path: Path) -> None:  # noqa: F811
    scenarios = tmp_path / "whatif.toml"
    scenarios.write_text('[[scenarios]]\nname = "baseline"\nvolume = 0.3\n')
    result = CliRunner().invoke(app, [
        "abtest", "--simulate", str(scenarios), "--forecast", str(generated / "forecast.csv"),
        "--roster", str(generated / "roster.csv"), "--agents", str(generated / "agents.csv"),
        "--policy-a", "live", "--policy-b", "longest-idle", "--replications", "2",
    ])
    assert result.exit_code == 0, result.output
    assert "live vs longest-idle" in result.output and "ASA" in result.output and "tasks needed" in result.output
    bad = CliRunner().invoke(app, [
        "abtest", "--simulate", str(scenarios), "--forecast", str(generated / "forecast.csv"),
        "--roster", str(generated / "roster.csv"), "--agents", str(generated / "agents.csv"), "--policy-b", "fastest",
    ])
    assert isinstance(bad.exception, InvalidInput) and bad.exception.field == "--policy-b"
