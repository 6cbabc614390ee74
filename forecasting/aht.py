"""Average handle time per period: a shrunken ratio profile (robust to thin periods).

Per opening-hours weekday and period of day, total handle seconds over total contacts in the last
``weeks``, pulled towards the queue's overall AHT by ``prior_contacts`` pseudo-contacts so a period
with three calls does not swing the forecast.
"""

from __future__ import annotations

import numpy as np

from forecasting.series import DayArray, DayGrid, FloatArray, weekday_of

WEEKS = 8
PRIOR_CONTACTS = 20.0


def aht_profile(grid: DayGrid, days: DayArray, *, weeks: int = WEEKS,
                prior_contacts: float = PRIOR_CONTACTS) -> FloatArray:
    """(days × periods) AHT in seconds for the target days; NaN when history has no handle times."""
    recent = slice(max(0, grid.n_days - 7 * weeks), grid.n_days)
    volume = np.nan_to_num(grid.volume[recent], nan=0.0)
    handle = grid.handle_s[recent]
    if np.isnan(handle).all() or volume.sum() <= 0:
        return np.full((len(days), grid.periods_per_day), np.nan)
    handle = np.nan_to_num(handle, nan=0.0)
    overall = float(handle.sum() / volume.sum())
    weekdays = weekday_of(grid.days[recent])
    profile = np.full((7, grid.periods_per_day), overall)
    for wd in range(7):
        mine = weekdays == wd
        if mine.any():
            profile[wd] = (handle[mine].sum(axis=0) + prior_contacts * overall) / (
                volume[mine].sum(axis=0) + prior_contacts)
    return profile[weekday_of(days)]
