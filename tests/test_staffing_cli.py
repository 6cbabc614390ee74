"""``dispatchwise staff`` and ``POST /v1/staffing/requirements`` on a hand-made forecast CSV."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from api.formats.staffing import (
    parse_duration,
    parse_service_level,
    read_forecast,
    read_policy,
)
from dispatcher.erlang import erlang_a, service_level
from dispatcher.errors import InvalidInput
from dispatcher.requirements import REQUIREMENT_COLUMNS, requirements_table

CLI = [sys.executable, "-m", "api.cli.main"]
FORECAST_HEADER = "queue,period_start,volume,volume_lo80,volume_hi80,volume_lo95,volume_hi95,aht_s,model"


def forecast_csv(path: Path, rows: list[tuple[str, str, float, float | str]]) -> Path:
    lines = [FORECAST_HEADER]
    for queue, start, volume, aht in rows:
        lines.append(f"{queue},{start},{volume},{volume},{volume},{volume},{volume},{aht},seasonal_naive")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def day_rows() -> list[tuple[str, str, float, float | str]]:
    rows: list[tuple[str, str, float, float | str]] = []
    volumes = [0.0, 6.0, 25.0, 60.0, 41.5, 0.0]
    for i, volume in enumerate(volumes):
        start = f"2026-03-02T{7 + i // 4:02d}:{15 * (i % 4):02d}:00-05:00"
        rows.append(("billing", start, volume, 240.0 if volume else ""))
        rows.append(("chat", start, volume / 2, 600.0))
    return rows


@pytest.fixture()
def forecast(tmp_path: Path) -> Path:
    return forecast_csv(tmp_path / "forecast.csv", day_rows())


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=180)


def test_staff_command_writes_one_row_per_queue_and_period(forecast: Path, tmp_path: Path) -> None:
    out, plot = tmp_path / "req.csv", tmp_path / "req.png"
    result = run("staff", str(forecast), "--service-level", "80/20", "--patience", "120s", "--max-occupancy",
                 "0.85", "--shrinkage", "0.3", "--out", str(out), "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == REQUIREMENT_COLUMNS
    assert len(table) == 12 and set(table["queue"]) == {"billing", "chat"}
    billing = table[table["queue"] == "billing"].reset_index(drop=True)
    assert billing.loc[0, "agents"] == 0 and billing.loc[5, "agents"] == 0  # closed periods
    busy = billing[billing["volume"] > 0]
    rate = busy["volume"].to_numpy() / 900.0
    metrics = erlang_a(busy["agents"].to_numpy(), rate, 240.0, 120.0, 20.0)
    assert (metrics.service_level >= 0.8 - 1e-6).all() and (metrics.occupancy <= 0.85 + 1e-6).all()
    np.testing.assert_allclose(busy["abandon_rate"], metrics.abandon_rate, atol=1e-6)
    assert (busy["agents_scheduled"] == np.ceil(busy["agents"] / 0.7 - 1e-9)).all()
    assert plot.stat().st_size > 10_000


def test_policy_file_sets_per_queue_targets_and_flags_fill_the_rest(forecast: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[default]\nservice_level = "90/30"\nshrinkage = 0.2\n\n'
                      '[queues.chat]\nconcurrency = 2\nservice_level = "80/60"\n', encoding="utf-8")
    rules = read_policy(policy, flags={"shrinkage": 0.25})
    billing, chat = rules.for_queue("billing"), rules.for_queue("chat")
    assert (billing.service_level, billing.answer_within_s, billing.shrinkage) == (0.9, 30.0, 0.25)
    assert (chat.service_level, chat.answer_within_s, chat.concurrency, chat.shrinkage) == (0.8, 60.0, 2, 0.25)
    table, summaries = requirements_table(read_forecast(forecast), rules)
    chat_rows = table[(table["queue"] == "chat") & (table["volume"] > 0)]
    sl = service_level(chat_rows["agents"].to_numpy() * 2, chat_rows["volume"].to_numpy() / 900.0, 600.0, 60.0)
    np.testing.assert_allclose(chat_rows["service_level"], sl)
    assert {s.queue: s.model for s in summaries} == {"billing": "erlang_c", "chat": "erlang_c"}
    assert table["abandon_rate"].isna().all()


def test_yaml_policy_with_a_resolution_deadline_staffs_deferred_work(forecast: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("queues:\n  chat:\n    resolution_deadline: 30m\n", encoding="utf-8")
    table, summaries = requirements_table(read_forecast(forecast), read_policy(policy))
    assert {s.queue: s.model for s in summaries}["chat"] == "deferred"
    chat = table[table["queue"] == "chat"].reset_index(drop=True)
    # periods 1-3 are resolved within two periods of arriving (asa_s: from mid-period to the end of
    # the finishing period); period 4's work is due after the last (closed) period: still open
    assert (chat.loc[1:3, "asa_s"] <= 1.5 * 900).all()
    assert np.isnan(chat.loc[4, "asa_s"])
    assert chat.loc[4, "agents"] >= 1


@pytest.mark.parametrize(("row", "column", "value"), [
    (3, "volume", "-4"), (4, "volume", "lots"), (5, "aht_s", ""), (2, "period_start", "monday"),
])
def test_bad_forecast_rows_name_file_row_and_column(tmp_path: Path, row: int, column: str, value: str) -> None:
    frame = pd.DataFrame(day_rows(), columns=["queue", "period_start", "volume", "aht_s"])
    frame = frame.astype({"volume": object, "aht_s": object, "period_start": object})
    frame.loc[:, "volume"] = frame["volume"].where(frame["volume"] != 0, 3.0)
    frame.loc[:, "aht_s"] = frame["aht_s"].where(frame["aht_s"] != "", 240.0)
    frame.loc[row - 2, column] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInput) as info:
        read_forecast(path)
    assert info.value.row == row and info.value.field == column and info.value.file == str(path)


def test_bad_options_print_one_line_and_exit_2(forecast: Path) -> None:
    result = run("staff", str(forecast), "--service-level", "0/20")
    assert result.returncode == 2
    assert "service level must be in (0, 100]" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("text", "expected"), [("80/20", (0.8, 20.0)), ("90%/1m", (0.9, 60.0)),
                                                ("0.85", (0.85, None)), ("95", (0.95, None))])
def test_service_level_forms(text: str, expected: tuple[float, float | None]) -> None:
    assert parse_service_level(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["150/20", "80/0s", "abc", "-5"])
def test_bad_service_levels_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_service_level(text)


def test_durations() -> None:
    assert [parse_duration(v, "x") for v in ("120s", "2m", "1.5h", "2d", 45)] == [120, 120, 5400, 172800, 45]
    with pytest.raises(InvalidInput, match="2 weeks"):
        parse_duration("2 weeks", "x")


# ------------------------------------------------------------------------------------------- the API

BOOT = "boot-supervisor-key"


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[TestClient]:
    from api.service.app import create_app
    from api.service.settings import Settings

    app = create_app(Settings(redis_url=redis_url, bootstrap_key=BOOT, data_dir=tmp_path), dispatch=False)
    with TestClient(app) as tc:
        yield tc


def body() -> dict[str, Any]:
    periods = [{"queue": q, "period_start": s, "volume": v, "aht_s": a if a != "" else None}
               for q, s, v, a in day_rows()]
    return {"periods": periods, "targets": {"service_level": "80/20", "patience": "120s"},
            "queues": {"chat": {"concurrency": 3}}}


def test_api_returns_the_same_rows_as_the_cli_table(client: TestClient, forecast: Path) -> None:
    response = client.post("/v1/staffing/requirements", json=body(), headers={"Authorization": f"Bearer {BOOT}"})
    assert response.status_code == 200, response.text
    rows = pd.DataFrame(response.json()["rows"])
    rules = read_policy_from_dict()
    expected, _ = requirements_table(read_forecast(forecast), rules)
    assert rows["agents"].tolist() == expected["agents"].tolist()
    assert rows["agents_scheduled"].tolist() == expected["agents_scheduled"].tolist()
    totals = {q["queue"]: q for q in response.json()["queues"]}
    assert totals["chat"]["model"] == "erlang_a" and totals["billing"]["erlang_c_hours"] >= 0


def read_policy_from_dict() -> Any:
    from api.formats.staffing import build_policy

    return build_policy({"default": {"service_level": "80/20", "patience": "120s"},
                         "queues": {"chat": {"concurrency": 3}}})


def test_api_needs_a_supervisor_and_names_bad_values(client: TestClient) -> None:
    assert client.post("/v1/staffing/requirements", json=body()).status_code == 401
    bad = body()
    bad["periods"][3]["volume"] = -2
    response = client.post("/v1/staffing/requirements", json=bad, headers={"Authorization": f"Bearer {BOOT}"})
    assert response.status_code == 422
    assert response.json()["field"] == "volume" and response.json()["row"] == 3
    bad = body()
    bad["targets"]["shrinkage"] = 1.0
    response = client.post("/v1/staffing/requirements", json=bad, headers={"Authorization": f"Bearer {BOOT}"})
    assert response.status_code == 422 and "shrinkage" in response.json()["detail"]


def test_staff_repeats_the_forecast_s_assumed_days_and_carries_them_to_the_requirements(
    forecast: Path, tmp_path: Path
) -> None:
    from api.formats.forecast import read_forecast_notes, write_notes
    from forecasting.calendar import DayNote

    first_day = pd.Timestamp(pd.read_csv(forecast)["period_start"].iloc[0]).date()
    note = DayNote(day=first_day, queue="billing", status="open", factor=1.0,
                   reason="open: Veterans Day never seen in history")
    write_notes(forecast, [note])
    out = tmp_path / "req.csv"
    result = run("staff", str(forecast), "--service-level", "80/20", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Veterans Day never seen in history" in result.stdout
    assert read_forecast_notes(out) == [note]
