"""The dashboard's plan panels through the real service: the reforecast is its own series (null where actual
is known, joined at the last observed period), the shifts carry each agent's adherence now, and file panels
say they come from a file (the board labels them with their date)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.service.dashboard.panels import ShiftsToday, write_panel
from tests import plan_support
from tests.plan_support import DAY, Clock, at, forecast_csv, publish, put_agent, roster_csv, set_clock, sup
from tests.test_api import create_task

clock = plan_support.clock
plan_client = plan_support.plan_client


def _panel(client: TestClient, name: str) -> dict:  # type: ignore[type-arg]
    r = client.get(f"/dashboard/panels/{name}", headers=sup())
    assert r.status_code == 200, r.text
    return dict(r.json())


def _publish_day(client: TestClient) -> None:
    put_agent(client, "ann", {"billing": 3}, supervisor="sue")
    put_agent(client, "bob", {"billing": 3}, supervisor="sue", status="offline")
    assert publish(client, "forecast", forecast_csv("billing", [2.0] * 96)).status_code == 200
    assert publish(client, "roster", roster_csv(("ann", "07:00", "15:00", "12:00-12:30"),
                                                ("bob", "08:00", "16:00", ""))).status_code == 200


def test_reforecast_is_its_own_series_from_the_last_observed_period(plan_client: TestClient, clock: Clock) -> None:
    _publish_day(plan_client)
    set_clock(clock, at("07:50"))
    for i in range(6):  # 6 contacts by 08:00 against 64 forecast since midnight: the rest of the day falls
        create_task(plan_client, f"quiet-{i}")
    set_clock(clock, at("08:05"))
    body = _panel(plan_client, "forecast_today")
    assert body["source"] == "published plan"
    billing = body["data"]["queues"]["billing"]
    actual, refc = billing["actual"], billing["reforecast"]
    assert billing["upper"] is None  # no longer drawn as the forecast's band
    assert actual[31] == 6 and actual[32] == 0 and actual[33] is None
    assert all(r is None for r in refc[:32])  # where a later period is observed the lines would overlap
    assert refc[32] is not None and all(r is not None for r in refc[33:])
    assert refc[40] < billing["forecast"][40] == 2.0
    intraday = plan_client.get(f"/v1/intraday?queue=billing&date={DAY}", headers=sup()).json()["periods"]
    assert refc[32:] == [p["reforecast"] for p in intraday[32:]]


def test_shifts_carry_each_agents_adherence_now(plan_client: TestClient, clock: Clock) -> None:
    _publish_day(plan_client)
    set_clock(clock, at("08:30"))
    shifts = {s["agent_id"]: s for s in _panel(plan_client, "shifts_today")["data"]["shifts"]}
    assert shifts["ann"]["adherence"] == {"scheduled": "work", "status": "available", "in_adherence": True,
                                          "out_since": None}
    bob = shifts["bob"]["adherence"]
    assert bob["scheduled"] == "work" and bob["status"] == "offline" and bob["in_adherence"] is False
    assert bob["out_since"] is not None
    # the same verdicts as /v1/adherence
    board = {r["agent_id"]: r for r in plan_client.get("/v1/adherence", headers=sup()).json()}
    assert {a: s["adherence"]["in_adherence"] for a, s in shifts.items()} == {
        a: board[a]["in_adherence"] for a in shifts}


def test_file_panels_say_they_come_from_a_file(plan_client: TestClient, clock: Clock, tmp_path: Path) -> None:
    set_clock(clock, at("08:30"))
    old = ShiftsToday.model_validate({"date": "2026-11-23", "shifts": [
        {"agent_id": "ann", "start": "2026-11-23T07:00:00Z", "end": "2026-11-23T15:00:00Z"}]})
    write_panel(tmp_path / "report", old)
    body = _panel(plan_client, "shifts_today")
    assert body["source"] == "file" and body["data"]["date"] == "2026-11-23"
    assert body["data"]["shifts"][0]["adherence"] is None
    assert _panel(plan_client, "forecast_today") == {"name": "forecast_today", "data": None, "error": None,
                                                     "source": "file"}
