"""The dashboard's plan panels in a real headless Chromium (same service fixture as test_dashboard_browser):
file panels first, labelled with their date; then a forecast and roster are published and the board turns to
them — forecast, actual and reforecast as three lines, coverage vs requirement, and the shifts Gantt coloured
by each agent's adherence now. Saves a screenshot of those panels to .dispatchwise/screenshots/
(scripts/screenshot copies it to docs/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.test_dashboard_browser import (
    SUPERVISOR_KEY,
    WAIT_S,
    Service,
    chromium_context,
    service,
    wait_until,
)

__all__ = ["service"]

SCREENSHOT = Path(__file__).resolve().parent.parent / ".dispatchwise" / "screenshots" / "dashboard-plan.png"
FLOOR = [("p1", "Ada Lovelace", "available"), ("p2", "Grace Hopper", "available"),
         ("p3", "Alan Turing", "offline"), ("p4", "Barbara Liskov", "available")]


def publish_today(api: httpx.Client, now: datetime) -> None:
    """Agents on shift around ``now`` (site timezone UTC), one of them offline: out of adherence."""
    for agent_id, name, status in FLOOR:
        r = api.put(f"/v1/agents/{agent_id}", json={"name": name, "skills": {"billing": 4},
                                                    "primary_skills": ["billing"], "capacity": 1,
                                                    "supervisor": "maria.supervisor"})
        assert r.status_code == 200, r.text
        assert api.put(f"/v1/agents/{agent_id}/status", json={"status": status}).status_code == 200
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    lines = ["queue,period_start,volume,aht_s"]
    for i in range(96):  # a two-humped day of billing contacts
        hour = i / 4
        volume = 2 + 10 * max(0.0, 1 - abs(hour - 10.5) / 4) + 7 * max(0.0, 1 - abs(hour - 15) / 4)
        lines.append(f"billing,{(midnight + timedelta(minutes=15 * i)).isoformat()},{volume:.2f},300")
    r = api.put("/v1/plan/forecast", content="\n".join(lines).encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    rows = ["agent_id,date,start,end,breaks,skills"]
    for n, (agent_id, _, _) in enumerate(FLOOR):
        start = max(midnight, (now - timedelta(hours=3 - n / 2)).replace(second=0, microsecond=0))
        end = start + timedelta(hours=6)
        brk = start + timedelta(hours=4, minutes=15)  # still to come
        rows.append(f"{agent_id},{start.date()},{start.isoformat()},{end.isoformat()},"
                    f"{brk.isoformat()}/{(brk + timedelta(minutes=30)).isoformat()},billing")
    r = api.put("/v1/plan/roster", content=("\n".join(rows) + "\n").encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text


def test_plan_panels_render_from_the_published_plan(service: Service, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, chromium_context(pw, tmp_path) as context:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(service.url + "/")
        page.fill("#login-key", SUPERVISOR_KEY)
        page.click("#login-submit")
        page.wait_for_selector("#gantt .g-bar")
        # Nothing published: the demo's files, labelled with the day they hold.
        file_day = service.api.get("/dashboard/panels/forecast_today").json()["data"]["date"]
        assert page.inner_text("#forecast-when") == f"{file_day} · from file (nothing published)"
        assert page.inner_text("#coverage-when").startswith(file_day)
        assert page.inner_text("#shift-title") == f"Shifts of {file_day}"
        assert page.locator("#gantt .g-adh").count() == 0  # files know nothing of adherence

        now = datetime.now(UTC)
        publish_today(service.api, now)
        for i in range(5):
            assert service.api.post("/v1/tasks", json={"external_id": f"plan-{i}", "source": "web",
                                                       "skill": "billing"}).status_code == 201
        page.wait_for_function(  # the board re-asks its panels every 10 s
            "document.getElementById('forecast-when').textContent === 'today · published plan'",
            timeout=(WAIT_S + 10) * 1000)
        page.wait_for_function("document.querySelectorAll('#gantt .g-row .g-adh').length === 4",
                               timeout=WAIT_S * 1000)
        legend = page.locator("#forecast .u-legend").inner_text()
        assert "forecast" in legend and "actual" in legend and "reforecast" in legend, legend
        assert "80 % interval" not in legend  # the reforecast is a line of its own, not a band
        assert page.inner_text("#coverage-when") == "today · published plan"
        cover = service.api.get("/dashboard/panels/coverage_today").json()["data"]
        short = sum(s < r for s, r in zip(cover["scheduled"], cover["required"], strict=True))
        page.wait_for_selector("#coverage canvas")
        assert page.inner_text("#coverage").endswith(
            f"{short} of {len(cover['required'])} periods under-covered" if short else "every period covered")
        assert page.inner_text("#shift-title") == "Today's shifts"
        assert page.locator("#gantt .g-bar").count() == len(FLOOR)
        out = page.locator("#gantt .g-row.g-out")
        assert out.count() == 1 and out.get_attribute("data-agent") == "Alan Turing"
        assert page.locator("#gantt .g-bar.out").count() == 1
        assert "out of adherence: scheduled work, offline" in (out.locator(".who").get_attribute("title") or "")
        assert page.locator("#gantt .g-row .g-adh.in").count() == 3
        assert "1 of 4 agents out of adherence" in page.inner_text("#shift-summary")
        # the board's view is the service's: the same agent out of adherence in /v1/adherence
        board = wait_until("adherence", lambda: service.api.get("/v1/adherence").json())
        assert [r["agent_id"] for r in board if not r["in_adherence"]] == ["p3"]
        assert not errors, errors

        page.wait_for_timeout(300)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        box = page.locator("#forecast-card").bounding_box()
        shifts = page.locator("#shift-card").bounding_box()
        assert box is not None and shifts is not None
        page.screenshot(path=str(SCREENSHOT), full_page=True, clip={
            "x": 0, "y": box["y"] - 10, "width": 1440, "height": shifts["y"] + shifts["height"] - box["y"] + 20})
    assert SCREENSHOT.stat().st_size > 10_000
