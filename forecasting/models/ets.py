"""Holt-Winters / ETS and MSTL on the open periods only (statsmodels).

The open periods of the last weeks are laid end to end (missing days filled with the mean of the
last four same weekdays) so nights and Sundays do not distort the seasonal fit; the seasonal period
is the number of open periods in a week. Both carry a level: on weekly-seasonal contact data they
tend to lose to a mean of same weekdays, which the backtest is there to find out.
"""

from __future__ import annotations

import warnings

import numpy as np

from forecasting.models.base import Fitted, ModelInput
from forecasting.models.naive import fit_mean_week4
from forecasting.series import DayArray, FloatArray, weekday_of

WEEKS = 8


def _open_series(history: ModelInput, weeks: int) -> tuple[FloatArray, int]:
    n_days = history.volume.shape[0]
    start = max(0, n_days - 7 * weeks)
    days = history.days[start:]
    filler = fit_mean_week4(history).point(days)
    volume = np.where(np.isnan(history.volume[start:]), filler, history.volume[start:])
    mask = history.open_slots[weekday_of(days)]
    series: FloatArray = np.asarray(volume[mask], dtype=np.float64)
    return series, int(history.open_slots.sum())


def _place(history: ModelInput, days: DayArray, path: FloatArray) -> FloatArray:
    """Put a forecast path over consecutive open periods after the history onto the target days."""
    last = history.days[-1]
    all_days = last + 1 + np.arange(int((days[-1] - last).astype(np.int64)))
    mask = history.open_slots[weekday_of(all_days)]
    grid = np.zeros(mask.shape)
    grid[mask] = path[: int(mask.sum())]
    placed: FloatArray = grid[(days - last - 1).astype(np.int64)]
    return placed


def _steps(history: ModelInput, days: DayArray) -> int:
    last = history.days[-1]
    all_days = last + 1 + np.arange(int((days[-1] - last).astype(np.int64)))
    return int(history.open_slots[weekday_of(all_days)].sum())


def fit_ets(history: ModelInput, weeks: int = WEEKS) -> Fitted:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y, period = _open_series(history, weeks)
    result = None
    if period >= 2 and len(y) >= 2 * period:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = ExponentialSmoothing(y, trend=None, seasonal="add", seasonal_periods=period,
                                          initialization_method="heuristic").fit()

    def point(days: DayArray) -> FloatArray:
        if result is None or not len(days):
            return fit_mean_week4(history).point(days)
        return _place(history, days, np.asarray(result.forecast(_steps(history, days))))

    return Fitted("ets", point, history.open_slots)


def fit_mstl(history: ModelInput, weeks: int = WEEKS) -> Fitted:
    """MSTL (daily + weekly seasonality on open periods) with simple exponential smoothing (ETS A,N,N)
    on trend + remainder: a level, no extrapolated slope (a damped trend drifted 40% in backtests)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.seasonal import MSTL

    y, period = _open_series(history, weeks)
    per_day = np.bincount(history.open_slots.sum(axis=1))[1:]
    daily = int(np.argmax(per_day)) + 1 if len(per_day) else 0
    fitted = None
    if 2 <= daily <= period and len(y) >= 2 * period:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Daily seasonality only when every open day has the same number of open periods;
            # otherwise it drifts in phase against the week (60 vs 332) and biases the forecast.
            periods = (daily, period) if period % daily == 0 and daily < period else (period,)
            decomposition = MSTL(y, periods=periods, iterate=1).fit()
            seasonal = np.asarray(decomposition.seasonal).reshape(len(y), -1).sum(axis=1)
            rest = y - seasonal
            level = ExponentialSmoothing(rest, trend=None, initialization_method="heuristic").fit()
            fitted = (seasonal[-period:], level)

    def point(days: DayArray) -> FloatArray:
        if fitted is None or not len(days):
            return fit_mean_week4(history).point(days)
        season, level = fitted
        steps = _steps(history, days)
        path = np.asarray(level.forecast(steps)) + np.resize(season, steps)
        return _place(history, days, path)

    return Fitted("mstl", point, history.open_slots)
