"""The dashboard's file-fed panels: schemas, validation messages, atomic writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.service.dashboard.panels import (
    CoverageToday,
    ForecastToday,
    QueueSeries,
    ShiftBar,
    ShiftsToday,
    TimeSpan,
    panel_path,
    parse_panel,
    read_panel,
    write_panel,
)
from dispatcher.errors import InvalidInput

TZ = "America/New_York"


def axis(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2026-11-23 07:00", periods=n, freq="15min", tz=TZ)


def test_absent_panel_reads_as_no_data(tmp_path: Path) -> None:
    assert read_panel(tmp_path, "forecast_today") is None
    assert read_panel(tmp_path / "missing-dir", "simulation") is None


def test_numpy_series_with_nan_are_written_as_null_actuals(tmp_path: Path) -> None:
    panel = ForecastToday(
        date="2026-11-23", timezone=TZ, period_start=axis(3),
        queues={"billing": QueueSeries(forecast=np.array([4.0, 5.5, 6.0]), actual=np.array([3.0, np.nan, np.nan]))},
    )
    path = write_panel(tmp_path, panel)
    assert path == tmp_path / "forecast_today.json"
    raw = json.loads(path.read_text())
    assert raw["queues"]["billing"]["actual"] == [3.0, None, None]
    assert raw["period_start"][0] == "2026-11-23T07:00:00-05:00"
    assert not list(tmp_path.glob("*.tmp"))


@settings(max_examples=40, deadline=None)
@given(
    required=st.lists(st.integers(0, 500), min_size=1, max_size=96),
    extra=st.integers(-3, 3),
)
def test_coverage_round_trips_through_its_file(tmp_path_factory: pytest.TempPathFactory, required: list[int],
                                               extra: int) -> None:
    scheduled = [max(0, r + extra) for r in required]
    panel = CoverageToday(date="2026-11-23", timezone=TZ, period_start=axis(len(required)),
                          required=required, scheduled=scheduled)
    folder = tmp_path_factory.mktemp("cov")
    write_panel(folder, panel)
    back = read_panel(folder, "coverage_today")
    assert isinstance(back, CoverageToday)
    assert back.required == [float(r) for r in required]
    assert back.scheduled == [float(s) for s in scheduled]
    assert [t.timestamp() for t in back.period_start] == [t.timestamp() for t in axis(len(required))]


def test_series_shorter_than_the_time_axis_is_refused_naming_queue_and_field() -> None:
    payload = {"date": "2026-11-23", "period_start": [t.isoformat() for t in axis(4)],
               "queues": {"billing": {"forecast": [1, 2, 3, 4], "actual": [1, 2]}}}
    with pytest.raises(InvalidInput, match=r"queues\.billing\.actual has 2 values but period_start has 4") as err:
        parse_panel("forecast_today", payload)
    assert err.value.file == "forecast_today.json"


def test_timestamp_without_offset_is_refused() -> None:
    payload = {"date": "2026-11-23", "period_start": ["2026-11-23T07:00:00"], "required": [1], "scheduled": [1]}
    with pytest.raises(InvalidInput, match=r"period_start\[0\] must carry a UTC offset"):
        parse_panel("coverage_today", payload)


def test_time_axis_must_increase() -> None:
    times = [t.isoformat() for t in axis(3)]
    payload = {"date": "2026-11-23", "period_start": [times[0], times[2], times[1]], "required": [1, 1, 1],
               "scheduled": [1, 1, 1]}
    with pytest.raises(InvalidInput, match="period_start must increase: item 2"):
        parse_panel("coverage_today", payload)


def test_unknown_key_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_panel("simulation", {"scenarios": [], "replicatoins": 3})
    assert err.value.field == "replicatoins"


def test_fraction_above_one_is_refused_with_its_value() -> None:
    payload = {"scenarios": [{"name": "base", "service_level": 82, "asa_s": 10, "abandonment": 0.1,
                              "occupancy": 0.8}]}
    with pytest.raises(InvalidInput, match=r"less than or equal to 1 \(got 82\)") as err:
        parse_panel("simulation", payload)
    assert err.value.field == "scenarios.0.service_level"


def test_baseline_must_name_a_scenario() -> None:
    with pytest.raises(InvalidInput, match="baseline 'base' is not one of the scenarios"):
        parse_panel("simulation", {"baseline": "base", "scenarios": [
            {"name": "plus10", "service_level": 0.7, "asa_s": 30, "abandonment": 0.05, "occupancy": 0.9}]})


def test_shift_ending_before_it_starts_is_refused() -> None:
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="must be after start"):
        ShiftBar(agent_id="a1", start=start, end=start - timedelta(hours=1))
    with pytest.raises(ValueError, match="must be after start"):
        TimeSpan(start=start, end=start)


def test_broken_json_file_names_file_and_line(tmp_path: Path) -> None:
    path = panel_path(tmp_path, "shifts_today")
    path.write_text('{"date": "2026-11-23",\n "shifts": [,]}')
    with pytest.raises(InvalidInput, match="not valid JSON") as err:
        read_panel(tmp_path, "shifts_today")
    assert err.value.row == 2
    assert err.value.file == str(path)


def test_unknown_panel_name_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown dashboard panel 'queues'"):
        parse_panel("queues", {})  # type: ignore[arg-type]


def test_shifts_panel_keeps_breaks_and_skills(tmp_path: Path) -> None:
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    shift = ShiftBar(agent_id="a1", agent_name="Ada", start=start, end=start + timedelta(hours=8),
                     breaks=[TimeSpan(start=start + timedelta(hours=4), end=start + timedelta(hours=4.5))],
                     skills=["billing", "tech"])
    write_panel(tmp_path, ShiftsToday(date="2026-11-23", shifts=[shift]))
    back = read_panel(tmp_path, "shifts_today")
    assert isinstance(back, ShiftsToday)
    assert back.shifts[0].breaks[0].end - back.shifts[0].breaks[0].start == timedelta(minutes=30)
    assert back.shifts[0].skills == ["billing", "tech"]
