"""Intervals calibrated on held-out backtest errors cover fresh data at their nominal level."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecasting import forecast_frame
from forecasting.intervals import Intervals, conformal_quantile
from tests.test_forecast_synthetic import FREQ_MIN, interval_history


@pytest.mark.slow
def test_calibrated_intervals_cover_a_generated_series_with_known_noise_at_their_level() -> None:
    """Six queues of Poisson counts around a fixed weekly rate (no regime change): 12 weeks of
    history, the next two weeks held out; coverage of the 80% / 95% bands within 75-85% / 91-98%."""
    full = pd.concat([interval_history(date(2026, 1, 5), 14, seed=seed, daily_total=800.0).assign(queue=f"q{seed}")
                      for seed in range(6)], ignore_index=True)
    stamps = pd.to_datetime(full["period_start"])
    cut = pd.Timestamp("2026-03-30")
    table = forecast_frame(full[stamps < cut], freq=f"{FREQ_MIN}min", horizon="14d", origins=4)
    held_out = full[stamps >= cut].assign(
        period_start=lambda f: pd.to_datetime(f["period_start"]).dt.tz_localize("America/New_York"))
    both = table.merge(held_out, on=["queue", "period_start"], how="left", suffixes=("", "_actual"))
    actual = both["volume_actual"].fillna(0.0).to_numpy()
    scored = (both["volume"].to_numpy() > 0) | (actual > 0)
    assert scored.sum() > 1500
    for level, (low, high) in {80: (0.75, 0.85), 95: (0.91, 0.98)}.items():
        inside = (actual >= both[f"volume_lo{level}"] - 1e-9) & (actual <= both[f"volume_hi{level}"] + 1e-9)
        covered = float(inside[scored].mean())
        assert low <= covered <= high, (level, covered)


def test_per_horizon_day_calibration_widens_the_band_where_held_out_errors_are_larger() -> None:
    rng = np.random.default_rng(4)
    rate = np.full((7, 48), 40.0)
    noise_sd = np.linspace(1.0, 3.0, 7)[:, None] * np.sqrt(rate)  # errors grow with the horizon
    points = [rate] * 12
    actuals = [rate + rng.normal(0, 1, rate.shape) * noise_sd for _ in range(12)]
    calib = Intervals.calibrate_grid(points, actuals, (80,))
    lower, upper = calib.bands(rate, 80)
    width = (upper - lower).mean(axis=1)
    assert width[6] > 1.6 * width[0]  # true ratio 3, shrunk towards the pooled quantiles
    fresh = rate + rng.normal(0, 1, rate.shape) * noise_sd
    for day in (0, 6):
        inside = (fresh[day] >= lower[day]) & (fresh[day] <= upper[day])
        assert 0.6 <= inside.mean() <= 0.97


def test_conformal_quantile_rounds_outwards() -> None:
    z = np.arange(1.0, 10.0)  # nine scores
    assert conformal_quantile(z, 0.9) == 9.0  # ceil(10 * 0.9) = 9th
    assert conformal_quantile(z, 0.1) == 1.0  # floor(10 * 0.1) = 1st
    assert conformal_quantile(z, 0.95) == 9.0  # beyond the sample: the largest
