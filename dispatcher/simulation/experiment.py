"""A/B experiments of routing policies in the simulator: the live experiment's split and policies on
simulated days, so a planner sees the expected effect and the sample it needs before going live.

Each replication is one simulated experiment (tasks split by the same stable hash as live, named
``r{replication}-{index}``; agents by their ids). Per arm: offered tasks, service level, ASA and
abandonment. Replications are independent, so B − A per replication gives a Student-t interval that
is honest about the correlation of waits within a day (per-task intervals are not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from dispatcher.abtest import Experiment, hash_unit
from dispatcher.simulation.engine import Arm, SimulatedDay, simulate
from dispatcher.simulation.model import FloatArray
from dispatcher.simulation.replicate import Study, draw_tasks, expected_handle, mean_ci

ARM_KPIS = ("offered", "service_level", "asa_s", "abandon_rate")


def arms_for(experiment: Experiment, n_tasks: int, agent_ids: tuple[str, ...], replication: int) -> list[Arm]:
    """The two arms: tasks (or agents) whose stable hash falls below ``share_b`` go to B."""
    if experiment.unit == "task":
        units = np.fromiter((hash_unit(f"r{replication}-{i}", experiment.name) for i in range(n_tasks)), float,
                            count=n_tasks)
        in_b = units < experiment.share_b
        return [Arm(experiment.policy_a, tasks=~in_b), Arm(experiment.policy_b, tasks=in_b)]
    in_b = np.array([hash_unit(a, experiment.name) < experiment.share_b for a in agent_ids], dtype=bool)
    return [Arm(experiment.policy_a, agents=~in_b), Arm(experiment.policy_b, agents=in_b)]


def arm_kpis(log: SimulatedDay, member: np.ndarray, answer_within_s: float) -> dict[str, float]:
    offered = int(member.sum())
    served = member & ~np.isnan(log.start_s)
    waits = log.wait_s[served]
    nan = math.nan
    return {
        "offered": float(offered),
        "service_level": float(np.count_nonzero(waits <= answer_within_s)) / offered if offered else nan,
        "asa_s": float(waits.mean()) if waits.size else nan,
        "abandon_rate": float(np.count_nonzero(log.abandoned & member)) / offered if offered else nan,
    }


def run_experiment_replication(study: Study, experiment: Experiment, replication: int) -> dict[str, dict[str, float]]:
    """Per-arm KPIs of one simulated experiment on the study's first scenario."""
    scenario = study.scenarios[0]
    cfg = scenario.config(study.config)
    staffing = scenario.staffing(study.staffing, np.random.default_rng([study.seed, replication, 7_919]))
    tasks = draw_tasks(study, scenario, cfg, replication)
    arms = arms_for(experiment, len(tasks), staffing.agent_ids, replication)
    log = simulate(tasks, staffing, cfg, queues=study.demand.queues, horizon_s=study.demand.horizon_s,
                   expected_handle_s=expected_handle(study.demand, tasks, scenario.aht_multiplier), arms=arms)
    if experiment.unit == "task":
        in_b = arms[1].tasks
        assert in_b is not None
    else:  # a task belongs to the arm of the agent who served it; unserved ones to neither
        agent_in_b = arms[1].agents
        assert agent_in_b is not None
        served = log.agent >= 0
        in_b = served & agent_in_b[np.maximum(log.agent, 0)]
        in_a = served & ~in_b
        return {"A": arm_kpis(log, in_a, cfg.answer_within_s), "B": arm_kpis(log, in_b, cfg.answer_within_s)}
    return {"A": arm_kpis(log, ~in_b, cfg.answer_within_s), "B": arm_kpis(log, in_b, cfg.answer_within_s)}


@dataclass(frozen=True, slots=True)
class SimulatedDifference:
    kpi: str
    a: float
    b: float
    difference: float
    """Mean over replications of B − A."""
    ci_low: float
    ci_high: float
    detectable_per_day: float
    """Smallest true |B − A| one replication's traffic detects (5% two-sided, 80% power)."""
    tasks_needed: float
    """Tasks (both arms) to detect the expected difference with 80% power (inf when it is 0)."""


def summarize_experiment(runs: list[dict[str, dict[str, float]]]) -> list[SimulatedDifference]:
    """B − A per KPI with a t interval over replications and a sample-size estimate."""
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    tasks_per_day = float(np.mean([r["A"]["offered"] + r["B"]["offered"] for r in runs]))
    out = []
    for kpi in ARM_KPIS[1:]:
        a: FloatArray = np.array([r["A"][kpi] for r in runs])
        b: FloatArray = np.array([r["B"][kpi] for r in runs])
        diff, lo, hi = mean_ci((b - a).tolist())
        sd = float(np.nanstd(b - a, ddof=1)) if len(runs) > 1 else math.nan
        detectable = z * sd
        needed = math.inf if diff == 0 or not math.isfinite(sd) else math.ceil((detectable / diff) ** 2) * tasks_per_day
        out.append(SimulatedDifference(kpi, float(np.nanmean(a)), float(np.nanmean(b)), diff, lo, hi, detectable,
                                       float(needed)))
    return out
