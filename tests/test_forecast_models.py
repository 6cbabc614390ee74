"""Every model under one contract; known patterns recovered; holidays and rebounds forecast."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting import PlannerDay, SpecialDay, forecast_frame, reforecast_rest_of_day
from forecasting.calendar import public_holidays
from forecasting.forecast import COLUMNS, forecast_queues
from forecasting.intraday import reforecast_table
from forecasting.models import MODELS, Intervals
from forecasting.models.glm import poisson_day_slot_fit
from forecasting.select import ENSEMBLE, model_input
from forecasting.series import history_grids, weekday_of
from tests.test_forecast_synthetic import FREQ_MIN, PER_DAY, interval_history, weekly_rate

FIRST = date(2026, 1, 5)  # a Monday


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return interval_history(FIRST, 10, seed=3)


@pytest.fixture(scope="module")
def grid(history: pd.DataFrame):  # type: ignore[no-untyped-def]
    return history_grids(history, freq=f"{FREQ_MIN}min")["q1"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_meets_the_forecast_contract(grid, name: str) -> None:  # type: ignore[no-untyped-def]
    _, inputs = model_input(grid, {}, [])
    days = grid.days[-1] + 1 + np.arange(9)
    calib = Intervals(alpha=1.3, beta=0.02, quantiles={80: (-1.1, 1.4), 95: (-1.8, 2.2)})
    prediction = MODELS[name].fit(inputs).predict(days, levels=(80, 95), intervals=calib)
    point = prediction.point
    assert point.shape == (9, PER_DAY)
    assert np.all(point >= 0) and np.all(np.isfinite(point))
    closed = ~inputs.open_slots[weekday_of(days)]
    assert closed.any() and np.all(point[closed] == 0)
    assert point[~closed].sum() > 0
    for level in (80, 95):
        lower, upper = prediction.bands[level]
        assert np.all(lower <= point) and np.all(point <= upper)
        assert np.all(lower >= 0) and np.all(lower[closed] == 0) and np.all(upper[closed] == 0)
    lo95, hi95 = prediction.bands[95]
    lo80, hi80 = prediction.bands[80]
    assert np.all(lo95 <= lo80) and np.all(hi80 <= hi95)


@pytest.mark.parametrize("name", [*sorted(MODELS), "auto", ENSEMBLE])
def test_forecast_table_has_one_row_per_period_and_closed_periods_are_zero(history, name: str) -> None:  # type: ignore[no-untyped-def]
    table = forecast_frame(history, freq=f"{FREQ_MIN}min", horizon="7d", model=name, origins=2)
    assert list(table.columns) == COLUMNS
    assert len(table) == 7 * PER_DAY and table["period_start"].is_unique
    assert table["period_start"].iloc[0] == pd.Timestamp("2026-03-16", tz="America/New_York")
    sunday = table["period_start"].dt.day_of_week == 6
    night = table["period_start"].dt.hour < 8
    numbers = table[COLUMNS[2:7]].to_numpy()
    assert np.all(numbers[(sunday | night).to_numpy()] == 0)
    assert np.all(table["volume_lo95"] <= table["volume_lo80"]) and np.all(table["volume_lo80"] <= table["volume"])
    assert np.all(table["volume"] <= table["volume_hi80"]) and np.all(table["volume_hi80"] <= table["volume_hi95"])


def test_auto_recovers_a_known_weekly_profile_within_tolerance() -> None:
    history = interval_history(FIRST, 12, seed=11, daily_total=600.0)
    table = forecast_frame(history, freq=f"{FREQ_MIN}min", horizon="7d", model="auto", origins=3)
    truth = weekly_rate(600.0)[table["period_start"].dt.day_of_week.to_numpy(), (
        table["period_start"].dt.hour * 60 + table["period_start"].dt.minute).to_numpy() // FREQ_MIN]
    error = np.abs(table["volume"].to_numpy() - truth).sum() / truth.sum()
    assert error < 0.06, f"WAPE against the true rate {error:.3f} ({table['model'].iloc[0]})"
    assert abs(table["volume"].sum() / truth.sum() - 1) < 0.03


def test_holiday_closed_by_the_planner_is_zero_and_next_open_day_gets_the_learned_rebound() -> None:
    first = date(2025, 11, 3)
    history_end = first + timedelta(days=7 * 14)
    holidays = public_holidays("US", first, history_end + timedelta(days=14))
    closed = frozenset(d for d in holidays if d.weekday() < 6 and d < history_end)
    history = interval_history(first, 14, seed=5, closed_days=closed, rebound=1.3)
    holiday = date(2026, 2, 16)  # Presidents' Day, a Monday in the horizon, never seen in history
    table = forecast_frame(history, freq=f"{FREQ_MIN}min", horizon="14d", country="US", origins=2,
                           planner=[PlannerDay(holiday, "closed")])
    daily = table.groupby(table["period_start"].dt.date)["volume"].sum()
    assert holiday in holidays and holiday > max(closed)
    assert daily[holiday] == 0
    normal_tuesday = daily[date(2026, 2, 10)]
    assert 1.15 < daily[date(2026, 2, 17)] / normal_tuesday < 1.45
    assert 0.9 < daily[date(2026, 2, 9)] / (weekly_rate()[0].sum()) < 1.1


def test_a_missing_day_does_not_shift_same_slot_last_week() -> None:
    history = interval_history(FIRST, 4, seed=2)
    stamps = pd.to_datetime(history["period_start"])
    last_tuesday = date(2026, 1, 27)
    history = history[stamps.dt.date != last_tuesday]
    grid = history_grids(history, freq=f"{FREQ_MIN}min")["q1"]
    _, inputs = model_input(grid, {}, [])
    days = grid.days[-1] + 1 + np.arange(7)
    point = MODELS["snaive_week"].fit(inputs).predict(days, levels=()).point
    tuesday_before = grid.volume[(grid.days == np.datetime64(last_tuesday - timedelta(days=7))).argmax()]
    assert np.array_equal(point[weekday_of(days) == 1][0], tuesday_before)


def test_forecast_over_a_dst_change_has_real_periods_only() -> None:
    history = interval_history(date(2026, 8, 31), 8, seed=4)
    results = forecast_queues(history_grids(history, freq=f"{FREQ_MIN}min"), horizon="7d",
                              model="mean_week4", origins=1)
    table = results[0].frame
    fallback = table[table["period_start"].dt.date == date(2026, 11, 1)]
    assert table["period_start"].is_unique
    assert len(fallback) == PER_DAY + 2  # 25 hours of 30-minute periods


def test_structured_poisson_fit_matches_statsmodels_glm() -> None:
    rng = np.random.default_rng(0)
    n_days, periods = 30, 6
    group = rng.integers(0, 2, n_days)
    open_cells = np.ones((n_days, periods), dtype=bool)
    open_cells[group == 1, -2:] = False
    features = np.column_stack([(np.arange(n_days) % 3 == 0).astype(float), np.arange(n_days) / 30.0])
    true_slot = rng.normal(1.5, 0.5, (2, periods))
    counts = rng.poisson(np.exp(true_slot[group] + (features @ [0.3, 0.4])[:, None]) * open_cells).astype(float)
    slot, theta = poisson_day_slot_fit(counts, open_cells, group, features)
    ours = np.exp(slot[group] + (features @ theta)[:, None])[open_cells]
    d, s_ = np.nonzero(open_cells)
    design = np.zeros((len(d), 2 * periods + 2))
    design[np.arange(len(d)), group[d] * periods + s_] = 1.0
    design[:, -2:] = features[d]
    keep = design.any(axis=0)
    reference = sm.GLM(counts[open_cells], design[:, keep], family=sm.families.Poisson()).fit()
    assert np.allclose(ours, reference.fittedvalues, rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    point=st.lists(st.floats(0, 500), min_size=1, max_size=40),
    alpha=st.floats(0, 5), beta=st.floats(0, 0.5),
    q80=st.tuples(st.floats(-3, 0), st.floats(0, 3)),
)
def test_interval_bands_are_ordered_and_non_negative(point, alpha, beta, q80) -> None:  # type: ignore[no-untyped-def]
    f = np.asarray(point)
    lower, upper = Intervals(alpha, beta, {80: q80}).bands(f, 80)
    assert np.all(lower >= 0) and np.all(lower <= f + 1e-12) and np.all(f <= upper + 1e-12)
    assert np.all(lower[f == 0] == 0) and np.all(upper[f == 0] == 0)


def test_calibrated_intervals_cover_poisson_noise_at_their_level() -> None:
    rng = np.random.default_rng(9)
    rate = rng.uniform(1, 60, 20_000)
    calib = Intervals.calibrate(rate, rng.poisson(rate).astype(float))
    fresh = rng.poisson(rate).astype(float)
    for level, (lo_ok, hi_ok) in {80: (0.77, 0.85), 95: (0.93, 0.975)}.items():
        lower, upper = calib.bands(rate, level)
        covered = float(np.mean((fresh >= lower) & (fresh <= upper)))
        assert lo_ok <= covered <= hi_ok, (level, covered)


def test_intraday_reforecast_scales_the_rest_of_a_busy_day() -> None:
    forecast = np.full(20, 10.0)
    busy = np.full(8, 15.0)
    rest = reforecast_rest_of_day(forecast, busy, prior_contacts=0.0)
    assert np.allclose(rest[:8], busy) and np.allclose(rest[8:], 15.0)
    shrunk = reforecast_rest_of_day(forecast, np.full(2, 20.0), prior_contacts=30.0)
    assert 10.0 < shrunk[5] < 20.0


def test_special_day_with_a_given_factor_scales_that_day_only(history: pd.DataFrame) -> None:
    special = date(2026, 3, 18)
    plain = forecast_frame(history, freq=f"{FREQ_MIN}min", model="profile_smooth", origins=1)
    boosted = forecast_frame(history, freq=f"{FREQ_MIN}min", model="profile_smooth", origins=1,
                             special_days=[SpecialDay(special, "campaign", 1.5)])
    on_day = (plain["period_start"].dt.date == special).to_numpy()
    assert np.allclose(boosted["volume"].to_numpy()[on_day], 1.5 * plain["volume"].to_numpy()[on_day])
    assert np.allclose(boosted["volume"].to_numpy()[~on_day], plain["volume"].to_numpy()[~on_day])


def test_special_day_effect_is_learned_from_past_days_of_the_same_name() -> None:
    history = interval_history(FIRST, 10, seed=6)
    stamps = pd.to_datetime(history["period_start"])
    bill_runs = [date(2026, 1, 14), date(2026, 2, 11), date(2026, 3, 4)]  # Wednesdays at double volume
    doubled = stamps.dt.date.isin(bill_runs).to_numpy()
    history.loc[doubled, "volume"] = history.loc[doubled, "volume"] * 2
    next_run = date(2026, 3, 18)
    specials = [SpecialDay(d, "bill run") for d in [*bill_runs, next_run]]
    table = forecast_frame(history, freq=f"{FREQ_MIN}min", model="profile_smooth", origins=1,
                           special_days=specials)
    daily = table.groupby(table["period_start"].dt.date)["volume"].sum()
    assert 1.8 < daily[next_run] / weekly_rate()[2].sum() < 2.2


def test_queues_forecast_in_parallel_equal_the_serial_forecast(history: pd.DataFrame) -> None:
    two = pd.concat([history, history.assign(queue="q2", volume=history["volume"] * 2)], ignore_index=True)
    grids = history_grids(two, freq=f"{FREQ_MIN}min")
    serial = forecast_queues(grids, model="mean_week4", origins=1, n_jobs=1)
    parallel = forecast_queues(grids, model="mean_week4", origins=1, n_jobs=2)
    for a, b in zip(serial, parallel, strict=True):
        pd.testing.assert_frame_equal(a.frame, b.frame)
    assert np.allclose(serial[1].frame["volume"], 2 * serial[0].frame["volume"])


def test_intraday_table_reforecast_rescales_only_the_rest_of_today(history: pd.DataFrame) -> None:
    table = forecast_frame(history, freq=f"{FREQ_MIN}min", model="profile_smooth", origins=1)
    now = pd.Timestamp("2026-03-16T12:00:00-04:00")
    elapsed = (table["period_start"] < now) & (table["period_start"].dt.date == now.date())
    actuals = table.loc[elapsed, ["queue", "period_start", "volume"]].assign(volume=lambda f: f["volume"] * 1.5)
    updated = reforecast_table(table, actuals, now, prior_contacts=0.0)
    later_today = ((table["period_start"] >= now) & (table["period_start"].dt.date == now.date())).to_numpy()
    assert np.allclose(updated["volume"].to_numpy()[later_today], 1.5 * table["volume"].to_numpy()[later_today])
    assert np.allclose(updated["volume"].to_numpy()[~later_today], table["volume"].to_numpy()[~later_today])
    assert np.all(updated["volume_lo80"] <= updated["volume"]) and np.all(updated["volume"] <= updated["volume_hi95"])
