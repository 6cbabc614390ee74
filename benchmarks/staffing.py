"""Benchmark staffing requirements (Erlang C and Erlang A) against pyworkforce's ErlangC loop.

Grid: 50 queues × 672 periods (a week of 15 min) = 33,600 periods, traffic uniform 0.5–500 Erlangs
(seeded), AHT 180 s, target 80 % in 20 s. Baselines measured in the same run:
- pyworkforce ``ErlangC(...).required_positions`` called once per period (its Python loop);
- a straightforward vectorised search: Erlang B recursion over n = 1, 2, … for all periods at once.
Agent counts are compared period by period. Erlang A (patience 120 s) is timed on the same grid, and
so is the Erlang A search it replaced (``required_agents_erlang_a_reference``, kept here verbatim): the
counts must be identical period by period.
Times are process CPU seconds by default (``--clock wall`` for wall time): on a shared, loaded
machine CPU time keeps the ratios honest; both sides run single-threaded in this process.
Like for like: every import happens before any timing; every side gets one untimed warm-up call (on
the first 200 periods) and then the same ``--repeat`` timed runs, alternating with the other sides so
load changes hit all of them alike; the median is reported.

    .venv/bin/python -m benchmarks.staffing --repeat 3      # full pyworkforce loop (slow: ~15-30 s a run)
    .venv/bin/python -m benchmarks.staffing --sample 3000   # time pyworkforce on a seeded subsample
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from pyworkforce.queuing import ErlangC

from dispatcher.erlang import (
    ArrayLike,
    FloatArray,
    IntArray,
    _check_occupancy,
    _check_target,
    _erlang_a_core,
    _erlang_a_guess,
    _f,
    _occupancy_floor,
    _patience_array,
    erlang_b,
    offered_traffic,
    required_agents,
    required_agents_erlang_a,
)
from dispatcher.errors import Infeasible, InvalidInput

QUEUES, PERIODS, AHT, TARGET, ANSWER_S, PATIENCE_S = 50, 672, 180.0, 0.8, 20.0, 120.0


CLOCK: Callable[[], float] = time.process_time


Side = Callable[[np.ndarray], np.ndarray]
WARM_UP_PERIODS = 200


def timed_together(sides: dict[str, tuple[Side, np.ndarray]], repeat: int) -> dict[str, tuple[float, np.ndarray]]:
    """Each side on its traffic: one untimed warm-up on the first periods, then ``repeat`` timed runs,
    alternating between sides; the median time of each and its last result."""
    for fn, traffic in sides.values():
        fn(traffic[:WARM_UP_PERIODS])
    times: dict[str, list[float]] = {name: [] for name in sides}
    results: dict[str, np.ndarray] = {}
    for _ in range(repeat):
        for name, (fn, traffic) in sides.items():
            start = CLOCK()
            results[name] = fn(traffic)
            times[name].append(CLOCK() - start)
    return {name: (statistics.median(times[name]), results[name]) for name in sides}


def pyworkforce_loop(traffic: np.ndarray) -> np.ndarray:
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


def required_agents_erlang_a_reference(
    rate_per_s: ArrayLike,
    aht_s: ArrayLike,
    patience_s: ArrayLike,
    *,
    target_sl: float,
    answer_within_s: float,
    max_occupancy: float = 1.0,
    max_asa_s: float | None = None,
    max_abandon: float | None = None,
) -> IntArray:
    """The Erlang A search as it was before the single-walk rewrite, kept to check identical counts.

    Certifies pairs (c-1, c) with two full Erlang A evaluations per round (incomplete gamma twice each).

    Starts from a square-root staffing guess whose coefficient is solved exactly on a small table
    (``_erlang_a_guess``) and certifies it by evaluating the neighbouring pair (c-1, c); periods the
    guess misses take Newton steps on the worst target's log-ratio. Most periods need one pair.
    """
    _check_target(target_sl, answer_within_s)
    _check_occupancy(max_occupancy)
    if max_asa_s is not None and not (np.isfinite(max_asa_s) and max_asa_s > 0):
        raise InvalidInput(f"max ASA must be > 0 seconds, got {max_asa_s!r}", field="max_asa_s")
    if max_abandon is not None and not (np.isfinite(max_abandon) and 0 < max_abandon <= 1):
        raise InvalidInput(f"max abandon rate must be in (0, 1], got {max_abandon!r}", field="max_abandon")
    a_all = offered_traffic(rate_per_s, aht_s)
    answer = np.zeros(a_all.shape, dtype=np.float64)
    live = np.flatnonzero(a_all > 0)
    if not live.size:
        return answer.astype(np.int64)
    a = a_all[live]
    aht = np.broadcast_to(_f(aht_s), a_all.shape)[live]
    patience = _patience_array(patience_s, a_all.shape)[live]
    miss = np.log1p(-target_sl) if target_sl < 1.0 else np.log(1e-300)

    def probe(n: FloatArray, idx: IntArray, b: FloatArray | None = None
              ) -> tuple[FloatArray, npt.NDArray[np.bool_], FloatArray]:
        """Worst target's log-ratio (<= 0 when met), whether all are met, and B(n)."""
        aa = a[idx]
        b = erlang_b(n, aa) if b is None else b
        sl, p_ab, _, occ = _erlang_a_core(n, aa, aht[idx], patience[idx], answer_within_s, b)
        ok = (sl >= target_sl) & (occ <= max_occupancy * (1.0 + 1e-12))
        with np.errstate(divide="ignore"):
            gap = np.maximum(np.log(np.maximum(1.0 - sl, 1e-300)) - miss, np.log(occ / max_occupancy))
            if max_asa_s is not None:
                ok &= p_ab * patience[idx] <= max_asa_s
                gap = np.maximum(gap, np.log(p_ab * patience[idx] / max_asa_s))
            if max_abandon is not None:
                ok &= p_ab <= max_abandon
                gap = np.maximum(gap, np.log(p_ab / max_abandon))
        return gap, ok, b

    limit = np.ceil(a + 200.0 * np.sqrt(a) + 1000.0)
    hi = limit + 1.0  # not yet known to meet the targets
    lo = np.zeros_like(hi)  # no agents: nobody is answered, so 0 always fails
    guess = _erlang_a_guess(a, aht, patience, target_sl, answer_within_s)
    if max_occupancy < 1.0:  # where occupancy binds, staffing is ample and few callers hang up
        guess = np.maximum(guess, _occupancy_floor(a, max_occupancy))
    candidate = np.ceil(guess)
    todo = np.arange(a.size)
    rounds = 0
    while todo.size:
        rounds += 1
        low, h = lo[todo], hi[todo]
        upper = np.clip(candidate[todo], low + 1.0, np.minimum(h, limit[todo]))
        lower = upper - 1.0
        gap_u, ok_u, b_u = probe(upper, todo)
        gap_l = np.full(todo.size, np.nan)
        ok_l = np.zeros(todo.size, dtype=bool)
        inside = np.flatnonzero(lower > low)
        if inside.size:
            n_in, b_in = upper[inside], b_u[inside]
            b_below = n_in * b_in / (a[todo[inside]] * (1.0 - b_in))  # B(n-1) from B(n)
            gap_l[inside], ok_l[inside], _ = probe(lower[inside], todo[inside], b_below)
        new_hi = np.where(ok_l, lower, np.where(ok_u, upper, h))
        new_lo = np.where(ok_l, low, np.where(ok_u, lower, upper))
        hi[todo], lo[todo] = new_hi, new_lo
        stuck = new_lo >= limit[todo]
        if stuck.any():
            index = int(live[todo[np.flatnonzero(stuck)[0]]])
            raise Infeasible(
                f"period {index}: no agent count up to {int(limit[todo][stuck][0])} meets the targets for "
                f"{a_all[index]:.6g} Erlangs", field="target_sl")
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = gap_u - gap_l  # per agent
            root = lower - gap_l / slope
        newton = np.isfinite(root) & (slope < 0) & (rounds % 4 != 0)
        middle = np.floor(0.5 * (new_lo + np.minimum(new_hi, limit[todo] + 1.0))) + 1.0
        candidate[todo] = np.where(newton, np.ceil(root), middle)
        todo = todo[hi[todo] - lo[todo] > 1]
    answer[live] = hi
    return answer.astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=0, help="time pyworkforce on this many periods only")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side (same for all)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    rng = np.random.default_rng(args.seed)
    traffic = rng.uniform(0.5, 500.0, QUEUES * PERIODS)

    if args.sample and args.sample < traffic.size:
        index = np.sort(np.random.default_rng(args.seed + 1).choice(traffic.size, args.sample, replace=False))
    else:
        index = np.arange(traffic.size)
    measured = timed_together({
        "erlang_c": (lambda t: required_agents(t / AHT, AHT, target_sl=TARGET, answer_within_s=ANSWER_S), traffic),
        "erlang_a": (lambda t: required_agents_erlang_a(t / AHT, AHT, PATIENCE_S, target_sl=TARGET,
                                                        answer_within_s=ANSWER_S), traffic),
        "reference_a": (lambda t: required_agents_erlang_a_reference(t / AHT, AHT, PATIENCE_S, target_sl=TARGET,
                                                                     answer_within_s=ANSWER_S), traffic),
        "naive": (naive_vectorised, traffic),
        "pyworkforce": (pyworkforce_loop, traffic[index]),
    }, args.repeat)
    ours_s, ours = measured["erlang_c"]
    erlang_a_s, ours_a = measured["erlang_a"]
    reference_a_s, reference_a = measured["reference_a"]
    naive_s, naive = measured["naive"]
    pwf_sample_s, theirs = measured["pyworkforce"]
    pwf_s = pwf_sample_s * traffic.size / index.size  # per-period extrapolation when sampled

    same_pwf = int((theirs == ours[index]).sum())
    same_naive = int((naive == ours).sum())
    print(f"staffing benchmark: {QUEUES} queues × {PERIODS} periods = {traffic.size:,} periods, "
          f"0.5–500 Erlangs, AHT {AHT:.0f} s, {TARGET:.0%}/{ANSWER_S:.0f}s, seed {args.seed}, {args.clock} time, "
          f"median of {args.repeat} alternating runs each after a warm-up")
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
    print(f"{'Erlang A before (pair search) vs C':<34}{reference_a_s * 1e3:>10.1f}{ours_s * 1e3:>13.1f}"
          f"{reference_a_s / ours_s:>8.2f}×  now identical {int((reference_a == ours_a).sum()):,}/{traffic.size:,}, "
          f"{reference_a_s / erlang_a_s:.1f}× faster")
    print(f"agent-periods: Erlang C {int(ours.sum()):,}, Erlang A {int(ours_a.sum()):,} "
          f"({1 - ours_a.sum() / ours.sum():.1%} fewer when callers hang up after 120 s on average)")


if __name__ == "__main__":
    main()
