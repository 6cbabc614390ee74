"""Poisson GLM: log rate = period-of-day (per opening-hours group) + weekday + linear trend.

Fitted with statsmodels on the last ``weeks`` of normal days (holidays and rebounds are handled by
the calendar, so no holiday terms are needed here). Sharing the period-of-day shape across weekdays
with the same opening hours gives a smooth profile from many days, the trend term follows growth.
"""

from __future__ import annotations

import numpy as np

from forecasting.models.base import Fitted, ModelInput
from forecasting.series import DayArray, FloatArray, weekday_of

WEEKS = 12
RIDGE = 1e-6


def poisson_irls(x: FloatArray, y: FloatArray, *, iterations: int = 25, tol: float = 1e-8) -> FloatArray:
    """Poisson regression (log link) by Newton/IRLS on the normal equations with a tiny ridge, so
    all-zero periods stay finite. Same estimate as ``statsmodels.GLM(..., Poisson())`` (see tests),
    an order of magnitude faster on these sparse dummy designs."""
    mu0 = max(float(y.mean()), 1e-3)
    coef = np.linalg.lstsq(x, np.log(np.maximum(y, 0.5) / mu0), rcond=None)[0]
    coef[np.isnan(coef)] = 0.0
    for _ in range(iterations):
        eta = np.clip(x @ coef, -30, 30)
        mu = np.exp(eta)
        gradient = x.T @ (y - mu)
        hessian = (x.T * mu) @ x + RIDGE * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        coef = coef + step
        if float(np.max(np.abs(step))) < tol:
            break
    return np.asarray(coef, dtype=np.float64)


def _groups(open_slots: np.ndarray) -> np.ndarray:
    """Opening-hours group per weekday (weekdays with identical open periods share one)."""
    group = np.full(7, -1)
    next_id = 0
    for wd in range(7):
        if not open_slots[wd].any():
            continue
        for prev in range(wd):
            if group[prev] >= 0 and np.array_equal(open_slots[prev], open_slots[wd]):
                group[wd] = group[prev]
                break
        else:
            group[wd] = next_id
            next_id += 1
    return group


def fit_glm(history: ModelInput, weeks: int = WEEKS) -> Fitted:
    open_slots = history.open_slots
    group = _groups(open_slots)
    # Column layout: one column per (group, open period), then weekday offsets, then trend.
    slot_col = -np.ones((7, open_slots.shape[1]), dtype=np.int64)
    n_col = 0
    first_of_group: dict[int, int] = {}
    for wd in range(7):
        g = int(group[wd])
        if g < 0:
            continue
        if g in first_of_group:
            slot_col[wd] = slot_col[first_of_group[g]]
            continue
        first_of_group[g] = wd
        idx = np.flatnonzero(open_slots[wd])
        slot_col[wd, idx] = np.arange(n_col, n_col + len(idx))
        n_col += len(idx)
    weekday_col = {wd: n_col + i for i, wd in enumerate(w for w in range(7) if group[w] >= 0
                                                          and first_of_group[int(group[w])] != w)}
    n_col += len(weekday_col)
    trend_col = n_col
    n_col += 1
    n_days = history.volume.shape[0]
    rows = np.flatnonzero(history.present)
    rows = rows[rows >= n_days - 7 * weeks]
    scale = 365.0

    def design(day_index: np.ndarray, weekdays: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        blocks, cells_d, cells_s = [], [], []
        for d, wd in zip(day_index, weekdays, strict=True):
            idx = np.flatnonzero(slot_col[wd] >= 0)
            block = np.zeros((len(idx), n_col))
            block[np.arange(len(idx)), slot_col[wd, idx]] = 1.0
            if int(wd) in weekday_col:
                block[:, weekday_col[int(wd)]] = 1.0
            block[:, trend_col] = (d - n_days) / scale
            blocks.append(block)
            cells_d.append(np.full(len(idx), d))
            cells_s.append(idx)
        if not blocks:
            return np.zeros((0, n_col)), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.vstack(blocks), np.concatenate(cells_d), np.concatenate(cells_s)

    weekdays = history.weekdays
    x, cd, cs = design(rows, weekdays[rows])
    y = history.volume[cd, cs]
    coef = poisson_irls(x, y) if len(y) > n_col and y.sum() > 0 else np.zeros(n_col)
    fitted_ok = bool(np.any(coef))
    first_day = history.days[0]

    def point(days: DayArray) -> FloatArray:
        out = np.zeros((len(days), open_slots.shape[1]))
        if not fitted_ok or not len(days):
            return out
        index = (days - first_day).astype(np.int64)
        xp, pd_, ps = design(index, weekday_of(days))
        pos = np.searchsorted(index, pd_) if np.all(np.diff(index) > 0) else np.array(
            [int(np.flatnonzero(index == d)[0]) for d in pd_])
        out[pos, ps] = np.exp(np.clip(xp @ coef, -30, 30))
        return out

    return Fitted("glm", point, open_slots)
