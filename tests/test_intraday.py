"""Intraday through the real service: actual counted in the right period exactly, the re-forecast follows
actual volume, required agents by Erlang C, scheduled from the roster, and the staffing alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from api.live.intraday import Targets, raise_staffing_alerts
from api.store.plan import PlanStore
from dispatcher.erlang import required_agents
from tests import plan_support
from tests.plan_support import DAY, Clock, at, forecast_csv, publish, put_agent, roster_csv, set_clock, sup
from tests.test_api import create_task

clock = plan_support.clock
plan_client = plan_support.plan_client


def _intraday(client: TestClient, queue: str = "billing") -> dict[str, Any]:
    r = client.get(f"/v1/intraday?queue={queue}&date={DAY}", headers=sup())
    assert r.status_code == 200, r.text
    return dict(r.json())


def _setup(client: TestClient, volume: float) -> None:
    put_agent(client, "ann", {"billing": 3}, supervisor="sue")
    put_agent(client, "bob", {"billing": 3, "tech": 2}, supervisor="sue", status="offline")
    assert publish(client, "forecast", forecast_csv("billing", [volume] * 96)).status_code == 200
    assert publish(client, "roster", roster_csv(("ann", "07:00", "15:00", "12:00-12:30"),
                                                ("bob", "08:00", "16:00", "", "tech"))).status_code == 200


def test_posted_tasks_appear_in_actual_of_their_period_exactly(plan_client: TestClient, clock: Clock) -> None:
    _setup(plan_client, 4.0)
    for moment, n, skill in ((at("07:30"), 2, "billing"), (at("07:44") + timedelta(seconds=59), 1, "billing"),
                             (at("07:45"), 3, "billing"), (at("07:50"), 5, "tech")):
        set_clock(clock, moment)
        for i in range(n):
            create_task(plan_client, f"{skill}-{moment.minute}-{i}", skill=skill)
    set_clock(clock, at("08:05"))
    create_task(plan_client, "now-1")
    periods = _intraday(plan_client)["periods"]
    assert len(periods) == 96 and periods[30]["period_start"] == f"{DAY}T07:30:00Z"
    assert [p["actual"] for p in periods[28:33]] == [0, 0, 3, 3, 1]
    assert all(p["actual"] is None for p in periods[33:])
    assert sum(p["actual"] or 0 for p in periods) == 7
    # asking again counts nothing twice
    assert [p["actual"] for p in _intraday(plan_client)["periods"][28:33]] == [0, 0, 3, 3, 1]


def test_reforecast_rises_when_actual_runs_above_forecast(plan_client: TestClient, clock: Clock) -> None:
    _setup(plan_client, 0.5)
    set_clock(clock, at("08:00"))
    quiet = _intraday(plan_client)["periods"]
    assert quiet[40]["reforecast"] < quiet[40]["forecast"] == 0.5  # nothing yet: the rest of the day shrinks
    set_clock(clock, at("07:00"))
    for i in range(60):
        create_task(plan_client, f"busy-{i}")
    set_clock(clock, at("08:00"))
    busy = _intraday(plan_client)["periods"]
    assert busy[28]["actual"] == 60 and busy[28]["reforecast"] == 60
    assert busy[40]["reforecast"] > busy[40]["forecast"]
    assert busy[40]["reforecast"] == round(0.5 * (60 + 30) / (16 + 30), 3)  # (A + prior) / (F + prior), prior 30


def test_required_scheduled_and_available_per_period(plan_client: TestClient, clock: Clock) -> None:
    _setup(plan_client, 4.0)
    set_clock(clock, at("12:10"))
    view = _intraday(plan_client)
    periods = view["periods"]
    refc = np.array([p["reforecast"] for p in periods])
    expected = required_agents(refc / 900, 300.0, target_sl=0.8, answer_within_s=20.0)
    assert [p["required"] for p in periods[49:]] == expected[49:].tolist()
    # ann 07:00-15:00 with a break 12:00-12:30; bob's shift is planned on tech
    scheduled = [p["scheduled"] for p in periods]
    assert scheduled[27] == 0 and scheduled[28] == 1 and scheduled[47] == 1
    assert scheduled[48] == scheduled[49] == 0 and scheduled[50] == 1 and scheduled[59] == 1 and scheduled[60] == 0
    assert periods[48]["available"] == 1 and periods[49]["available"] is None  # ann is still available (12:10)


def test_next_hour_below_target_raises_one_staffing_alert(plan_client: TestClient, clock: Clock) -> None:
    _setup(plan_client, 30.0)  # 30 contacts of 5 min per 15 min: 10 Erlangs against ann alone
    set_clock(clock, at("09:00"))
    view = _intraday(plan_client)
    assert view["next_hour_short"][0]["shortfall"] == view["periods"][36]["required"] - 1
    queue = plan_client.app.state.queue  # type: ignore[attr-defined]
    plan = PlanStore(queue)
    now = datetime.fromtimestamp(clock.now, UTC)
    portal = plan_client.portal
    assert portal is not None
    assert portal.call(lambda: raise_staffing_alerts(queue, plan, now, Targets())) == 1
    assert portal.call(lambda: raise_staffing_alerts(queue, plan, now, Targets())) == 0
    (alert,) = [a for a in plan_client.get("/v1/alerts", headers=sup()).json() if a["kind"] == "staffing"]
    assert alert["owner"] == "sue" and alert["skill"] == "billing" and "09:00 short" in alert["message"]


def test_unknown_queue_or_day_is_404(plan_client: TestClient) -> None:
    _setup(plan_client, 1.0)
    r = plan_client.get("/v1/intraday?queue=tech&date=2027-01-15", headers=sup())
    assert r.status_code == 404 and "tech" in r.json()["message"]


def test_dashboard_panels_come_from_the_published_plan(plan_client: TestClient, clock: Clock) -> None:
    _setup(plan_client, 4.0)
    set_clock(clock, at("07:40"))
    create_task(plan_client, "early")
    set_clock(clock, at("08:00"))
    shifts = plan_client.get("/dashboard/panels/shifts_today", headers=sup()).json()
    assert shifts["source"] == "published plan"
    assert [(s["agent_id"], s["skills"]) for s in shifts["data"]["shifts"]] == [("ann", []), ("bob", ["tech"])]
    forecast = plan_client.get("/dashboard/panels/forecast_today", headers=sup()).json()["data"]
    assert forecast["date"] == DAY and forecast["queues"]["billing"]["actual"][30] == 1
    coverage = plan_client.get("/dashboard/panels/coverage_today", headers=sup()).json()["data"]
    assert coverage["scheduled"][28] == 1 and coverage["scheduled"][27] == 0
