"""Scorecards from an event log: vectorised pandas (ours) vs an idiomatic per-event Python loop.

Both compute the same agent KPIs (handled, ASA, AHT, SLA, FCR with reopen window, satisfaction) from
the same synthetic DataFrame; the table prints both times, the ratio and the largest metric disagreement.
Both timed regions start from that DataFrame: ours parses and validates it into an EventLog, the loop
turns its columns into Python lists once and keeps per-task state in plain dicts (floats, no pandas
objects inside the loop). Usage: .venv/bin/python -m benchmarks.scorecard [--sizes 10000 100000 300000]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from dispatcher.scorecard import event_log_from_frame, scorecards

ORIGIN = pd.Timestamp(datetime(2026, 1, 5, tzinfo=UTC))
RESPONSE_S = {"Q1": 600.0, "Q2": 1800.0, "Q3": 600.0, "Q4": 1800.0}
REOPEN_WINDOW_S = 7 * 86400.0
METRICS = ("handled", "asa_s", "aht_s", "sla", "fcr", "satisfaction_mean")


def synthetic_events(tasks: int, *, agents: int = 200, seed: int = 3) -> pd.DataFrame:
    """Created, accepted, completed per task; 3% abandoned, 30% rated, 5% reopened. Tz-aware ``at``."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("t", np.arange(tasks).astype(str)).astype(object)
    arrival = np.sort(rng.uniform(0, 28 * 86400, tasks))
    wait = rng.exponential(400, tasks)
    handle = rng.lognormal(5.5, 0.5, tasks)
    queue = rng.choice(np.array(["billing", "tech", "sales"], dtype=object), tasks)
    quadrant = rng.choice(np.array(["Q1", "Q2", "Q3", "Q4"], dtype=object), tasks)
    agent = np.char.add("a", rng.integers(0, agents, tasks).astype(str)).astype(object)
    abandoned = rng.random(tasks) < 0.03
    served = ~abandoned
    fcr = np.where(rng.random(tasks) < 0.8, "true", "false").astype(object)
    rated = served & (rng.random(tasks) < 0.3)
    reopened = served & (rng.random(tasks) < 0.05)

    def at(seconds: np.ndarray) -> pd.DatetimeIndex:
        return ORIGIN + pd.to_timedelta(seconds, unit="s")

    s, done = served, arrival + wait + handle
    parts = [
        pd.DataFrame({"task_id": ids, "event": "created", "at": at(arrival), "queue": queue, "quadrant": quadrant}),
        pd.DataFrame({"task_id": ids[s], "event": "accepted", "at": at((arrival + wait)[s]), "agent_id": agent[s]}),
        pd.DataFrame({"task_id": ids[s], "event": "completed", "at": at(done[s]), "agent_id": agent[s],
                      "handle_s": handle[s], "first_contact_resolved": fcr[s]}),
        pd.DataFrame({"task_id": ids[abandoned], "event": "abandoned", "at": at((arrival + wait)[abandoned])}),
        pd.DataFrame({"task_id": ids[rated], "event": "satisfaction", "at": at(done[rated] + 3600),
                      "satisfaction": rng.integers(1, 6, int(rated.sum())).astype(float)}),
        pd.DataFrame({"task_id": ids[reopened], "event": "reopened",
                      "at": at(done[reopened] + rng.uniform(0, 14 * 86400, int(reopened.sum())))}),
    ]
    return pd.concat(parts, ignore_index=True).sort_values("at", kind="stable").reset_index(drop=True)


def ours(events: pd.DataFrame) -> pd.DataFrame:
    log = event_log_from_frame(events)
    frame = scorecards(log, level="agent").to_frame().set_index("agent")
    return frame[list(METRICS)]


