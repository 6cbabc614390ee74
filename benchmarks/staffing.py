"""Benchmark staffing requirements (Erlang C and Erlang A) against pyworkforce's ErlangC loop.

Grid: 50 queues × 672 periods (a week of 15 min) = 33,600 periods, traffic uniform 0.5–500 Erlangs
(seeded), AHT 180 s, target 80 % in 20 s. Baselines measured in the same run:
- pyworkforce ``ErlangC(...).required_positions`` called once per period (its Python loop);
- a straightforward vectorised search: Erlang B recursion over n = 1, 2, … for all periods at once.
Agent counts are compared period by period. Erlang A (patience 120 s) is timed on the same grid.
Times are process CPU seconds by default (``--clock wall`` for wall time): on a shared, loaded
machine CPU time keeps the ratios honest; both sides run single-threaded in this process.

    .venv/bin/python -m benchmarks.staffing                 # full pyworkforce loop (slow: ~10-30 s)
    .venv/bin/python -m benchmarks.staffing --sample 3000   # time pyworkforce on a seeded subsample
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from dispatcher.erlang import required_agents, required_agents_erlang_a

QUEUES, PERIODS, AHT, TARGET, ANSWER_S, PATIENCE_S = 50, 672, 180.0, 0.8, 20.0, 120.0


CLOCK: Callable[[], float] = time.process_time


def timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    """Median time over ``repeat`` runs after one warm-up, and the result."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = CLOCK()
        result = fn()
        times.append(CLOCK() - start)
    return statistics.median(times), result


def pyworkforce_loop(traffic: np.ndarray) -> np.ndarray:
    from pyworkforce.queuing import ErlangC

    out = np.empty(traffic.size, dtype=np.int64)
    for i, a in enumerate(traffic):
        model = ErlangC(transactions=a * 15.0 / (AHT / 60.0), aht=AHT / 60.0, asa=ANSWER_S / 60.0, interval=15)
        out[i] = model.required_positions(TARGET, 1.0)["raw_positions"]
    return out


def naive_vectorised(traffic: np.ndarray) -> np.ndarray:
    """Step n = 1, 2, … for every period at once until each meets the target (no window, no guess)."""
    b = np.ones_like(traffic)
    answer = np.zeros(traffic.size, dtype=np.int64)
    open_ = np.ones(traffic.size, dtype=bool)
    n = 0
    while open_.any():
        n += 1
        b = traffic * b / (n + traffic * b)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = n * b / (n - traffic * (1.0 - b))
            sl = 1.0 - c * np.exp(-(n - traffic) * ANSWER_S / AHT)
        meets = open_ & (n > traffic) & (sl >= TARGET)
        answer[meets] = n
        open_ &= ~meets
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=0, help="time pyworkforce on this many periods only")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    rng = np.random.default_rng(args.seed)
    traffic = rng.uniform(0.5, 500.0, QUEUES * PERIODS)
    rate = traffic / AHT
    aht = np.full(traffic.size, AHT)

    ours_s, ours = timed(lambda: required_agents(rate, aht, target_sl=TARGET, answer_within_s=ANSWER_S),
                         args.repeat)
    erlang_a_s, ours_a = timed(lambda: required_agents_erlang_a(rate, aht, PATIENCE_S, target_sl=TARGET,
                                                                answer_within_s=ANSWER_S), args.repeat)
    naive_s, naive = timed(lambda: naive_vectorised(traffic), max(1, args.repeat // 2))

    if args.sample and args.sample < traffic.size:
        index = np.sort(np.random.default_rng(args.seed + 1).choice(traffic.size, args.sample, replace=False))
    else:
        index = np.arange(traffic.size)
    start = CLOCK()
    theirs = pyworkforce_loop(traffic[index])
    pwf_sample_s = CLOCK() - start
    pwf_s = pwf_sample_s * traffic.size / index.size  # per-period extrapolation when sampled

    same_pwf = int((theirs == ours[index]).sum())
    same_naive = int((naive == ours).sum())
    print(f"staffing benchmark: {QUEUES} queues × {PERIODS} periods = {traffic.size:,} periods, "
          f"0.5–500 Erlangs, AHT {AHT:.0f} s, {TARGET:.0%}/{ANSWER_S:.0f}s, seed {args.seed}, {args.clock} time")
    header = f"{'what':<34}{'ours ms':>10}{'baseline ms':>13}{'ratio':>9}  agent counts"
    print(header)
    print("-" * len(header))
    sampled = f" (timed on {index.size:,}, extrapolated)" if index.size < traffic.size else ""
    print(f"{'Erlang C vs pyworkforce loop':<34}{ours_s * 1e3:>10.1f}{pwf_s * 1e3:>13.1f}{pwf_s / ours_s:>8.0f}×"
          f"  identical {same_pwf:,}/{index.size:,}{sampled}")
    print(f"{'Erlang C vs naive vectorised':<34}{ours_s * 1e3:>10.1f}{naive_s * 1e3:>13.1f}"
          f"{naive_s / ours_s:>8.1f}×  identical {same_naive:,}/{traffic.size:,}")
    print(f"{'Erlang A (patience 120 s) vs C':<34}{erlang_a_s * 1e3:>10.1f}{ours_s * 1e3:>13.1f}"
          f"{erlang_a_s / ours_s:>8.2f}×  A below C in {int((ours_a < ours).sum()):,}, "
          f"above in {int((ours_a > ours).sum())}")
    print(f"agent-periods: Erlang C {int(ours.sum()):,}, Erlang A {int(ours_a.sum()):,} "
          f"({1 - ours_a.sum() / ours.sum():.1%} fewer when callers hang up after 120 s on average)")


if __name__ == "__main__":
    main()
