"""Benchmark the live-assignment hot path against plain OR-Tools min-cost flow, measured in one run.

Instances are random but reproducible: T tasks, A agents, 3-10 skills, each agent holds each skill
with probability 0.3 (so ~30% of pairs are eligible), capacities 1-3. "policy" instances score pairs
the way live dispatch does (default AssignmentPolicy shape: strict quadrant layers, task urgency,
agent proficiency / owner / load / fairness terms, a few sticky owners, and a shift guard that keeps
long tasks from agents about to leave); "random" instances draw every pair's score independently.

    .venv/bin/python -m benchmarks.assign            # full run (plain baseline at 20000x2000 once)
    .venv/bin/python -m benchmarks.assign --quick    # skip the plain baseline at 20000x2000

Like for like: imports before any timing; every side (ours, plain, greedy, scipy, the dense floor)
gets one untimed warm-up run on a small instance of the same kind, then the same number of timed
runs, alternating between sides; the median of each is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

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
Side = Callable[[Instance], float]  # runs one side on an instance, returns its objective


def solver_side(solver: Solver, results: dict[str, ArrayAssignment], name: str) -> Side:
    def run(inst: Instance) -> float:
        result = solver(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, task_layer=inst.layer)
        results[name] = result
        return result.objective

    return run


def timed_together(inst: Instance, warm_up: Instance, sides: dict[str, Side],
                   repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall ms of each side over ``repeats`` runs on ``inst`` and its objective, alternating sides so
    load changes hit all alike, after one untimed warm-up run of every side on the small ``warm_up`` instance."""
    for side in sides.values():
        side(warm_up)
    times: dict[str, list[float]] = {name: [] for name in sides}
    objective: dict[str, float] = {}
    for _ in range(repeats):
        for name, side in sides.items():
            start = time.perf_counter()
            objective[name] = side(inst)
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]) * 1000, objective[name]) for name in sides}


def layer_counts(inst: Instance, result: ArrayAssignment) -> tuple[int, ...]:
    served = result.task_agent >= 0
    if inst.layer is None:
        return (int(served.sum()),)
    return tuple(np.bincount(inst.layer[served], minlength=4).tolist())


def same_optimum(inst: Instance, ours: ArrayAssignment, other: ArrayAssignment) -> bool:
    """Same served count per layer and same total score (up to float summation)."""
    close = abs(ours.objective - other.objective) <= 1e-9 * max(1.0, abs(other.objective))
    return close and layer_counts(inst, ours) == layer_counts(inst, other)


def dense_floor(inst: Instance) -> float:
    """Merely build the dense task x agent score matrix from the pair arrays."""
    matrix = np.zeros((inst.n_tasks, inst.n_agents))
    matrix[inst.task, inst.agent] = inst.score
    return 0.0


def scipy_slots(inst: Instance) -> float:
    """linear_sum_assignment on the agent-slot expanded matrix; returns the objective."""
    slot_agent = np.repeat(np.arange(inst.n_agents), inst.capacity)
    first_slot = np.concatenate([[0], np.cumsum(inst.capacity)[:-1]])
    weight = inst.score.copy()
    if inst.layer is not None:  # strict layers as weight steps larger than any score difference
        gap = (inst.n_tasks + 1) * float(inst.score.max()) + 1
        weight = weight + gap * (4 - inst.layer[inst.task])
    matrix = np.zeros((inst.n_tasks, len(slot_agent)))
    for k in range(int(inst.capacity.max())):
        has = inst.capacity[inst.agent] > k
        matrix[inst.task[has], first_slot[inst.agent[has]] + k] = weight[has]
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    real = matrix[rows, cols] > 0
    task_agent = np.full(inst.n_tasks, -1)
    task_agent[rows[real]] = slot_agent[cols[real]]
    eligible = np.zeros((inst.n_tasks, inst.n_agents))
    eligible[inst.task, inst.agent] = inst.score
    served = np.flatnonzero(task_agent >= 0)
    return float(eligible[served, task_agent[served]].sum())


