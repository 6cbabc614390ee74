"""The one model contract: ``fit(history) -> Fitted``; ``fitted.predict(days, levels) -> Prediction``.

A model sees *normal* days only (the calendar has removed holidays, rebounds and special days, and
missing days are NaN rows) and forecasts normal days; the calendar puts the day effects back and
closes closed periods. Intervals are not model-based: `Intervals` is calibrated on backtest
residuals (variance ``alpha·f + beta·f²``, Poisson plus overdispersion, and empirical quantiles of
the standardised residuals); before calibration a model uses Poisson intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forecasting.series import BoolArray, DayArray, FloatArray, weekday_of

NORMAL_Z = {80: 1.2815515655446004, 90: 1.6448536269514722, 95: 1.959963984540054, 99: 2.5758293035489004}
VARIANCE_FLOOR = 0.25


@dataclass(frozen=True, slots=True)
class ModelInput:
    """Normal-day history: ``volume[d, s]`` on ``days`` (NaN rows: missing), open periods per weekday."""

    volume: FloatArray
    days: DayArray
    open_slots: BoolArray

    @property
    def weekdays(self) -> np.ndarray:
        return weekday_of(self.days)

    @property
    def present(self) -> BoolArray:
        return ~np.isnan(self.volume[:, 0])

    def last_rows(self, weekday: int, n: int) -> np.ndarray:
        """Row indices of the last ``n`` present days of a weekday, oldest first."""
        rows = np.flatnonzero((self.weekdays == weekday) & self.present)
        return rows[-n:]


@dataclass(frozen=True, slots=True)
class Intervals:
    """Interval calibration: variance ``alpha·f + beta·f²`` and standardised residual quantiles per level."""

    alpha: float = 1.0
    beta: float = 0.0
    quantiles: Mapping[int, tuple[float, float]] = field(
        default_factory=lambda: {lv: (-z, z) for lv, z in NORMAL_Z.items()}
    )

    def sd(self, point: FloatArray) -> FloatArray:
        return np.sqrt(np.maximum(self.alpha * point + self.beta * point**2, VARIANCE_FLOOR))

    def bands(self, point: FloatArray, level: int) -> tuple[FloatArray, FloatArray]:
        if level not in self.quantiles:
            z = NORMAL_Z.get(level)
            if z is None:
                raise ValueError(f"no interval quantiles for level {level}")
            q_lo, q_hi = -z, z
        else:
            q_lo, q_hi = self.quantiles[level]
        sd = self.sd(point)
        lower = np.minimum(np.maximum(point + q_lo * sd, 0.0), point)
        upper = np.maximum(point + q_hi * sd, point)
        closed = point <= 0
        return np.where(closed, 0.0, lower), np.where(closed, 0.0, upper)

    @staticmethod
    def calibrate(point: FloatArray, actual: FloatArray, levels: Sequence[int] = (80, 95)) -> Intervals:
        """Fit the variance law on squared residuals, then take empirical quantiles of z-scores."""
        keep = (point > 0) & ~np.isnan(actual)
        f, y = point[keep], actual[keep]
        if len(f) < 20:
            return Intervals()
        sq = (y - f) ** 2
        design = np.column_stack([f, f**2])
        coef, *_ = np.linalg.lstsq(design, sq, rcond=None)
        alpha, beta = float(coef[0]), float(coef[1])
        if beta < 0:
            alpha, beta = float(np.sum(sq) / np.sum(f)), 0.0
        if alpha < 0:
            beta = float(np.sum(sq * f**2) / np.sum(f**4))
            alpha = 0.0
        calibrated = Intervals(alpha, beta)
        z = (y - f) / calibrated.sd(f)
        quantiles = {
            lv: (float(np.quantile(z, (1 - lv / 100) / 2)), float(np.quantile(z, 1 - (1 - lv / 100) / 2)))
            for lv in levels
        }
        return Intervals(alpha, beta, quantiles)


@dataclass(frozen=True, slots=True)
class Prediction:
    point: FloatArray
    bands: Mapping[int, tuple[FloatArray, FloatArray]]


@dataclass(frozen=True, slots=True)
class Fitted:
    """A fitted model: ``point(days)`` gives normal-day forecasts (days × periods)."""

    model: str
    point: Callable[[DayArray], FloatArray]
    open_slots: BoolArray

    def predict(self, days: DayArray, levels: Sequence[int] = (80, 95),
                intervals: Intervals | None = None) -> Prediction:
        point = np.maximum(np.nan_to_num(self.point(days)), 0.0) * self.open_slots[weekday_of(days)]
        calib = intervals or Intervals()
        return Prediction(point, {lv: calib.bands(point, lv) for lv in levels})


def by_weekday(history: ModelInput, days: DayArray, per_weekday: Mapping[int, FloatArray]) -> FloatArray:
    """Stack one row per weekday into a (days × periods) forecast; weekdays without history give 0."""
    width = history.volume.shape[1]
    zero = np.zeros(width)
    return np.vstack([per_weekday.get(int(wd), zero) for wd in weekday_of(days)]) if len(days) else (
        np.zeros((0, width)))
