"""Rostering benchmark: generator instances (seeded), one week of 15-minute periods.

Prints, per size: time to the first roster, time to the final roster, objective, LP bound and gap,
under/over-staffed agent-hours; then a side-by-side with pyworkforce (shift counts only) on the
same single-skill demand. Run: ``.venv/bin/python -m benchmarks.roster [--sizes 100,300] [--workers 2]``.

Requirements come from the generator's truth with Erlang C (80% in 20 s) and 30% shrinkage, so the
benchmark does not depend on the staffing module. Demand is scaled with the number of agents.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from time import perf_counter

import numpy as np
import pandas as pd

from dispatcher.datagen import GeneratorConfig, generate
from dispatcher.roster.problem import PERIOD_MIN, Requirements, RosterProblem
from dispatcher.roster.solve import solve_roster

BASE_DAILY_VOLUME = (900.0, 700.0, 1000.0)
"""Monday contacts per queue for 100 agents; scaled linearly with the number of agents."""


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner on the C level; keep the table clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def erlang_c_agents(load: np.ndarray, aht_s: np.ndarray, *, target: float = 0.8, within_s: float = 20.0,
                    max_agents: int = 500) -> np.ndarray:
    """Smallest head count per period with service level >= target (Erlang C), vectorised."""
    out = np.zeros(load.shape, dtype=np.int64)
    todo = load > 0
    erlang_b = np.ones(load.shape)
    for n in range(1, max_agents + 1):
        erlang_b = load * erlang_b / (n + load * erlang_b)
        with np.errstate(divide="ignore", invalid="ignore"):
            wait = n * erlang_b / (n - load * (1 - erlang_b))
            sl = 1 - wait * np.exp(-(n - load) * within_s / aht_s)
        ok = todo & (n > load) & (sl >= target)
        out[ok] = n
        todo &= ~ok
        if not todo.any():
            break
    return out


def requirements_from_truth(truth: pd.DataFrame, week_start: date, *, shrinkage: float = 0.3,
                            queues: list[str] | None = None) -> Requirements:
    start = pd.Timestamp(week_start).tz_localize(truth["period_start"].dt.tz)
    week = truth[(truth["period_start"] >= start) & (truth["period_start"] < start + pd.Timedelta(days=7))]
    if queues is not None:
        week = week[week["queue"].isin(queues)]
    load = week["expected_volume"].to_numpy() * week["expected_aht_s"].to_numpy() / (PERIOD_MIN * 60)
    agents = erlang_c_agents(load, week["expected_aht_s"].to_numpy())
    scheduled = np.ceil(agents / (1 - shrinkage)).astype(int)
    entries = [(q, ts.to_pydatetime(), int(r), i + 2)
               for i, (q, ts, r) in enumerate(zip(week["queue"], week["period_start"], scheduled, strict=True))]
    return Requirements.from_entries(entries)


def instance(n_agents: int, seed: int = 7, queues: int = 3) -> tuple[RosterProblem, pd.DataFrame]:
    scale = n_agents / 100
    volume = tuple(v * scale for v in BASE_DAILY_VOLUME[:queues]) if queues > 1 else (sum(BASE_DAILY_VOLUME) * scale,)
    cfg = GeneratorConfig(days=7, queues=queues, agents=n_agents, seed=seed, horizon_days=14, daily_volume=volume)
    data = generate(cfg)
    week = cfg.start + timedelta(days=cfg.days)
    week += timedelta(days=(7 - week.weekday()) % 7)
    req = requirements_from_truth(data.truth, week)
    return RosterProblem(req, tuple(data.agents), tuple(data.templates)), data.truth


def run_ours(problem: RosterProblem, time_limit: float, workers: int, seed: int) -> dict[str, float]:
    first: dict[str, float] = {}
    t0 = perf_counter()

    def progress(stage: str, info: dict[str, object]) -> None:
        if stage == "done" and "first" not in first:
            first["first"] = perf_counter() - t0

    with quiet_stdout():
        quick = solve_roster(problem, time_limit_s=min(2.0, time_limit), workers=workers, seed=seed,
                             explain=False)
    t_quick = perf_counter() - t0
    t1 = perf_counter()
    with quiet_stdout():
        result = solve_roster(problem, time_limit_s=time_limit, workers=workers, seed=seed, explain=False,
                              progress=progress)
    t_full = perf_counter() - t1
    cov = result.coverage
    return {
        "first_s": t_quick, "first_gap": quick.gap, "time_s": t_full, "objective": result.objective.total,
        "bound": result.bound, "gap": result.gap, "under_h": sum(cov.under_hours.values()),
        "over_h": sum(cov.over_hours.values()), "paid_h": result.paid_hours,
        "weekend_spread": result.fairness.weekend_shifts_spread, "late_spread": result.fairness.late_shifts_spread,
        "no_pair": result.fairness.no_two_days_off, "shifts": len(result.roster),
    }


def single_skill_comparison(n_agents: int, seed: int, workers: int) -> list[tuple[str, float, float, float]]:
    """pyworkforce MinAbsDifference / MinRequiredResources vs ours on one queue's demand."""
    from pyworkforce.scheduling import MinAbsDifference, MinRequiredResources

    problem, _ = instance(n_agents, seed=seed, queues=1)
    req = problem.requirements
    days = req.days
    per_day = 24 * 60 // PERIOD_MIN
    demand = [[int(req.required[0, d * per_day + p]) for p in range(per_day)] for d in range(len(days))]
    shifts = {t.name: [1 if 0 <= (p - (t.start.hour * 4 + t.start.minute // 15)) < int(t.length / timedelta(minutes=15))
                       else 0 for p in range(per_day)] for t in problem.templates}
    rows = []
    for name, cls in (("pyworkforce MinAbsDifference", MinAbsDifference),
                      ("pyworkforce MinRequiredResources", MinRequiredResources)):
        kwargs = {"num_days": len(days), "periods": per_day, "shifts_coverage": shifts,
                  "required_resources": demand, "max_period_concurrency": n_agents,
                  "max_shift_concurrency": n_agents, "max_search_time": 60.0, "num_search_workers": workers}
        if cls is MinRequiredResources:
            kwargs["cost_dict"] = {t.name: round(t.length_hours * 4) for t in problem.templates}
        t0 = perf_counter()
        with quiet_stdout():
            solution = cls(**kwargs).solve()
        elapsed = perf_counter() - t0
        cover = np.zeros((len(days), per_day), dtype=int)
        for item in solution.get("resources_shifts", []):
            cover[item["day"]] += np.asarray(shifts[item["shift"]]) * int(item["resources"])
        need = np.asarray(demand)
        rows.append((name, float(np.clip(need - cover, 0, None).sum() / 4),
                     float(np.clip(cover - need, 0, None).sum() / 4), elapsed))
    no_minimum = replace(problem, agents=tuple(replace(a, contract=replace(a.contract, min_hours_week=0.0))
                                               for a in problem.agents))
    for name, variant in (("dispatchwise (named, breaks, full contracts)", problem),
                          ("dispatchwise (named, breaks, no contract minimum)", no_minimum)):
        t0 = perf_counter()
        with quiet_stdout():
            ours = solve_roster(variant, time_limit_s=15.0, workers=workers, seed=seed, explain=False)
        elapsed = perf_counter() - t0
        rows.append((name, sum(ours.coverage.under_hours.values()), sum(ours.coverage.over_hours.values()), elapsed))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,300")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-pyworkforce", action="store_true")
    args = parser.parse_args()
    print("size | first roster s (gap) | final s | objective | LP bound | gap | under h | over h | paid h | "
          "weekend/late spread | no 2 days off")
    for size in (int(s) for s in args.sizes.split(",")):
        problem, _ = instance(size, seed=args.seed)
        limit = 15.0 if size <= 100 else 60.0
        r = run_ours(problem, limit, args.workers, args.seed)
        print(f"{size} | {r['first_s']:.1f} ({r['first_gap']:.2%}) | {r['time_s']:.1f} | {r['objective']:.1f} | "
              f"{r['bound']:.1f} | {r['gap']:.2%} | {r['under_h']:.1f} | {r['over_h']:.1f} | {r['paid_h']:.0f} | "
              f"{r['weekend_spread']}/{r['late_spread']} | {r['no_pair']}", flush=True)
    if not args.skip_pyworkforce:
        print("\nsingle-skill demand, 100 agents | under-staffed agent-h | over-staffed agent-h | time s")
        for name, under, over, elapsed in single_skill_comparison(100, args.seed, args.workers):
            print(f"{name} | {under:.1f} | {over:.1f} | {elapsed:.2f}", flush=True)


if __name__ == "__main__":
    main()