@dataclass(frozen=True)
class Row:
    kind: str
    size: str
    arcs: int
    ours_ms: float
    plain_ms: float | None
    exact: str
    greedy_ms: float
    greedy_gap: float
    scipy_ms: float | None
    floor_ms: float


def repeats_for(n_tasks: int) -> int:
    """Timed runs per side (the same for every side): many on cheap sizes, one at 20000x2000."""
    return 15 if n_tasks < 5000 else 3 if n_tasks < 20000 else 1


def run_size(kind: str, n_tasks: int, n_agents: int, seed: int, quick: bool, scipy_max: int) -> Row:
    inst = make_instance(n_tasks, n_agents, seed, kind)
    warm_up = make_instance(200, 50, seed + 1, kind)
    results: dict[str, ArrayAssignment] = {}
    sides: dict[str, Side] = {"ours": solver_side(assign_arrays, results, "ours")}
    if not (quick and n_tasks >= 20000):
        sides["plain"] = solver_side(assign_arrays_plain, results, "plain")
    sides["greedy"] = solver_side(greedy_arrays, results, "greedy")
    if n_tasks <= scipy_max:
        sides["scipy"] = scipy_slots
    sides["floor"] = dense_floor
    measured = timed_together(inst, warm_up, sides, repeats_for(n_tasks))
    ms = {name: value[0] for name, value in measured.items()}
    ours = results["ours"]
    exact = "-"
    if "plain" in results:
        exact = "yes" if same_optimum(inst, ours, results["plain"]) else "NO"
    greedy = results["greedy"]
    gap = 100.0 * (ours.objective - greedy.objective) / ours.objective
    if "scipy" in measured and abs(measured["scipy"][1] - ours.objective) > 1e-6 * ours.objective:
        exact += " (scipy differs)"
    return Row(kind, f"{n_tasks}x{n_agents}", len(inst.task), ms["ours"], ms.get("plain"), exact, ms["greedy"],
               gap, ms.get("scipy"), ms["floor"])


def fmt(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the plain baseline at 20000x2000")
    parser.add_argument(
        "--scipy-max", type=int, default=1000, help="largest T for scipy (5000 takes minutes with layers)"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    head = (
        f"{'instance':<7} {'T x A':>11} {'arcs':>11} {'ours ms':>9} {'plain ms':>10} {'plain/ours':>10} "
        f"{'exact':>6} {'greedy ms':>10} {'greedy gap':>10} {'scipy ms':>10} {'floor ms':>9}"
    )
    print(head)
    print("-" * len(head))
    for kind in ("policy", "random"):
        for n_tasks, n_agents in SIZES:
            r = run_size(kind, n_tasks, n_agents, args.seed, args.quick, args.scipy_max)
            ratio = "-" if r.plain_ms is None else f"{r.plain_ms / r.ours_ms:.1f}x"
            print(
                f"{r.kind:<7} {r.size:>11} {r.arcs:>11,} {fmt(r.ours_ms):>9} {fmt(r.plain_ms):>10} {ratio:>10} "
                f"{r.exact:>6} {fmt(r.greedy_ms):>10} {r.greedy_gap:>9.2f}% {fmt(r.scipy_ms):>10} "
                f"{fmt(r.floor_ms):>9}",
                flush=True,
            )
    print(
        "ours = assign_arrays (exact; includes validation, scaling and graph building from the arrays); "
        "plain = one OR-Tools SimpleMinCostFlow on all eligible arcs; exact = same objective and same "
        "served count per layer; greedy gap = objective lost by greedy; scipy = linear_sum_assignment "
        "on the agent-slot matrix; floor = numpy time to build the dense score matrix. Every column: median "
        "of the same number of alternating runs (15 below 5000 tasks, 3 at 5000, 1 at 20000), each side "
        "warmed up first on a 200x50 instance."
    )


if __name__ == "__main__":
    main()
