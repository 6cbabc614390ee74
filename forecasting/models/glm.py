"""Poisson GLM: log rate = period-of-day (per opening-hours group) + weekday + linear trend.

Fitted on the last ``weeks`` of normal days (holidays and rebounds are handled by the calendar, so
no holiday terms are needed here). Sharing the period-of-day shape across weekdays with the same
opening hours gives a smooth profile from many days; the trend term follows growth.

The maximum-likelihood fit exploits the structure instead of a dense design matrix: given the
weekday and trend terms, each period-of-day coefficient has a closed form (observed over expected);
given those, the few weekday/trend terms take a Newton step. Same estimate as statsmodels'
``GLM(Poisson)`` on the equivalent dummy design (a test checks it), at O(cells) per iteration.
"""

from __future__ import annotations

import numpy as np

from forecasting.models.base import Fitted, ModelInput
from forecasting.series import BoolArray, DayArray, FloatArray, weekday_of

WEEKS = 12
LOG_FLOOR = -30.0
TREND_SCALE_DAYS = 365.0


def opening_groups(open_slots: BoolArray) -> np.ndarray:
    """Opening-hours group per weekday (weekdays with identical open periods share one; -1 closed)."""
    group = np.full(7, -1)
    next_id = 0
    for wd in range(7):
        if not open_slots[wd].any():
            continue
        same = [prev for prev in range(wd) if group[prev] >= 0 and np.array_equal(open_slots[prev], open_slots[wd])]
        if same:
            group[wd] = group[same[0]]
        else:
            group[wd] = next_id
            next_id += 1
    return group


def poisson_day_slot_fit(
    counts: FloatArray, open_cells: BoolArray, day_group: np.ndarray, day_features: FloatArray,
    *, n_groups: int | None = None, iterations: int = 100, tol: float = 1e-9,
) -> tuple[FloatArray, FloatArray]:
    """MLE of ``log mu[d, s] = slot[group[d], s] + day_features[d] @ theta``.

    counts, open_cells: (days, periods); day_group: (days,) ints; day_features: (days, k).
    Returns slot (groups, periods) — LOG_FLOOR where nothing was ever seen — and theta (k,).
    """
    if n_groups is None:
        n_groups = int(day_group.max()) + 1 if len(day_group) else 0
    y = np.where(open_cells, counts, 0.0)
    onehot = np.zeros((len(day_group), n_groups))
    onehot[np.arange(len(day_group)), day_group] = 1.0
    observed = onehot.T @ y  # (groups, periods)
    group_open = (onehot.T @ open_cells.astype(float)) > 0
    theta = np.zeros(day_features.shape[1])
    day_total = y.sum(axis=1)
    slot = np.full((n_groups, counts.shape[1]), LOG_FLOOR)
    for _ in range(iterations):
        offset = np.exp(day_features @ theta)
        expected = onehot.T @ (open_cells * offset[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            slot = np.where(group_open & (observed > 0), np.log(observed / expected), LOG_FLOOR)
        per_day = (np.exp(slot)[day_group] * open_cells).sum(axis=1) * offset
        gradient = day_features.T @ (day_total - per_day)
        hessian = (day_features.T * per_day) @ day_features + 1e-9 * np.eye(len(theta))
        step = np.linalg.solve(hessian, gradient)
        theta = theta + step
        if float(np.max(np.abs(step), initial=0.0)) < tol:
            break
    return slot, theta


def fit_glm(history: ModelInput, weeks: int = WEEKS) -> Fitted:
    open_slots = history.open_slots
    group = opening_groups(open_slots)
    # Weekday terms relative to the first weekday of each opening-hours group (identifiable).
    free_weekdays = [wd for wd in range(7) if group[wd] >= 0 and wd != int(np.flatnonzero(group == group[wd])[0])]
    n_days = history.volume.shape[0]

    def features(day_index: np.ndarray, weekdays: np.ndarray) -> FloatArray:
        columns = [(weekdays == wd).astype(float) for wd in free_weekdays]
        columns.append((day_index - n_days) / TREND_SCALE_DAYS)
        return np.column_stack(columns)

    rows = np.flatnonzero(history.present)
    rows = rows[(rows >= n_days - 7 * weeks) & (group[history.weekdays[rows]] >= 0)]
    weekdays = history.weekdays[rows]
    fitted_ok = len(rows) >= 7 and float(np.nansum(history.volume[rows])) > 0
    slot = np.zeros((1, open_slots.shape[1]))
    theta = np.zeros(len(free_weekdays) + 1)
    if fitted_ok:
        slot, theta = poisson_day_slot_fit(
            np.nan_to_num(history.volume[rows]), open_slots[weekdays], group[weekdays], features(rows, weekdays),
            n_groups=int(group.max()) + 1)
    first_day = history.days[0]

    def point(days: DayArray) -> FloatArray:
        out = np.zeros((len(days), open_slots.shape[1]))
        wd = weekday_of(days)
        known = group[wd] >= 0
        if not fitted_ok or not known.any():
            return out
        index = (days - first_day).astype(np.int64)
        log_day = features(index[known], wd[known]) @ theta
        out[known] = np.exp(np.clip(slot[group[wd[known]]] + log_day[:, None], LOG_FLOOR, 30.0))
        return out * open_slots[wd]

    return Fitted("glm", point, open_slots)
