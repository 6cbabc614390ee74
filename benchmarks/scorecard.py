"""Scorecards from an event log: vectorised pandas (ours) vs a per-event Python loop (the spreadsheet way).

Both compute the same agent KPIs (handled, ASA, AHT, SLA, FCR with reopen window, satisfaction) from
the same synthetic log; the table prints both times, the ratio and the largest metric disagreement.
Usage: .venv/bin/python -m benchmarks.scorecard [--sizes 10000 100000 300000] [--seed 3]
"""

from __future__ import annotations

import argparse
import math
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
    """One pass over the events in time order with per-task dicts, then per-agent sums."""
    task: dict[str, dict[str, Any]] = {}
    end = events["at"].max()
    for row in events.to_dict("records"):
        kind, tid, at = row["event"], row["task_id"], row["at"]
        if kind == "created":
            task[tid] = {"created": at, "due": at + pd.Timedelta(seconds=RESPONSE_S[row["quadrant"]])}
            continue
        t = task[tid]
        if kind == "accepted" and "accepted" not in t:
            t["accepted"], t["responder"] = at, row["agent_id"]
        elif kind == "completed":
            t.setdefault("handles", []).append((row["agent_id"], row["handle_s"]))
            if "done_at" not in t:
                t["done_at"], t["completer"] = at, row["agent_id"]
                t["fcr"] = row["first_contact_resolved"] != "false"
            t["last_completer"] = row["agent_id"]
        elif kind == "reopened" and "done_at" in t and t["done_at"] < at <= t["done_at"] + pd.Timedelta(
                seconds=REOPEN_WINDOW_S):
            t["fcr"] = False
        elif kind == "satisfaction":
            t["score"] = row["satisfaction"]
        elif kind == "abandoned":
            t["abandoned"] = True
    acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for t in task.values():
        if "accepted" in t:
            a = acc[t["responder"]]
            a["waits"] += (t["accepted"] - t["created"]).total_seconds()
            a["answered"] += 1
            a["sla_met"] += t["accepted"] <= t["due"]
            a["sla_n"] += 1
        for agent, handle in t.get("handles", ()):
            acc[agent]["handled"] += 1
            acc[agent]["handle_sum"] += handle
        if "done_at" in t:
            acc[t["completer"]]["fcr_sum"] += t["fcr"]
            acc[t["completer"]]["fcr_n"] += 1
        if "score" in t and "last_completer" in t:
            acc[t["last_completer"]]["score_sum"] += t["score"]
            acc[t["last_completer"]]["score_n"] += 1
    del end
    rows = {}
    for agent, a in acc.items():
        rows[agent] = {
            "handled": a["handled"], "asa_s": a["waits"] / a["answered"] if a["answered"] else math.nan,
            "aht_s": a["handle_sum"] / a["handled"] if a["handled"] else math.nan,
            "sla": a["sla_met"] / a["sla_n"] if a["sla_n"] else math.nan,
            "fcr": a["fcr_sum"] / a["fcr_n"] if a["fcr_n"] else math.nan,
            "satisfaction_mean": a["score_sum"] / a["score_n"] if a["score_n"] else math.nan,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(METRICS))
    return frame.sort_index()


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    print(f"{'tasks':>9} {'events':>10} {'ours s':>9} {'baseline s':>11} {'ratio':>7} {'max rel diff':>13}")
    for size in args.sizes:
        events = synthetic_events(size, seed=args.seed)
        t_ours, a = timed(ours, events)
        t_base, b = timed(baseline, events)
        b = b.reindex(a.index)
        rel = ((a - b).abs() / b.abs().where(b.abs() > 0, 1.0)).to_numpy(dtype=float)
        gap = float(np.nanmax(rel)) if np.isfinite(rel).any() else 0.0
        print(f"{size:>9,} {len(events):>10,} {t_ours:>9.2f} {t_base:>11.2f} {t_base / t_ours:>6.1f}x {gap:>13.2e}")


if __name__ == "__main__":
    main()
