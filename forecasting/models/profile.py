"""Intraday profile × daily total: the workforce-management classic.

Daily total per weekday is the mean of the last ``weeks`` same weekdays (optionally carried along a
log-linear trend of the weekday-adjusted totals); the intraday share is learned per weekday, or
pooled over weekdays with the same opening hours (40 days of shape instead of 8 — far less noise
when Monday to Friday share a shape), optionally smoothed over neighbouring periods.
"""

from __future__ import annotations

import numpy as np

from forecasting.models.base import Fitted, ModelInput
from forecasting.series import DayArray, FloatArray, weekday_of

TREND_WEEKS = 16
MAX_TREND_PER_DAY = 0.003


def smooth_share(share: FloatArray, open_row: np.ndarray) -> FloatArray:
    """3-tap [¼ ½ ¼] smoothing inside open periods, renormalised to sum to one."""
    padded = np.pad(share, 1, mode="edge")
    smoothed = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    smoothed = np.where(open_row, smoothed, 0.0)
    total = smoothed.sum()
    return smoothed / total if total > 0 else smoothed


def trend_per_day(history: ModelInput) -> float:
    """Slope of log(daily total / weekday mean) over the last weeks, per day, clipped."""
    present = np.flatnonzero(history.present)
    present = present[present >= history.volume.shape[0] - 7 * TREND_WEEKS]
    if len(present) < 21:
        return 0.0
    totals = history.volume[present].sum(axis=1)
    weekdays = history.weekdays[present]
    ratio = np.empty(len(present))
    for wd in np.unique(weekdays):
        mine = weekdays == wd
        mean = totals[mine].mean()
        ratio[mine] = totals[mine] / mean if mean > 0 else 1.0
    keep = ratio > 0
    if keep.sum() < 21:
        return 0.0
    slope = np.polyfit(present[keep].astype(float), np.log(ratio[keep]), 1)[0]
    return float(np.clip(slope, -MAX_TREND_PER_DAY, MAX_TREND_PER_DAY))


def fit_profile(history: ModelInput, *, weeks: int = 8, pooled: bool = True, smooth: bool = False,
                trend: bool = False, name: str = "profile") -> Fitted:
    volume = history.volume
    level: dict[int, float] = {}
    center: dict[int, float] = {}
    rows_of: dict[int, np.ndarray] = {}
    for wd in range(7):
        rows = history.last_rows(wd, weeks)
        if len(rows):
            rows_of[wd] = rows
            level[wd] = float(volume[rows].sum(axis=1).mean())
            center[wd] = float(rows.mean())
    share: dict[int, FloatArray] = {}
    for wd, rows in rows_of.items():
        if pooled:
            group = [w for w in rows_of if np.array_equal(history.open_slots[w], history.open_slots[wd])]
            rows = np.concatenate([rows_of[w] for w in group])
        summed = volume[rows].sum(axis=0)
        total = summed.sum()
        profile = summed / total if total > 0 else summed
        share[wd] = smooth_share(profile, history.open_slots[wd]) if smooth else profile
    slope = trend_per_day(history) if trend else 0.0
    first_day = history.days[0]

    def point(days: DayArray) -> FloatArray:
        out = np.zeros((len(days), volume.shape[1]))
        index = (days - first_day).astype(np.int64)
        for i, wd in enumerate(weekday_of(days)):
            wd = int(wd)
            if wd in share:
                growth = np.exp(slope * (index[i] - center[wd])) if slope else 1.0
                out[i] = level[wd] * growth * share[wd]
        return out

    return Fitted(name, point, history.open_slots)


def fit_profile_weekday(history: ModelInput) -> Fitted:
    return fit_profile(history, pooled=False, name="profile_weekday")


def fit_profile_pooled(history: ModelInput) -> Fitted:
    return fit_profile(history, pooled=True, name="profile_pooled")


def fit_profile_smooth(history: ModelInput) -> Fitted:
    return fit_profile(history, pooled=True, smooth=True, name="profile_smooth")


def fit_profile_trend(history: ModelInput) -> Fitted:
    return fit_profile(history, weeks=8, pooled=True, smooth=True, trend=True, name="profile_trend")
