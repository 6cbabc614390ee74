"""Ingest: bad files are refused with row and column; the CLI writes the contract table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli.main import app
from api.formats.forecast import read_history
from dispatcher.errors import InvalidInput
from forecasting.forecast import COLUMNS
from forecasting.series import history_grids
from tests.test_forecast_synthetic import interval_history


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "history.csv"
    path.write_text(text)
    return path


def refused(path: Path, freq: str = "15min") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read_history(path, freq=freq, timezone="America/New_York")
    return caught.value


GOOD = "period_start,volume\n2026-01-05T09:00:00-05:00,4\n2026-01-05T09:15:00-05:00,6\n"


def test_duplicated_period_names_row_and_column(tmp_path: Path) -> None:
    error = refused(write(tmp_path, GOOD + "2026-01-05T09:15:00-05:00,3\n"))
    assert (error.row, error.field) == (4, "period_start") and "duplicated" in error.message
    assert error.file is not None and error.file.endswith("history.csv")


def test_negative_volume_names_row_and_column(tmp_path: Path) -> None:
    error = refused(write(tmp_path, GOOD + "2026-01-05T09:30:00-05:00,-2\n"))
    assert (error.row, error.field) == (4, "volume") and "negative" in error.message


def test_unparsable_time_names_row_and_column(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "created_at,queue\n2026-01-05T09:01:00Z,a\nyesterday at noon,a\n"))
    assert (error.row, error.field) == (3, "created_at") and "yesterday" in error.message


def test_non_numeric_volume_names_row_and_column(tmp_path: Path) -> None:
    error = refused(write(tmp_path, GOOD + "2026-01-05T09:30:00-05:00,lots\n"))
    assert (error.row, error.field) == (4, "volume")


@pytest.mark.parametrize("freq", ["7min", "50min", "2h", "fortnightly"])
def test_frequency_that_does_not_divide_the_day_is_refused(tmp_path: Path, freq: str) -> None:
    error = refused(write(tmp_path, GOOD), freq=freq)
    assert error.field == "freq" and freq in error.message


def test_missing_time_column_is_named(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "when,volume\n2026-01-05 09:00,3\n"))
    assert error.row == 1 and "time column" in error.message


def test_repeated_dst_hour_with_offsets_is_not_a_duplicate() -> None:
    frame = pd.DataFrame({"period_start": ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"],
                          "volume": [2, 3]})
    grid = history_grids(frame, freq="15min")["default"]
    assert np.nansum(grid.volume) == 5


@settings(max_examples=40, deadline=None)
@given(minutes=st.lists(st.integers(0, 14 * 24 * 60 - 1), min_size=1, max_size=200),
       freq=st.sampled_from(["5min", "15min", "30min", "60min"]))
def test_aggregation_keeps_every_contact_in_its_local_period(minutes: list[int], freq: str) -> None:
    stamps = pd.Timestamp("2026-03-02") + pd.to_timedelta(np.asarray(minutes), unit="min")
    frame = pd.DataFrame({"created_at": stamps.strftime("%Y-%m-%d %H:%M:%S")})
    grid = history_grids(frame, freq=freq)["default"]
    assert np.nansum(grid.volume) == len(minutes)
    step = int(freq.removesuffix("min"))
    first = minutes and min(m // (24 * 60) for m in minutes)
    m = minutes[0]
    assert grid.volume[m // (24 * 60) - first, (m % (24 * 60)) // step] >= 1


def test_cli_forecast_writes_the_contract_table(tmp_path: Path) -> None:
    history = interval_history(date(2026, 1, 5), 6, seed=8)
    source = tmp_path / "hist.csv"
    history.to_csv(source, index=False)
    out = tmp_path / "fc.csv"
    result = CliRunner().invoke(app, ["forecast", str(source), "--freq", "30min", "--horizon", "3d",
                                      "--model", "profile_smooth", "--origins", "2", "--out", str(out),
                                      "--plot", str(tmp_path / "fc.png")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == COLUMNS and len(table) == 3 * 48
    assert set(table["queue"]) == {"q1"} and set(table["model"]) == {"profile_smooth"}
    assert table["period_start"].iloc[0] == "2026-02-16T00:00:00-05:00"
    assert (tmp_path / "fc.png").stat().st_size > 1000


def test_cli_backtest_writes_the_per_model_table(tmp_path: Path) -> None:
    history = interval_history(date(2026, 1, 5), 6, seed=8)
    source = tmp_path / "hist.csv"
    history.to_csv(source, index=False)
    out = tmp_path / "bt.csv"
    result = CliRunner().invoke(app, ["backtest", str(source), "--freq", "30min", "--horizon", "5d",
                                      "--origins", "2", "--models", "snaive_week,mean_week4,profile_smooth",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table["model"]) == {"snaive_week", "mean_week4", "profile_smooth", "ensemble"}
    assert table["wape"].between(0, 1).all() and (table["origins"] == 2).all()
