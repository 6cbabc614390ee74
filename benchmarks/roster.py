"""Rostering benchmark: generator instances (seeded), one week of 15-minute periods.

Prints, per size, seed and method: the first complete roster of the run (named, before the local
search: its time and gap), the roster of a 2 s solve (time and gap), the final roster's time, objective,
bound and gap, under/over-staffed agent-hours and the share of agent-weeks with two days off in a row;
then the median over seeds per method, with the gap also taken against the best bound any method proved
in the same run; then a side-by-side with pyworkforce (shift counts only) on
the same single-skill demand. Methods (``solve_roster(method=...)``): ``decomposition`` (count LP, naming,
local search, then every break placed exactly on the final shifts), ``previous`` (the same without the
exact break placement: the method before it, for a same-run comparison), and ``mip``, ``lns``,
``patterns`` (the decomposition's roster by half the limit, then the named MIP, large-neighbourhood
steps on it, or the pattern model by column generation). ``--sunday`` plans the Sunday-Saturday week
a day earlier (planning weeks from Sunday). ``--relaxation SECONDS`` also runs HiGHS on the integer count
model with exact breaks, a relaxation of the named roster tighter than the count LP: its best point and
bound say how far any named roster can get. Run: ``.venv/bin/python -m benchmarks.roster
[--sizes 100,300] [--seeds 3,7,11] [--methods decomposition,previous] [--sunday] [--relaxation 0]
[--days-off-pair-weight W] [--workers 2]``.

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
from dispatcher.domain import Roster
from dispatcher.roster.explain import precheck
from dispatcher.roster.grid import build_candidates, build_groups
from dispatcher.roster.named_mip import MipOutcome, solve_counts
from dispatcher.roster.problem import PERIOD_MIN, Requirements, RosterProblem
from dispatcher.roster.result import relative_gap
from dispatcher.roster.solve import solve_roster
from dispatcher.roster.weeks import has_days_off_pair

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


def instance(n_agents: int, seed: int = 7, queues: int = 3, *,
             sunday: bool = False) -> tuple[RosterProblem, pd.DataFrame]:
    """The generator's first whole Monday-Sunday week after its history, or (``sunday``) the Sunday-Saturday
    week a day earlier, planned in weeks from its Sunday."""
    scale = n_agents / 100
    volume = tuple(v * scale for v in BASE_DAILY_VOLUME[:queues]) if queues > 1 else (sum(BASE_DAILY_VOLUME) * scale,)
    cfg = GeneratorConfig(days=7, queues=queues, agents=n_agents, seed=seed, horizon_days=14, daily_volume=volume)
    data = generate(cfg)
    week = cfg.start + timedelta(days=cfg.days)
    week += timedelta(days=(7 - week.weekday()) % 7)
    if sunday:
        week -= timedelta(days=1)
    req = requirements_from_truth(data.truth, week)
    return RosterProblem(req, tuple(data.agents), tuple(data.templates)), data.truth


def pairs_held_by_closed_days(problem: RosterProblem, roster: Roster) -> tuple[int, int]:
    """(agents without two days off in a row in the whole-week horizon, how many of them work both open days
    beside every closed day): when it is all of them, the pair share is set by the headcount those days need."""
    days = problem.requirements.days
    per_day = problem.requirements.required.shape[1] // len(days)
    closed = [i for i in range(len(days)) if not problem.requirements.required[:, i * per_day:(i + 1) * per_day].any()]
    beside = {(i + k) % len(days) for i in closed for k in (-1, 1)} - set(closed)
    worked: dict[str, set[int]] = {a.id: set() for a in problem.agents}
    for shift in roster.shifts:
        worked[shift.agent_id].add((shift.start.date() - days[0]).days)
    without = [a for a, w in worked.items() if not has_days_off_pair(range(len(days)), w)]
    return len(without), sum(bool(closed) and beside <= worked[a] for a in without)


def run_ours(problem: RosterProblem, time_limit: float, workers: int, seed: int, method: str) -> dict[str, float]:
    """``method``: a ``solve_roster`` method, or ``previous`` (the decomposition without the exact break
    placement at the end, as before it)."""
    t0 = perf_counter()
    with quiet_stdout():
        result = solve_roster(problem, time_limit_s=time_limit, workers=workers, seed=seed, explain=False,
                              method="decomposition" if method == "previous" else method,
                              exact_breaks=method != "previous")
    t_full = perf_counter() - t0
    cov = result.coverage
    return {
        "time_s": t_full, "objective": result.objective.total, "bound": result.bound, "gap": result.gap,
        "under_h": sum(cov.under_hours.values()), "over_h": sum(cov.over_hours.values()),
        "paid_h": result.paid_hours, "pairs": result.fairness.days_off_pair_share,
        "weekend_spread": result.fairness.weekend_shifts_spread, "late_spread": result.fairness.late_shifts_spread,
        "first_s": result.timings["first"], "first_objective": result.first_objective,
        "no_pair": (held := pairs_held_by_closed_days(problem, result.roster))[0], "no_pair_beside_closed": held[1],
    }


def integer_relaxation(problem: RosterProblem, seconds: float) -> MipOutcome:
    """HiGHS on the integer count model with exact breaks (``named_mip.solve_counts``)."""
    candidates = build_candidates(problem)
    groups = build_groups(problem, candidates, precheck(problem, candidates).lowered_minimum)
    with quiet_stdout():
        return solve_counts(problem, candidates, groups, problem.requirements.required, time_limit_s=seconds)


def quick_roster(problem: RosterProblem, workers: int, seed: int) -> tuple[float, float, float]:
    """A roster as fast as it gets: a 2 s decomposition solve (time, objective, its own bound)."""
    t0 = perf_counter()
    with quiet_stdout():
        quick = solve_roster(problem, time_limit_s=2.0, workers=workers, seed=seed, explain=False)
    return perf_counter() - t0, quick.objective.total, quick.bound


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
    parser.add_argument("--seeds", default="3,7,11")
    parser.add_argument("--methods", default="decomposition,previous",
                        help="comma-separated: decomposition, previous, mip, lns, patterns")
    parser.add_argument("--sunday", action="store_true", help="plan the Sunday-Saturday week instead")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--days-off-pair-weight", type=float, default=None,
                        help="penalty per agent-week without two days off in a row (default: the solver's)")
    parser.add_argument("--skip-pyworkforce", action="store_true")
    parser.add_argument("--relaxation", type=float, default=0.0, metavar="SECONDS",
                        help="also run HiGHS this long on the integer count model with exact breaks (a relaxation "
                             "tighter than the count LP) and print its best point and bound; its bound counts "
                             "in 'gap vs best bound'")
    args = parser.parse_args()
    methods = args.methods.split(",")
    seeds = [int(x) for x in args.seeds.split(",")]
    print("size | seed | method | first roster in the run s (gap) | 2 s solve s (gap) | final s | objective | "
          "bound | gap | gap vs best bound | under h | over h | paid h | 2 days off in a row | weekend/late spread")
    for size in (int(s) for s in args.sizes.split(",")):
        limit = 15.0 if size <= 100 else 60.0
        rows: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
        for seed in seeds:
            problem, _ = instance(size, seed=seed, sunday=args.sunday)
            if args.days_off_pair_weight is not None:
                problem = replace(problem, weights=replace(problem.weights, days_off_pair=args.days_off_pair_weight))
            t_quick, quick_objective, quick_bound = quick_roster(problem, args.workers, seed)
            runs = {m: run_ours(problem, limit, args.workers, seed, m) for m in methods}
            best = max([quick_bound] + [r["bound"] for r in runs.values()])
            if args.relaxation > 0:
                relaxed = integer_relaxation(problem, args.relaxation)
                best = max(best, relaxed.bound)
                print(f"{size} | {seed} | integer count model, HiGHS {relaxed.seconds:.0f} s | best point "
                      f"{relaxed.objective:.2f} | bound {relaxed.bound:.2f}", flush=True)
            for m, r in runs.items():
                r["gap_best"] = relative_gap(r["objective"], best)
                r["first_gap"] = relative_gap(r.pop("first_objective"), best)
                r["quick_s"], r["quick_gap"] = t_quick, relative_gap(quick_objective, best)
                rows[m].append(r)
                print(f"{size} | {seed} | {m} | {r['first_s']:.1f} ({r['first_gap']:.2%}) | "
                      f"{t_quick:.1f} ({r['quick_gap']:.2%}) | {r['time_s']:.1f} | "
                      f"{r['objective']:.1f} | {r['bound']:.1f} | {r['gap']:.2%} | {r['gap_best']:.2%} | "
                      f"{r['under_h']:.1f} | {r['over_h']:.1f} | {r['paid_h']:.0f} | {r['pairs']:.0%} | "
                      f"{r['no_pair']:.0f} ({r['no_pair_beside_closed']:.0f}) | "
                      f"{r['weekend_spread']:.0f}/{r['late_spread']:.0f}", flush=True)
        for m in methods:
            med = {k: float(np.median([r[k] for r in rows[m]])) for k in rows[m][0]}
            print(f"{size} | median of {len(seeds)} | {m} | {med['first_s']:.1f} ({med['first_gap']:.2%}) | "
                  f"{med['quick_s']:.1f} ({med['quick_gap']:.2%}) | {med['time_s']:.1f} | {med['objective']:.1f} | "
                  f"{med['bound']:.1f} | {med['gap']:.2%} | "
                  f"{med['gap_best']:.2%} | {med['under_h']:.1f} | {med['over_h']:.1f} | {med['paid_h']:.0f} | "
                  f"{med['pairs']:.0%} | {med['no_pair']:.0f} ({med['no_pair_beside_closed']:.0f}) | —", flush=True)
    if not args.skip_pyworkforce:
        print("\nsingle-skill demand, 100 agents | under-staffed agent-h | over-staffed agent-h | time s")
        for name, under, over, elapsed in single_skill_comparison(100, seeds[0], args.workers):
            print(f"{name} | {under:.1f} | {over:.1f} | {elapsed:.2f}", flush=True)


if __name__ == "__main__":
    main()