def baseline(events: pd.DataFrame) -> pd.DataFrame:
    """The idiomatic per-event loop: columns to Python lists once (times as epoch seconds), one pass over
    the events in time order, keeping a small state per task in dicts, then per-agent sums."""
    at_s = (events["at"] - events["at"].min()).dt.total_seconds().tolist()

    def column(name: str) -> list[Any]:
        return events[name].tolist()

    rows = zip(column("event"), column("task_id"), at_s, column("quadrant"), column("agent_id"),
               column("handle_s"), column("first_contact_resolved"), column("satisfaction"), strict=True)
    created: dict[str, float] = {}
    due: dict[str, float] = {}
    accepted: dict[str, tuple[float, str]] = {}
    handles: dict[str, list[tuple[str, float]]] = defaultdict(list)
    done: dict[str, tuple[float, str]] = {}
    fcr: dict[str, bool] = {}
    last_completer: dict[str, str] = {}
    score: dict[str, float] = {}
    for kind, tid, at, quadrant, agent, handle, resolved, satisfaction in rows:
        if kind == "created":
            created[tid], due[tid] = at, at + RESPONSE_S[quadrant]
        elif kind == "accepted":
            accepted.setdefault(tid, (at, agent))
        elif kind == "completed":
            handles[tid].append((agent, handle))
            if tid not in done:
                done[tid] = (at, agent)
                fcr[tid] = resolved != "false"
            last_completer[tid] = agent
        elif kind == "reopened":
            if tid in done and done[tid][0] < at <= done[tid][0] + REOPEN_WINDOW_S:
                fcr[tid] = False
        elif kind == "satisfaction":
            score[tid] = satisfaction
    acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for tid, (at, agent) in accepted.items():
        a = acc[agent]
        a["waits"] += at - created[tid]
        a["answered"] += 1
        a["sla_met"] += at <= due[tid]
    for pairs in handles.values():
        for agent, handle in pairs:
            acc[agent]["handled"] += 1
            acc[agent]["handle_sum"] += handle
    for tid, (_, agent) in done.items():
        acc[agent]["fcr_sum"] += fcr[tid]
        acc[agent]["fcr_n"] += 1
    for tid, value in score.items():
        if tid in last_completer:
            acc[last_completer[tid]]["score_sum"] += value
            acc[last_completer[tid]]["score_n"] += 1
    table = {}
    for agent, a in acc.items():
        table[agent] = {
            "handled": a["handled"], "asa_s": a["waits"] / a["answered"] if a["answered"] else math.nan,
            "aht_s": a["handle_sum"] / a["handled"] if a["handled"] else math.nan,
            "sla": a["sla_met"] / a["answered"] if a["answered"] else math.nan,
            "fcr": a["fcr_sum"] / a["fcr_n"] if a["fcr_n"] else math.nan,
            "satisfaction_mean": a["score_sum"] / a["score_n"] if a["score_n"] else math.nan,
        }
    frame = pd.DataFrame.from_dict(table, orient="index").reindex(columns=list(METRICS))
    return frame.sort_index()


def timed_together(sides: dict[str, Any], events: pd.DataFrame, warm_up: pd.DataFrame,
                   repeats: int) -> dict[str, tuple[float, Any]]:
    """Each side: one untimed warm-up on a small log, then ``repeats`` timed runs alternating between
    sides; the median time of each and its last result."""
    for fn in sides.values():
        fn(warm_up)
    times: dict[str, list[float]] = {name: [] for name in sides}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in sides.items():
            start = time.perf_counter()
            results[name] = fn(events)
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), results[name]) for name in sides}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (same for both)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    warm_up = synthetic_events(1_000, seed=args.seed + 1)
    print(f"median of {args.repeats} alternating runs per side, each side warmed up first; wall time")
    print(f"{'tasks':>9} {'events':>10} {'ours s':>9} {'baseline s':>11} {'ratio':>7} {'max rel diff':>13}")
    for size in args.sizes:
        events = synthetic_events(size, seed=args.seed)
        measured = timed_together({"ours": ours, "baseline": baseline}, events, warm_up, args.repeats)
        (t_ours, a), (t_base, b) = measured["ours"], measured["baseline"]
        b = b.reindex(a.index)
        rel = ((a - b).abs() / b.abs().where(b.abs() > 0, 1.0)).to_numpy(dtype=float)
        gap = float(np.nanmax(rel)) if np.isfinite(rel).any() else 0.0
        print(f"{size:>9,} {len(events):>10,} {t_ours:>9.2f} {t_base:>11.2f} {t_base / t_ours:>6.1f}x {gap:>13.2e}",
              flush=True)


if __name__ == "__main__":
    main()
