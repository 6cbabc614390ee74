"""The dashboard's HTTP surface: the page, its assets, supervisor-only panels and the ?key= event stream."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.service import dashboard
from api.service.app import create_app
from api.service.dashboard.panels import ScenarioResult, SimulationResults, panel_path, write_panel
from api.service.settings import Settings

SUPERVISOR_KEY = "dw_test_dashboard_supervisor"


def dashboard_app(redis_url: str, data_dir: Path) -> FastAPI:
    app = create_app(Settings(redis_url=redis_url, bootstrap_key=SUPERVISOR_KEY, data_dir=data_dir), dispatch=False)
    if not any(getattr(route, "path", "") == "/dashboard/panels/{name}" for route in app.routes):
        app.include_router(dashboard.router)  # until create_app mounts it itself
    return app


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(dashboard_app(redis_url, tmp_path)) as c:  # redis_client: a flushed database
        yield c


def auth(key: str = SUPERVISOR_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_key(client: TestClient, role: str, agent_id: str | None = None) -> str:
    body = {"role": role} if agent_id is None else {"role": role, "agent_id": agent_id}
    resp = client.post("/v1/keys", json=body, headers=auth())
    assert resp.status_code in (200, 201), resp.text
    return str(resp.json()["key"])


def test_page_is_public_and_asks_for_a_key(client: TestClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert 'id="login-form"' in resp.text
    assert 'type="password"' in resp.text


def test_every_asset_the_page_references_is_served_with_its_type(client: TestClient) -> None:
    page = client.get("/").text
    refs = re.findall(r'(?:src|href)="(/dashboard/static/[^"]+)"', page)
    assert len(refs) >= 4
    for ref in refs:
        resp = client.get(ref)
        assert resp.status_code == 200, ref
        kind = "javascript" if ref.endswith(".js") else "css"
        assert kind in resp.headers["content-type"], ref
        assert len(resp.content) > 500, ref


def test_vendored_chart_library_ships_with_its_license(client: TestClient) -> None:
    js = client.get("/dashboard/static/uplot.iife.min.js").text
    assert js.startswith("/*! https://github.com/leeoniya/uPlot")
    assert "MIT License" in client.get("/dashboard/static/uplot.LICENSE").text


def test_unknown_asset_is_a_json_404_not_a_file_read(client: TestClient) -> None:
    for name in ("nope.js", "..%2F..%2Fsettings.py", "routes.py"):
        resp = client.get(f"/dashboard/static/{name}")
        assert resp.status_code == 404, name
        assert resp.json()["error"] == "NotFound"


def test_panels_need_a_supervisor_key(client: TestClient) -> None:
    assert client.get("/dashboard/panels/simulation").status_code == 401
    assert client.get("/dashboard/panels/simulation", headers=auth("wrong")).status_code == 401
    integration = make_key(client, "integration")
    assert client.get("/dashboard/panels/simulation", headers=auth(integration)).status_code == 403
    assert client.get("/dashboard/panels/simulation", headers=auth()).status_code == 200


def test_absent_panel_file_is_served_as_no_data(client: TestClient) -> None:
    for name in ("forecast_today", "coverage_today", "shifts_today", "simulation"):
        assert client.get(f"/dashboard/panels/{name}", headers=auth()).json() == {
            "name": name, "data": None, "error": None, "source": "file"}


def test_panel_serves_what_the_demo_wrote(client: TestClient, tmp_path: Path) -> None:
    write_panel(tmp_path / "report", SimulationResults(replications=20, baseline="base", scenarios=[
        ScenarioResult(name="base", service_level=0.82, asa_s=14.5, abandonment=0.03, occupancy=0.86,
                       ci95={"service_level": (0.8, 0.84)}),
        ScenarioResult(name="volume +10%", service_level=0.71, asa_s=31.0, abandonment=0.06, occupancy=0.91),
    ]))
    body = client.get("/dashboard/panels/simulation", headers=auth()).json()
    assert body["error"] is None
    assert [s["name"] for s in body["data"]["scenarios"]] == ["base", "volume +10%"]
    assert body["data"]["scenarios"][0]["ci95"] == {"service_level": [0.8, 0.84]}
    assert body["data"]["scenarios"][1]["asa_s"] == 31.0


def test_broken_panel_file_is_reported_in_the_panel_not_as_a_server_error(client: TestClient, tmp_path: Path) -> None:
    path = panel_path(tmp_path / "report", "coverage_today")
    path.parent.mkdir(parents=True)
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    times = [start.isoformat(), (start + timedelta(minutes=15)).isoformat()]
    path.write_text(json.dumps({"date": "2026-11-23", "period_start": times, "required": [3], "scheduled": [3, 4]}))
    resp = client.get("/dashboard/panels/coverage_today", headers=auth())
    assert resp.status_code == 200
    assert resp.json()["data"] is None
    assert "required has 1 values but period_start has 2" in resp.json()["error"]
    assert "coverage_today.json" in resp.json()["error"]


def test_unknown_panel_is_404(client: TestClient) -> None:
    resp = client.get("/dashboard/panels/payroll", headers=auth())
    assert resp.status_code == 404
    assert "payroll" in resp.json()["detail"]


def test_event_stream_authenticates_by_session_cookie_not_by_a_key_in_the_url(client: TestClient) -> None:
    assert client.get("/dashboard/events").status_code == 401
    assert client.get("/dashboard/events", params={"key": SUPERVISOR_KEY}).status_code == 401  # no key in URLs
    assert client.post("/dashboard/session", headers={"Authorization": "Bearer wrong"}).status_code == 401
    integration = make_key(client, "integration")
    assert client.post("/dashboard/session", headers={"Authorization": f"Bearer {integration}"}).status_code == 403
    created = client.post("/v1/tasks", headers=auth(), json={
        "external_id": "ext-1", "source": "web", "skill": "billing", "urgent": True, "important": True})
    assert created.status_code == 201, created.text
    opened = client.post("/dashboard/session", headers=auth())
    assert opened.status_code == 204
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert SUPERVISOR_KEY not in cookie
    resp = client.get("/dashboard/events", params={"since": "0", "max_events": 1})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert "event: task" in resp.text
    assert created.json()["id"] in resp.text


def test_page_has_the_performance_panels_and_the_script_reads_their_endpoints(client: TestClient) -> None:
    page = client.get("/").text
    for node in ('id="scorecard-card"', 'id="scorecards"', 'id="scorecard-level"', 'id="scorecard-window"',
                 'id="target-card"', 'id="targets"', 'id="plan-actions"'):
        assert node in page, node
    levels = re.search(r'<select id="scorecard-level".*?</select>', page, re.S)
    assert levels is not None
    assert re.findall(r'<option value="(\w+)"', levels.group(0)) == ["team", "agent", "queue"]
    script = client.get("/dashboard/static/dashboard.js").text
    for endpoint in ("/v1/scorecards?level=", "/v1/targets", "/v1/plans", "/v1/plans/alerts"):
        assert endpoint in script, endpoint


def test_endpoints_the_performance_panels_read_exist_for_a_supervisor_only(client: TestClient) -> None:
    integration = make_key(client, "integration")
    for path in ("/v1/scorecards?level=team", "/v1/scorecards?level=agent", "/v1/scorecards?level=queue",
                 "/v1/targets", "/v1/plans", "/v1/plans/alerts"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=auth(integration)).status_code == 403, path
        resp = client.get(path, headers=auth())
        assert resp.status_code == 200, (path, resp.text)
    empty = client.get("/v1/scorecards", params={"level": "team", "from": "2026-11-23T05:00:00.000Z"}, headers=auth())
    assert empty.json()["cards"] == []  # the JavaScript's toISOString() form is accepted; nothing yet: "no data yet"
