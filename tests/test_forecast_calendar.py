"""Closed means known closed: missing data never closes a day; the planner's calendar rules."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.formats.forecast import read_forecast_notes
from dispatcher.errors import InvalidInput
from forecasting import PlannerDay, forecast_frame, forecast_queues
from forecasting.calendar import learn_calendar, public_holidays
from forecasting.forecast import forecast_queue, horizon_window
from forecasting.series import history_grids
from tests.test_forecast_synthetic import FREQ_MIN, interval_history, weekly_rate

FIRST = date(2025, 11, 3)  # a Monday; 14 weeks of history hold Veterans Day … MLK Day
WEEKS = 14
PRESIDENTS_DAY = date(2026, 2, 16)  # a Monday in the horizon, never seen in the history
FREQ = f"{FREQ_MIN}min"


def rowless_holidays_history() -> pd.DataFrame:
    """Every earlier public holiday (Mon-Sat) has no rows at all; the days around them have rows."""
    end = FIRST + timedelta(days=7 * WEEKS)
    holidays = public_holidays("US", FIRST, end)
    return interval_history(FIRST, WEEKS, seed=5, closed_days=frozenset(d for d in holidays if d.weekday() < 6))


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return rowless_holidays_history()


def daily(table: pd.DataFrame) -> pd.Series:
    return table.groupby(table["period_start"].dt.date)["volume"].sum()


def test_a_holiday_never_seen_is_forecast_open_when_earlier_holidays_had_no_rows(history: pd.DataFrame) -> None:
    grids = history_grids(history, freq=FREQ)
    [result] = forecast_queues(grids, horizon="14d", country="US", origins=2)
    totals = daily(result.frame)
    open_days = [d for d in totals.index if d.weekday() < 6]
    assert all(totals[d] > 0 for d in open_days), totals[totals == 0]
    assert 0.85 < totals[PRESIDENTS_DAY] / weekly_rate()[0].sum() < 1.15
    [note] = [n for n in result.notes if n.day == PRESIDENTS_DAY]
    assert note.status == "open" and "never seen in history" in note.reason and not note.warning
    assert "Washington" in note.reason


def test_a_planner_closed_row_closes_the_day_exactly_and_the_next_day_rebounds(history: pd.DataFrame) -> None:
    grids = history_grids(history, freq=FREQ)
    closed = PlannerDay(PRESIDENTS_DAY, "closed", label="site closed", row=3)
    [result] = forecast_queues(grids, horizon="14d", country="US", origins=2, planner=[closed])
    table = result.frame
    on_day = (table["period_start"].dt.date == PRESIDENTS_DAY).to_numpy()
    assert np.all(table.loc[on_day, ["volume", "volume_lo80", "volume_hi80", "volume_lo95", "volume_hi95"]] == 0)
    totals = daily(table)
    assert 1.0 <= totals[PRESIDENTS_DAY + timedelta(days=1)] / totals[date(2026, 2, 10)] < 1.6
    [note] = [n for n in result.notes if n.day == PRESIDENTS_DAY]
    assert note.status == "closed" and note.reason == "closed: calendar row 3 (site closed)" and note.warning


def test_a_planner_row_for_another_queue_leaves_this_queue_open(history: pd.DataFrame) -> None:
    two = pd.concat([history, history.assign(queue="q2")], ignore_index=True)
    closed = PlannerDay(PRESIDENTS_DAY, "closed", queue="q2", row=2)
    table = forecast_frame(two, freq=FREQ, horizon="14d", country="US", origins=1, model="mean_week4",
                           planner=[closed])
    q1, q2 = (daily(table[table["queue"] == q]) for q in ("q1", "q2"))
    assert q1[PRESIDENTS_DAY] > 0 and q2[PRESIDENTS_DAY] == 0


def test_a_planner_row_naming_an_unknown_queue_is_an_error_naming_the_row(history: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput) as err:
        forecast_frame(history, freq=FREQ, origins=1, model="mean_week4",
                       planner=[PlannerDay(PRESIDENTS_DAY, "closed", queue="nope", row=4)])
    assert err.value.row == 4 and "nope" in err.value.message


def company_day_forecast(history: pd.DataFrame, holidays: dict[date, str], mode: str = "learn"):  # type: ignore[no-untyped-def]
    grid = history_grids(history, freq=FREQ)["q1"]
    periods = horizon_window({"q1": grid}, freq_min=FREQ_MIN, horizon_days=14, start=None,
                             timezone="America/New_York")
    return forecast_queue(grid, periods, model="mean_week4", holidays=holidays, origins=1, holiday_mode=mode)


def test_a_holiday_observed_closed_between_open_days_is_forecast_closed() -> None:
    first = date(2026, 1, 5)
    past, coming = date(2026, 2, 4), date(2026, 3, 18)  # Wednesdays; 10 weeks of history end 2026-03-16
    history = interval_history(first, 10, seed=8, closed_days=frozenset({past}))
    result = company_day_forecast(history, {past: "Company Day", coming: "Company Day"})
    totals = daily(result.frame)
    assert totals[coming] == 0
    [note] = [n for n in result.notes if n.day == coming]
    assert note.reason == "closed: Company Day 2026 had no contacts between open days" and note.warning
    opened = company_day_forecast(history, {past: "Company Day", coming: "Company Day"}, "open")
    assert daily(opened.frame)[coming] > 0
    [note] = [n for n in opened.notes if n.day == coming]
    assert note.reason.startswith("open: Company Day closed in 2026 but --holidays open")


def test_holidays_closed_mode_closes_a_holiday_never_seen(history: pd.DataFrame) -> None:
    table = forecast_frame(history, freq=FREQ, horizon="14d", country="US", origins=1, model="mean_week4",
                           holiday_mode="closed")
    assert daily(table)[PRESIDENTS_DAY] == 0


def test_a_holiday_inside_a_data_gap_is_missing_not_closed() -> None:
    first = date(2026, 1, 5)
    past, coming = date(2026, 2, 4), date(2026, 3, 18)
    gap = frozenset(past + timedelta(days=k) for k in range(-5, 6))  # 11 row-less days around it
    history = interval_history(first, 10, seed=8, closed_days=gap)
    result = company_day_forecast(history, {past: "Company Day", coming: "Company Day"})
    assert daily(result.frame)[coming] > 0
    [note] = [n for n in result.notes if n.day == coming]
    assert note.status == "open" and "seen only as missing data" in note.reason


def test_a_rowless_ordinary_day_is_missing_so_the_day_after_is_not_a_rebound() -> None:
    first = date(2026, 1, 5)
    gaps = frozenset({date(2026, 1, 21), date(2026, 2, 11), date(2026, 3, 4)})  # Wednesdays without rows
    history = interval_history(first, 10, seed=8, closed_days=gaps)
    calendar = learn_calendar(history_grids(history, freq=FREQ)["q1"])
    assert not calendar.known_closed and calendar.rebound == 1.0


def test_a_slot_empty_in_every_recent_week_is_closed_even_if_it_was_open_long_ago() -> None:
    history = interval_history(date(2026, 1, 5), 12, seed=8)
    stamps = pd.to_datetime(history["period_start"])
    early = (stamps.dt.hour == 8) & (stamps.dt.date >= date(2026, 1, 26))  # 08:00-09:00 closed for 9 weeks
    history.loc[early.to_numpy(), "volume"] = 0
    grid = history_grids(history, freq=FREQ)["q1"]
    slots = learn_calendar(grid).open_slots
    assert not slots[0, 16] and not slots[0, 17] and slots[0, 18]


# ------------------------------------------------------------------------------------------------ CLI

CLI = [sys.executable, "-m", "api.cli.main"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def history_csv(history: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cal") / "history.csv"
    history.to_csv(path, index=False)
    return path


FORECAST_ARGS = ("--freq", FREQ, "--horizon", "14d", "--country", "US", "--model", "mean_week4", "--origins", "1")


def test_cli_forecasts_a_never_seen_holiday_open_and_says_so(history_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "forecast.csv"
    result = run("forecast", str(history_csv), *FORECAST_ARGS, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "open: Washington's Birthday never seen in history" in result.stdout
    table = pd.read_csv(out)
    totals = table.groupby(table["period_start"].str.slice(0, 10))["volume"].sum()
    assert totals[PRESIDENTS_DAY.isoformat()] > 0
    assert all(totals[d] > 0 for d in totals.index if date.fromisoformat(d).weekday() < 6)
    notes = [n for n in read_forecast_notes(out) if n.day == PRESIDENTS_DAY]
    assert len(notes) == 1 and notes[0].status == "open" and "never seen" in notes[0].reason


def test_cli_calendar_closed_row_gives_exactly_zero_and_names_the_row(history_csv: Path, tmp_path: Path) -> None:
    calendar = tmp_path / "calendar.csv"
    calendar.write_text("date,queue,kind,effect,label\n2026-02-20,,special,1.3,bill run\n"
                        f"{PRESIDENTS_DAY},q1,closed,,site closed\n")
    out = tmp_path / "forecast.csv"
    result = run("forecast", str(history_csv), *FORECAST_ARGS, "--calendar", str(calendar), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "closed: calendar row 3 (site closed)" in result.stdout
    assert "special: calendar row 2 (bill run) ×1.30" in result.stdout
    table = pd.read_csv(out)
    day = table[table["period_start"].str.startswith(PRESIDENTS_DAY.isoformat())]
    assert len(day) and (day[["volume", "volume_lo95", "volume_hi95"]] == 0).all().all()
    [note] = [n for n in read_forecast_notes(out) if n.day == PRESIDENTS_DAY]
    assert note.warning and note.factor == 0


@pytest.mark.parametrize(("line", "field", "words"), [
    ("2026-02-30,,closed,,", "date", "2026-02-30"),
    ("2026-02-16,nope,closed,,", "queue", "nope"),
    ("2026-02-16,,shut,,", "kind", "shut"),
    ("2026-02-16,,special,lots,", "effect", "lots"),
])
def test_a_bad_calendar_row_is_one_clear_error_naming_the_row(history_csv: Path, tmp_path: Path, line: str,
                                                             field: str, words: str) -> None:
    calendar = tmp_path / "calendar.csv"
    calendar.write_text(f"date,queue,kind,effect,label\n2026-02-17,,open,,\n{line}\n")
    result = run("forecast", str(history_csv), *FORECAST_ARGS, "--calendar", str(calendar))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "row 3" in result.stderr and f"'{field}'" in result.stderr and words in result.stderr


def test_cli_backtest_reports_each_origins_coverage_and_takes_the_calendar(history_csv: Path, tmp_path: Path) -> None:
    calendar = tmp_path / "calendar.csv"
    calendar.write_text("date,queue,kind,effect,label\n2026-01-19,,closed,,MLK Day closed\n")
    result = run("backtest", str(history_csv), "--freq", FREQ, "--horizon", "7d", "--origins", "3",
                 "--models", "snaive_week,mean_week4", "--country", "US", "--calendar", str(calendar))
    assert result.returncode == 0, result.stderr
    origin_rows = [line for line in result.stdout.splitlines() if "2026-01-19" in line or "2026-01-26" in line
                   or "2026-02-02" in line]
    assert len(origin_rows) == 3 and all(line.count("%") == 2 for line in origin_rows)


@settings(max_examples=15, deadline=None)
@given(gaps=st.sets(st.integers(0, 7 * 8 - 1), max_size=12), holiday_days=st.sets(st.integers(0, 7 * 8 - 1),
                                                                                   max_size=4))
def test_missing_days_and_unseen_holidays_never_close_an_open_weekday(gaps: set[int], holiday_days: set[int]) -> None:
    first = date(2026, 1, 5)
    history = interval_history(first, 8, seed=3, closed_days=frozenset(first + timedelta(days=d) for d in gaps))
    holidays = {first + timedelta(days=d): f"holiday {d}" for d in holiday_days}
    horizon_holiday = date(2026, 3, 4)  # a Wednesday after the history, a name never seen
    holidays[horizon_holiday] = "never seen"
    result = company_day_forecast(history, holidays)
    totals = daily(result.frame)
    grid = history_grids(history, freq=FREQ)["q1"]
    weekdays_with_rows = {d.weekday() for d, v in zip(grid.days.astype(object), grid.volume[:, 0], strict=True)
                          if not np.isnan(v)}
    recent = {d.weekday() for d, v in zip(grid.days.astype(object)[-56:], grid.volume[-56:, 0], strict=True)
              if not np.isnan(v)}
    for day, total in totals.items():
        if day.weekday() in recent and day.weekday() in weekdays_with_rows and day.weekday() < 6:
            assert total > 0, (day, sorted(gaps), sorted(holiday_days))
