"""Seasonal naive (last same weekday, last comparable day) and the mean of the last N same weekdays.

"Last" means last *present* normal day on the calendar grid: a holiday a week ago is skipped, it
never moves a Tuesday onto a Wednesday.
"""

from __future__ import annotations

import numpy as np

from forecasting.models.base import Fitted, ModelInput, by_weekday
from forecasting.series import DayArray, FloatArray


def fit_mean_weeks(history: ModelInput, weeks: int, name: str) -> Fitted:
    rows = {}
    for wd in range(7):
        picked = history.last_rows(wd, weeks)
        if len(picked):
            rows[wd] = history.volume[picked].mean(axis=0)

    def point(days: DayArray) -> FloatArray:
        return by_weekday(history, days, rows)

    return Fitted(name, point, history.open_slots)


def fit_snaive_week(history: ModelInput) -> Fitted:
    """Same period on the last present same weekday."""
    return fit_mean_weeks(history, 1, "snaive_week")


def fit_mean_week4(history: ModelInput) -> Fitted:
    return fit_mean_weeks(history, 4, "mean_week4")


def fit_mean_week8(history: ModelInput) -> Fitted:
    return fit_mean_weeks(history, 8, "mean_week8")


def fit_snaive_day(history: ModelInput) -> Fitted:
    """Same period on the last present day with the same opening hours (Monday uses Friday)."""
    rows = {}
    present = np.flatnonzero(history.present)
    for wd in range(7):
        same_hours = [w for w in range(7) if np.array_equal(history.open_slots[w], history.open_slots[wd])]
        candidates = present[np.isin(history.weekdays[present], same_hours)]
        if len(candidates):
            rows[wd] = history.volume[candidates[-1]]

    def point(days: DayArray) -> FloatArray:
        return by_weekday(history, days, rows)

    return Fitted("snaive_day", point, history.open_slots)


def fit_ewm_week(history: ModelInput, half_life_weeks: float = 1.0, weeks: int = 8) -> Fitted:
    """Exponentially weighted mean of the last same weekdays (weights halve every week back):
    follows schedule changes almost as fast as seasonal naive, with less noise."""
    rows = {}
    for wd in range(7):
        picked = history.last_rows(wd, weeks)
        if len(picked):
            weights = 0.5 ** (np.arange(len(picked))[::-1] / half_life_weeks)
            rows[wd] = weights @ history.volume[picked] / weights.sum()

    def point(days: DayArray) -> FloatArray:
        return by_weekday(history, days, rows)

    return Fitted("ewm_week", point, history.open_slots)


def fit_median_week3(history: ModelInput) -> Fitted:
    """Median of the last 3 same weekdays: exact on a repeating timetable, yet one odd week
    (a holiday rush, an outage) does not leak into the forecast."""
    rows = {}
    for wd in range(7):
        picked = history.last_rows(wd, 3)
        if len(picked):
            rows[wd] = np.median(history.volume[picked], axis=0)

    def point(days: DayArray) -> FloatArray:
        return by_weekday(history, days, rows)

    return Fitted("median_week3", point, history.open_slots)
