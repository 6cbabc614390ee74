"""Recent days of the same day type, level-adjusted per weekday.

Weekdays with the same opening hours and a similar intraday shape form a day type (on contact
data Monday-Friday; on airline schedules too). The forecast for a weekday is the mean of the last
``days`` present days of its type, each divided by its weekday's level and multiplied by the
target weekday's level. It follows schedule changes within days, where same-weekday models need
weeks — the right choice when recency matters more than noise (timetables), wrong on noisy data.
"""

from __future__ import annotations

import numpy as np

from forecasting.models.base import Fitted, ModelInput, by_weekday
from forecasting.series import DayArray, FloatArray

LEVEL_WEEKS = 4
SHAPE_WEEKS = 8
SAME_SHAPE_L1 = 0.25
"""Weekdays whose mean intraday shares differ by less than this (L1) share a day type."""


def day_types(history: ModelInput) -> np.ndarray:
    """Day type per weekday (-1: no history)."""
    shares: dict[int, FloatArray] = {}
    for wd in range(7):
        rows = history.last_rows(wd, SHAPE_WEEKS)
        total = history.volume[rows].sum() if len(rows) else 0.0
        if total > 0:
            shares[wd] = history.volume[rows].sum(axis=0) / total
    types = np.full(7, -1)
    for wd in sorted(shares):
        similar = [other for other in sorted(shares) if other < wd
                   and np.array_equal(history.open_slots[wd], history.open_slots[other])
                   and np.abs(shares[wd] - shares[other]).sum() < SAME_SHAPE_L1]
        types[wd] = types[similar[0]] if similar else wd
    return types


def fit_recent_type(history: ModelInput, days: int = 3, name: str = "recent_type3") -> Fitted:
    types = day_types(history)
    level = np.zeros(7)
    for wd in range(7):
        rows = history.last_rows(wd, LEVEL_WEEKS)
        if len(rows):
            level[wd] = history.volume[rows].sum(axis=1).mean()
    weekdays = history.weekdays
    present = np.flatnonzero(history.present)
    rows_out: dict[int, FloatArray] = {}
    for wd in range(7):
        if types[wd] < 0 or level[wd] <= 0:
            continue
        same = present[np.isin(weekdays[present], np.flatnonzero(types == types[wd]))]
        same = same[level[weekdays[same]] > 0][-days:]
        if len(same):
            scaled = history.volume[same] / level[weekdays[same]][:, None]
            rows_out[wd] = scaled.mean(axis=0) * level[wd]

    def point(target: DayArray) -> FloatArray:
        return by_weekday(history, target, rows_out)

    return Fitted(name, point, history.open_slots)


def fit_recent_type3(history: ModelInput) -> Fitted:
    return fit_recent_type(history, 3, "recent_type3")


def fit_recent_type5(history: ModelInput) -> Fitted:
    return fit_recent_type(history, 5, "recent_type5")
