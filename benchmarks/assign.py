"""Benchmark the live-assignment hot path against plain OR-Tools min-cost flow, measured in one run.

Instances are random but reproducible: T tasks, A agents, 3-10 skills, each agent holds each skill
with probability 0.3 (so ~30% of pairs are eligible), capacities 1-3. "policy" instances score pairs
the way live dispatch does (default AssignmentPolicy shape: strict quadrant layers, task urgency,
agent proficiency / owner / load / fairness terms, a few sticky owners, and a shift guard that keeps
long tasks from agents about to leave); "random" instances draw every pair's score independently.

    .venv/bin/python -m benchmarks.assign            # full run (plain baseline at 20000x2000 once)
    .venv/bin/python -m benchmarks.assign --quick    # skip the slowest baselines
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dispatcher.assign import ArrayAssignment, assign_arrays, assign_arrays_plain
from dispatcher.baselines import greedy_arrays

SIZES = ((50, 20), (1000, 200), (5000, 1000), (20000, 2000))


@dataclass(frozen=True)
class Instance:
    name: str
    task: np.ndarray
    agent: np.ndarray
    score: np.ndarray
    capacity: np.ndarray
    n_tasks: int
    n_agents: int
    layer: np.ndarray | None


def quantised(values: np.ndarray) -> np.ndarray:
    """Terms on the policy's 1/1024 grid (AssignmentPolicy quantises its terms the same way)."""
    return np.round(values * 1024.0) / 1024.0


def make_instance(n_tasks: int, n_agents: int, seed: int, kind: str = "policy") -> Instance:
    """Random reproducible instance; pairs come task-major with agents ascending (as score_pairs gives)."""
    rng = np.random.default_rng(seed)
    n_skills = int(rng.integers(3, 11))
    holds = rng.random((n_agents, n_skills)) < 0.3
    holds[np.arange(n_agents), rng.integers(0, n_skills, n_agents)] = True
    capacity = rng.integers(1, 4, n_agents)
    task_skill = rng.integers(0, n_skills, n_tasks)
    eligible = holds.T[task_skill]  # (tasks, agents)
    if kind == "random":
        t, a = np.nonzero(eligible)
        score = rng.uniform(1.0, 100.0, len(t))
        return Instance(kind, t, a, score, capacity, n_tasks, n_agents, None)
    # Policy-like: strict quadrant layers; within a layer task urgency + agent terms (+ sticky pairs).
    layer = rng.integers(0, 4, n_tasks)
    handle_s = rng.choice([180.0, 300.0, 600.0, 1200.0, 1800.0], n_tasks)
    time_left = np.where(rng.random(n_agents) < 0.1, rng.choice([600.0, 1500.0], n_agents), np.inf)
    eligible &= handle_s[:, None] <= time_left[None, :]
    t, a = np.nonzero(eligible)
    urgency = quantised(rng.uniform(0, 30, n_tasks))  # elapsed share of the response window
    proficiency = rng.integers(1, 6, (n_agents, n_skills))
    primary = rng.random((n_agents, n_skills)) < 0.5
    important = layer <= 1
    owner = np.where(important[t], 5.0 * primary[a, task_skill[t]], 1.0 * ~primary[a, task_skill[t]])
    load = quantised(3.0 * rng.random(n_agents))
    fairness = quantised(2.0 * rng.random(n_agents))
    score = 1.0 + urgency[t] + (proficiency[a, task_skill[t]] - 1) + owner + load[a] + fairness[a]
    previous = np.where(rng.random(n_tasks) < 0.01, rng.integers(0, n_agents, n_tasks), -1)
    score = score + np.where(previous[t] == a, 6.0, 0.0)
    return Instance(kind, t, a, score, capacity, n_tasks, n_agents, layer)


Solver = Callable[..., ArrayAssignment]


def timed(solver: Solver, inst: Instance, repeats: int) -> tuple[float, ArrayAssignment]:
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = solver(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, task_layer=inst.layer)
        times.append(time.perf_counter() - start)
    assert result is not None
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the plain baseline at 20000x2000")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for kind in ("policy", "random"):
        for n_tasks, n_agents in SIZES:
            inst = make_instance(n_tasks, n_agents, args.seed, kind)
            ours_ms, ours = timed(assign_arrays, inst, 3)
            if args.quick and n_tasks >= 20000:
                print(f"{kind} {n_tasks}x{n_agents} arcs={len(inst.task)} ours={ours_ms:.1f}ms")
                continue
            plain_ms, plain = timed(assign_arrays_plain, inst, 1 if n_tasks >= 5000 else 3)
            print(
                f"{kind} {n_tasks}x{n_agents} arcs={len(inst.task)} ours={ours_ms:.1f}ms "
                f"plain={plain_ms:.1f}ms ratio={plain_ms / ours_ms:.1f} "
                f"obj {ours.objective:.2f} vs {plain.objective:.2f}"
            )


if __name__ == "__main__":
    main()


__all__ = ["greedy_arrays", "make_instance"]
