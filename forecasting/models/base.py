"""The one model contract: ``fit(history) -> Fitted``; ``fitted.predict(days, levels) -> Prediction``.

A model sees *normal* days only (the calendar has removed holidays, rebounds and special days, and
missing days are NaN rows) and forecasts normal days; the calendar puts the day effects back and
closes closed periods. Intervals are not model-based: `forecasting.intervals.Intervals` is
calibrated on backtest residuals; before calibration a model uses Poisson intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from forecasting.intervals import Intervals
from forecasting.series import BoolArray, DayArray, FloatArray, weekday_of


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
