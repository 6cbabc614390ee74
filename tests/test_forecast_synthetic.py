"""Small synthetic histories with a known truth for the forecasting tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

FREQ_MIN = 30
PER_DAY = 24 * 60 // FREQ_MIN


def weekly_rate(daily_total: float = 400.0) -> np.ndarray:
    """(7, periods) expected volume: Mon-Fri 08-20 with a late-morning peak, Sat 10-16 lighter, Sun closed."""
    centers = (np.arange(PER_DAY) + 0.5) * FREQ_MIN / 60
    shape = np.exp(-0.5 * ((centers - 11.0) / 2.0) ** 2) + 0.3
    rate = np.zeros((7, PER_DAY))
    weekday_factor = [1.2, 1.05, 1.0, 0.95, 0.9, 0.4, 0.0]
    for wd in range(7):
        open_h = (8, 20) if wd < 5 else (10, 16)
        row = np.where((centers >= open_h[0]) & (centers < open_h[1]), shape, 0.0)
        rate[wd] = daily_total * weekday_factor[wd] * row / row.sum()
    return rate


def interval_history(first: date, weeks: int, *, seed: int = 1, closed_days: frozenset[date] = frozenset(),
                     rebound: float = 1.0, daily_total: float = 400.0) -> pd.DataFrame:
    """An interval table (queue, period_start, volume) of Poisson counts around `weekly_rate`;
    `closed_days` have no rows and the next open day runs at `rebound` times the rate."""
    rng = np.random.default_rng(seed)
    rate = weekly_rate(daily_total)
    rows = []
    after_closed = False
    for d in range(7 * weeks):
        day = first + timedelta(days=d)
        if day in closed_days:
            after_closed = True
            continue
        lam = rate[day.weekday()] * (rebound if after_closed and rate[day.weekday()].sum() > 0 else 1.0)
        if lam.sum() > 0:
            after_closed = False
        counts = rng.poisson(lam)
        stamps = pd.date_range(pd.Timestamp(day), periods=PER_DAY, freq=f"{FREQ_MIN}min")  # site wall clock
        rows.append(pd.DataFrame({"queue": "q1", "period_start": stamps.map(lambda t: t.isoformat()),
                                  "volume": counts}))
    return pd.concat(rows, ignore_index=True)
