"""Scenarios, common random numbers, replications and their confidence intervals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from dispatcher.domain import Agent, Interval, Roster, Shift, SkillBlock
from dispatcher.errors import InvalidInput
from dispatcher.simulation.arrivals import History, generate_tasks, replay_tasks
from dispatcher.simulation.engine import simulate
from dispatcher.simulation.kpis import per_period, summarize
from dispatcher.simulation.model import Demand, SimulationConfig, Staffing, staffing_from_roster
from dispatcher.simulation.replicate import Study, compare, mean_ci, run_study
from dispatcher.simulation.scenarios import Scenario, ShiftEdit

START = datetime(2026, 3, 2, 8, tzinfo=UTC)


def demand(periods: int = 8, volume: float = 60.0) -> Demand:
    vol = np.full((periods, 2), volume)
    vol[2, 1] = 0.0  # a closed period of queue 1
    return Demand(("billing", "tech"), START, 900.0, vol, np.full((periods, 2), 200.0))


def staffing(n: int = 12) -> Staffing:
    prof = np.tile(np.array([[4, 2], [1, 5]], dtype=np.int64), (n // 2, 1))
    return Staffing(
        agent_ids=tuple(f"a{i:02d}" for i in range(n)),
        proficiency=prof,
        primary=prof >= 4,
        duty=tuple(((0.0, 3600.0), (4500.0, 7200.0)) for _ in range(n)),
    )


def test_scaling_volume_keeps_every_tasks_random_numbers() -> None:
    cfg = SimulationConfig()
    base = generate_tasks(demand(), cfg, seed=4, replication=2)
    more = generate_tasks(demand(), cfg, seed=4, replication=2, volume_multiplier=1.5)
    assert 1.3 < len(more) / len(base) < 1.7
    for q in (0, 1):
        b_handle = base.handle_s[base.queue == q]
        m_handle = more.handle_s[more.queue == q]
        # task k of a queue has the same handle time whatever the volume (constant AHT here)
        np.testing.assert_array_equal(m_handle[: len(b_handle)], b_handle)
        # and arrives earlier, since the cumulative intensity grows faster
        assert np.all(more.arrival_s[more.queue == q][: len(b_handle)] <= base.arrival_s[base.queue == q] + 1e-9)


def test_no_arrivals_in_a_closed_period_and_means_follow_the_forecast() -> None:
    cfg = SimulationConfig(handle_distribution="exponential")
    counts = []
    for rep in range(30):
        tasks = generate_tasks(demand(), cfg, seed=1, replication=rep)
        closed = (tasks.queue == 1) & (tasks.arrival_s >= 1800) & (tasks.arrival_s < 2700)
        assert not closed.any()
        counts.append(len(tasks))
    expected = 60.0 * 8 * 2 - 60.0
    assert abs(np.mean(counts) - expected) < 4 * np.sqrt(expected / 30)


def test_named_and_random_absentees_and_shrinkage_change_duty_as_asked() -> None:
    base = staffing()
    rng = lambda: np.random.default_rng([1, 0, 7919])  # noqa: E731
    sick = Scenario("sick", absentees=("a03",)).staffing(base, rng())
    assert sick.duty[3] == () and sick.duty[2] == base.duty[2]
    random_a = Scenario("r", random_absentees=3).staffing(base, rng())
    random_b = Scenario("r2", random_absentees=3, volume_multiplier=2.0).staffing(base, rng())
    assert sum(1 for d in random_a.duty if not d) == 3
    assert random_a.duty == random_b.duty, "the same people are absent in every scenario of a replication"
    shrunk = Scenario("s", shrinkage=0.25).staffing(base, rng())
    assert shrunk.on_duty_s == pytest.approx(base.on_duty_s * 0.75)
    edited = Scenario("e", roster_edits=(ShiftEdit("a01", 100.0, 900.0),)).staffing(base, rng())
    assert edited.duty[1] == ((100.0, 900.0),)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"volume_multiplier": -0.5}, "volume_multiplier"),
        ({"aht_multiplier": 0.0}, "aht_multiplier"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"routing": "fastest"}, "routing"),
        ({"random_absentees": -1}, "random_absentees"),
    ],
)
def test_bad_scenario_values_are_rejected_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Scenario("bad", **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_scenario_naming_an_unknown_agent_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="zz9"):
        Scenario("x", absentees=("zz9",)).staffing(staffing(), np.random.default_rng(0))


def test_mean_ci_matches_the_t_interval_by_hand() -> None:
    mean, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0])
    # t(0.975, 3) = 3.182446, s = 1.290994, half = 3.182446 * 1.290994 / 2
    assert mean == 2.5
    assert hi - mean == pytest.approx(2.054260, abs=1e-5)
    assert mean - lo == pytest.approx(hi - mean)


def test_more_volume_is_worse_and_paired_difference_is_tighter_than_the_levels() -> None:
    study = Study(demand(), staffing(), SimulationConfig(routing="greedy"),
                  (Scenario("baseline"), Scenario("busier", volume_multiplier=1.3)), replications=8, seed=2)
    table = compare(run_study(study, workers=1), "baseline").set_index(["scenario", "kpi"])
    base_row, busy = table.loc[("baseline", "asa_s")], table.loc[("busier", "asa_s")]
    assert base_row["diff_vs_baseline"] == 0.0
    assert busy["diff_ci95_lo"] > 0, "ASA grows with volume, significantly"
    level_width = busy["ci95_hi"] - busy["ci95_lo"] + base_row["ci95_hi"] - base_row["ci95_lo"]
    assert busy["diff_ci95_hi"] - busy["diff_ci95_lo"] < level_width, "common random numbers pay off"


def test_parallel_replications_equal_serial_ones() -> None:
    study = Study(demand(periods=4), staffing(), SimulationConfig(),
                  (Scenario("baseline"), Scenario("aht", aht_multiplier=1.2)), replications=3, seed=9)
    serial = run_study(study, workers=1)
    parallel = run_study(study, workers=2, min_parallel_tasks=0)
    assert serial == parallel


def test_replay_thins_or_copies_recorded_contacts_with_the_volume_multiplier() -> None:
    n = 2000
    rng = np.random.default_rng(3)
    history = History(
        arrival_s=np.sort(rng.uniform(0, 7000, n)), queue=rng.integers(0, 2, n).astype(np.int64),
        handle_s=np.where(rng.random(n) < 0.1, np.nan, rng.uniform(100, 300, n)),
        urgent=rng.random(n) < 0.3, important=rng.random(n) < 0.5,
    )
    d = demand()
    cfg = SimulationConfig()
    same = replay_tasks(history, d, cfg, seed=1, replication=0)
    np.testing.assert_array_equal(same.arrival_s, history.arrival_s)
    recorded = np.isfinite(history.handle_s)
    np.testing.assert_array_equal(same.handle_s[recorded], history.handle_s[recorded])
    assert np.all(same.handle_s[~recorded] > 0)
    half = replay_tasks(history, d, cfg, seed=1, replication=0, volume_multiplier=0.5)
    more = replay_tasks(history, d, cfg, seed=1, replication=0, volume_multiplier=1.5)
    assert abs(len(half) - n / 2) < 4 * np.sqrt(n / 4)
    assert abs(len(more) - 1.5 * n) < 4 * np.sqrt(n / 4)
    assert set(history.arrival_s.tolist()) <= set(more.arrival_s.tolist()), "every recorded contact stays"
    assert more.arrival_s.min() >= 0 and more.arrival_s.max() <= d.horizon_s


def test_per_period_kpis_add_up_to_the_totals() -> None:
    tasks = generate_tasks(demand(), SimulationConfig(), seed=5, replication=0)
    cfg = SimulationConfig(routing="least_busy")
    log = simulate(tasks, staffing(), cfg, queues=("billing", "tech"), horizon_s=demand().horizon_s)
    table = per_period(log, period_s=900.0, answer_within_s=cfg.answer_within_s)
    totals = summarize(log, answer_within_s=cfg.answer_within_s, sla=cfg.sla)
    assert table["offered"].sum() == totals["offered"] == len(tasks)
    assert table["abandoned"].sum() / table["offered"].sum() == pytest.approx(totals["abandon_rate"])
    assert table["in_sl"].sum() / table["sl_counted"].sum() == pytest.approx(totals["service_level"])
    counted = table["sl_counted"] > 0
    in_sl = (table.loc[counted, "service_level"] * table.loc[counted, "sl_counted"]).round().sum()
    assert in_sl == table["in_sl"].sum()
    assert (table["sl_counted"] <= table["offered"]).all() and (table["in_sl"] <= table["answered"]).all()
    assert set(table["queue"]) == {"billing", "tech"}
    assert table[(table["queue"] == "tech") & (table["period_start_s"] == 1800.0)].empty, "closed period"


def test_forecast_uncertainty_widens_the_spread_of_volume_across_replications() -> None:
    base = demand(periods=8, volume=100.0)
    uncertain = Demand(base.queues, base.start, base.period_s, base.volume, base.aht_s,
                       volume_rel_sd=np.full(base.volume.shape, 0.2))
    plain_cfg, wide_cfg = SimulationConfig(), SimulationConfig(volume_uncertainty=True)
    plain = [len(generate_tasks(uncertain, plain_cfg, seed=1, replication=r)) for r in range(40)]
    wide = [len(generate_tasks(uncertain, wide_cfg, seed=1, replication=r)) for r in range(40)]
    expected = base.volume.sum()
    assert np.std(plain) < 2 * np.sqrt(expected), "without the option only Poisson noise"
    assert np.std(wide) > 4 * np.sqrt(expected), "with it, the forecast's own 20% error per queue"
    assert abs(np.mean(wide) - expected) < 0.1 * expected
    same = [len(generate_tasks(uncertain, wide_cfg, seed=1, replication=r, aht_multiplier=1.3)) for r in range(5)]
    assert same == wide[:5], "every scenario of a replication sees the same forecast error"


def test_roster_shifts_become_duty_without_breaks_and_skill_blocks_become_the_plan() -> None:
    hour = timedelta(hours=1)
    agents = [Agent("a1", "A", {"billing": 4, "tech": 2}), Agent("a2", "B", {"tech": 5})]
    blocks = (SkillBlock(START, START + 4 * hour, "billing"), SkillBlock(START + 4 * hour, START + 8 * hour, "fax"))
    shift = Shift("a1", START, START + 8 * hour, (Interval(START + 3 * hour, START + 3.5 * hour),), blocks)
    staffing = staffing_from_roster(Roster(START.date(), (shift,)), agents, ("billing", "tech"), START)
    assert staffing.agent_ids == ("a1", "a2")
    assert staffing.duty == (((0.0, 3 * 3600.0), (3.5 * 3600, 8 * 3600.0)), ())
    assert staffing.skill_plan[0] == ((0.0, 4 * 3600.0, 0), (4 * 3600.0, 8 * 3600.0, -1))
    pieces = staffing.duty_pieces(0, honour_skill_plan=True)
    assert pieces == [(0.0, 3 * 3600.0, (0,)), (3.5 * 3600, 4 * 3600.0, (0,)), (4 * 3600.0, 8 * 3600.0, ())]
    assert staffing.duty_pieces(0, honour_skill_plan=False)[0][2] == (0, 1)
    with pytest.raises(InvalidInput, match="ghost"):
        staffing_from_roster(Roster(START.date(), (replace(shift, agent_id="ghost"),)), agents, ("billing",), START)
