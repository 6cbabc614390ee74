"""The dashboard in a real headless Chromium against a running service (uvicorn + real Redis).

Needs Debian's /usr/bin/chromium and the playwright package (never `playwright install`): skipped
without them, but a failure when the CI environment variable is set (scripts/install-browser
provides both). Saves a screenshot to .dispatchwise/screenshots/dashboard.png (untracked: a test run
never rewrites docs/; ``scripts/screenshot`` copies it to docs/dashboard.png on purpose).
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
import redis
import uvicorn

from api.ports import free_port
from api.service import dashboard
from api.service.app import create_app
from api.service.dashboard.panels import (
    CoverageToday,
    ForecastToday,
    QueueSeries,
    ScenarioResult,
    ShiftBar,
    ShiftsToday,
    SimulationResults,
    TimeSpan,
    write_panel,
)
from api.service.settings import Settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parent.parent / ".dispatchwise" / "screenshots" / "dashboard.png"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SUPERVISOR_KEY = "dw_browser_test_supervisor"
SITE_TZ = ZoneInfo("America/New_York")
WAIT_S = 15.0


def require_browser() -> None:
    """A missing browser is a failure, never a silent skip: scripts/test installs it (as root); without root,
    deselect the test explicitly with ``scripts/test -m "not browser"``."""
    problems = []
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is missing (run scripts/install-browser)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright Python package is missing (pip install playwright; no `playwright install`)")
    if problems:
        message = "browser test cannot run: " + "; ".join(problems)
        pytest.fail(message + ' — or deselect it with -m "not browser"')


def wait_until(what: str, check: Callable[[], Any], timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class Service:
    url: str
    api: httpx.Client
    redis_url: str


@pytest.fixture()
def service(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Service]:
    require_browser()
    settings = Settings(redis_url=redis_url, bootstrap_key=SUPERVISOR_KEY, data_dir=tmp_path,
                        dispatch_interval_s=0.2)
    app = create_app(settings, dispatch=True)
    if not any(getattr(route, "path", "") == "/dashboard/panels/{name}" for route in app.routes):
        app.include_router(dashboard.router)  # until create_app mounts it itself
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="dashboard-uvicorn", daemon=True)
    thread.start()
    try:
        wait_until("uvicorn to start", lambda: server.started or not thread.is_alive())
        assert thread.is_alive(), "uvicorn exited during start-up"
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {SUPERVISOR_KEY}"}, timeout=10) as api:
            write_sample_panels(tmp_path / "report", datetime.now(SITE_TZ))
            yield Service(url=url, api=api, redis_url=redis_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ---- a small but realistic floor: agents, tasks in every quadrant, SLA alerts, report panels -------
AGENTS = [
    ("a01", "Ada Lovelace", {"billing": 5, "tech": 3}, ["billing"], "available"),
    ("a02", "Grace Hopper", {"tech": 5}, ["tech"], "available"),
    ("a03", "Alan Turing", {"tech": 4, "sales": 2}, ["tech"], "available"),
    ("a04", "Edsger Dijkstra", {"billing": 4}, ["billing"], "break"),
    ("a05", "Barbara Liskov", {"sales": 5, "billing": 2}, ["sales"], "available"),
    ("a06", "Donald Knuth", {"sales": 4}, ["sales"], "offline"),
    ("a07", "Frances Allen", {"billing": 3, "sales": 3}, ["billing"], "available"),
    ("a08", "John Backus", {"tech": 3}, ["tech"], "break"),
]


TEAM_OF_SKILL = {"billing": "Team Billing", "tech": "Team Tech", "sales": "Team Sales"}


def seed_floor(api: httpx.Client) -> None:
    for agent_id, name, skills, primary, status in AGENTS:
        resp = api.put(f"/v1/agents/{agent_id}", json={
            "name": name, "skills": skills, "primary_skills": primary, "capacity": 2,
            "team": TEAM_OF_SKILL[primary[0]], "supervisor": "maria.supervisor"})
        assert resp.status_code == 200, resp.text
        assert api.put(f"/v1/agents/{agent_id}/status", json={"status": status}).status_code == 200
    # skill, urgent, important, how many, deadline offset (minutes; None = policy default)
    served = [("billing", True, True, 4, None), ("tech", True, True, 5, None), ("tech", False, True, 4, None),
              ("sales", True, False, 3, None), ("billing", False, False, 6, None)]
    create_tasks(api, served, "seed")
    # Accept some of the dispatcher's offers, so agents show work in hand.
    offered = wait_until("the dispatch loop to offer tasks", lambda: [
        a for a in api.get("/v1/agents").json() if a["tasks"]])
    for agent in offered[:3]:
        task = api.get(f"/v1/tasks/{agent['tasks'][0]}").json()
        if task["offer_id"] and task["status"] == "offered":
            api.post(f"/v1/offers/{task['offer_id']}/accept")
    # Nobody holds "claims": these wait, and the past deadlines raise SLA alerts.
    unserved = [("claims", True, True, 2, -22), ("claims", False, True, 3, 2), ("claims", True, False, 2, -40),
                ("claims", False, False, 4, None)]
    create_tasks(api, unserved, "claims")
    wait_until("the SLA monitor to raise alerts", lambda: api.get("/v1/alerts").json())


def accepted_tasks(api: httpx.Client) -> list[dict[str, Any]]:
    """Tasks agents hold (accepted offers), oldest agent id first."""
    held = []
    for agent in sorted(api.get("/v1/agents").json(), key=lambda a: a["id"]):
        for task_id in agent["tasks"]:
            task = api.get(f"/v1/tasks/{task_id}").json()
            if task["status"] == "assigned":
                held.append(task)
    return held


def complete_through_agent_flow(service: Service) -> str:
    """An agent signs in with its own key, accepts the offer it holds and completes the task; returns the task id."""
    api = service.api

    def an_offer() -> dict[str, Any] | None:
        for agent in api.get("/v1/agents").json():
            for task_id in agent["tasks"]:
                task = api.get(f"/v1/tasks/{task_id}").json()
                if task["status"] == "offered" and task["offer_id"]:
                    return task
        return None

    task = wait_until("an open offer for an agent", an_offer)
    key = api.post("/v1/keys", json={"role": "agent", "agent_id": task["agent_id"]})
    assert key.status_code in (200, 201), key.text
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key.json()['key']}"},
                      timeout=10) as agent_api:
        accepted = agent_api.post(f"/v1/offers/{task['offer_id']}/accept")
        assert accepted.status_code == 200, accepted.text
        done = agent_api.post(f"/v1/tasks/{task['id']}/complete", json={
            "resolution_code": "solved", "first_contact_resolved": True})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
    return str(task["id"])


def seed_performance(service: Service) -> dict[str, Any]:
    """Completed work (one through an agent's own key, the rest by the supervisor), a rating, a target with an
    owner and deadline, and an improvement plan with an overdue action whose owner has been alerted."""
    api = service.api
    complete_through_agent_flow(service)
    for task in accepted_tasks(api)[:2]:
        done = api.post(f"/v1/tasks/{task['id']}/complete", json={"first_contact_resolved": True})
        assert done.status_code == 200, done.text
        assert api.post(f"/v1/tasks/{task['id']}/satisfaction", json={"score": 5}).status_code == 204
    deadline = (datetime.now(SITE_TZ) + timedelta(days=45)).date().isoformat()
    target = api.post("/v1/targets", json={
        "kpi": "sla", "level": "queue", "scope": "billing", "value": 0.8, "owner": "team lead Bea",
        "deadline": deadline, "description": "billing SL >= 80 % by the deadline"})
    assert target.status_code == 201, target.text
    due = (datetime.now(SITE_TZ) - timedelta(days=3)).date().isoformat()
    plan = api.post("/v1/plans", json={
        "target_id": target.json()["id"], "title": "Billing recovery", "owner": "team lead Bea",
        "actions": [{"description": "Cross-train two tech agents on billing", "owner": "coach Carl", "due": due}]})
    assert plan.status_code == 201, plan.text
    alerts = api.post("/v1/plans/alerts/sweep")
    assert alerts.status_code == 200 and len(alerts.json()) == 1, alerts.text
    return {"target": target.json(), "plan": plan.json(), "deadline": deadline, "due": due}


@contextlib.contextmanager
def chromium_context(pw: Any, tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium profile at the dashboard's test size, closed afterwards."""
    context = pw.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1440, "height": 1000}, device_scale_factor=1,
    )
    try:
        yield context
    finally:
        context.close()


def handled_on_board(page: Any) -> int:
    cells = page.locator('#scorecards tr.card-row td[data-metric="handled"]').all_inner_texts()
    return sum(int(c) for c in cells)


def create_tasks(api: httpx.Client, plan: list[tuple[str, bool, bool, int, int | None]], prefix: str) -> None:
    now = datetime.now(SITE_TZ)
    n = 0
    for skill, urgent, important, count, due_min in plan:
        for _ in range(count):
            n += 1
            body: dict[str, Any] = {"external_id": f"{prefix}-{n}", "source": "crm", "skill": skill,
                                    "urgent": urgent, "important": important, "expected_handle_s": 420}
            if due_min is not None:
                body["due_at"] = (now + timedelta(minutes=due_min)).isoformat()
            resp = api.post("/v1/tasks", json=body)
            assert resp.status_code == 201, resp.text


def write_sample_panels(report_dir: Path, now: datetime) -> None:
    """Forecast, coverage, shifts and simulation panels for today, shaped like a real contact centre."""
    rng = np.random.default_rng(7)
    day = now.date()
    opening = datetime(day.year, day.month, day.day, 7, tzinfo=SITE_TZ)
    periods = [opening + timedelta(minutes=15 * i) for i in range(60)]  # 07:00-22:00
    hours = np.array([7 + i / 4 for i in range(60)])
    shape = np.exp(-((hours - 10.5) ** 2) / 3.5) + 0.75 * np.exp(-((hours - 15) ** 2) / 5) + 0.12
    queues = {}
    for name, scale in (("billing", 12.0), ("tech", 8.0), ("sales", 4.0)):
        forecast = scale * shape
        actual = rng.poisson(forecast * rng.uniform(0.9, 1.12)).astype(float)
        actual[[p > now for p in periods]] = np.nan
        queues[name] = QueueSeries(forecast=forecast.round(2), actual=actual, lower=(forecast * 0.8).round(2),
                                   upper=(forecast * 1.22).round(2))
    load = np.array([sum(q.forecast[i] for q in queues.values()) for i in range(60)]) * 300 / 900
    required = np.ceil(load / 0.85 + 1)
    shifts = []
    starts = [7, 7, 7.5, 8, 8, 8.5, 9, 9, 9.5, 10, 11, 12, 12.5, 13, 13.5, 14]
    names = [a[1] for a in AGENTS] + ["Ken Thompson", "Radia Perlman", "Leslie Lamport", "Margaret Hamilton",
                                      "Tim Berners-Lee", "Shafi Goldwasser", "Niklaus Wirth", "Karen Jones"]
    scheduled = np.zeros(60)
    for i, (start_h, name) in enumerate(zip(starts, names, strict=True)):
        start = opening + timedelta(hours=start_h - 7)
        end = min(start + timedelta(hours=8.5), opening + timedelta(hours=15))
        brk = start + timedelta(hours=4 + (i % 3) * 0.5)
        shifts.append(ShiftBar(agent_id=f"s{i:02d}", agent_name=name, start=start, end=end,
                               breaks=[TimeSpan(start=brk, end=brk + timedelta(minutes=30))],
                               skills=["billing"] if i % 3 == 0 else ["tech"] if i % 3 == 1 else ["sales", "billing"]))
        for p, t in enumerate(periods):
            if start <= t < end and not brk <= t < brk + timedelta(minutes=30):
                scheduled[p] += 1
    write_panel(report_dir, ForecastToday(date=day, timezone="America/New_York", period_start=periods, queues=queues))
    write_panel(report_dir, CoverageToday(date=day, timezone="America/New_York", period_start=periods,
                                          required=required, scheduled=scheduled))
    write_panel(report_dir, ShiftsToday(date=day, timezone="America/New_York", shifts=shifts))
    write_panel(report_dir, SimulationResults(replications=20, baseline="as rostered", scenarios=[
        ScenarioResult(name="as rostered", service_level=0.823, asa_s=17.4, abandonment=0.031, occupancy=0.862,
                       ci95={"service_level": (0.808, 0.838)}),
        ScenarioResult(name="volume +10 %", service_level=0.714, asa_s=33.9, abandonment=0.052, occupancy=0.912,
                       ci95={"service_level": (0.697, 0.731)}),
        ScenarioResult(name="2 absentees", service_level=0.768, asa_s=24.8, abandonment=0.041, occupancy=0.893),
        ScenarioResult(name="greedy routing", service_level=0.791, asa_s=19.6, abandonment=0.035, occupancy=0.861),
    ]))
    assert math.isfinite(float(required.sum()))


def test_dashboard_shows_live_queue_changes_in_a_real_browser(service: Service, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    seed_floor(service.api)
    perf = seed_performance(service)
    with sync_playwright() as pw, chromium_context(pw, tmp_path) as context:
        page = context.new_page()
        console_errors: list[str] = []
        page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: console_errors.append(str(exc)))
        page.goto(service.url + "/")

        # A wrong key is refused on the login form; the right one opens the board.
        page.wait_for_selector("#login-form", state="visible")
        page.fill("#login-key", "dw_not_a_key")
        page.click("#login-submit")
        page.wait_for_function("document.getElementById('login-error').textContent.includes('Sign-in failed')")
        assert page.is_visible("#login-form")
        console_errors.clear()  # the refused key's 401 is expected
        page.fill("#login-key", SUPERVISOR_KEY)
        page.click("#login-submit")
        page.wait_for_selector("#board", state="visible")
        assert page.evaluate("sessionStorage.getItem('dispatchwise.key')") == SUPERVISOR_KEY

        claims = '[data-skill="claims"] [data-testid="skill-depth"]'
        page.wait_for_selector(claims)
        page.wait_for_selector("#live.on", timeout=WAIT_S * 1000)  # the SSE stream is open
        before_claims = int(page.inner_text(claims))
        before_total = int(page.inner_text('[data-testid="queue-total"]'))
        assert before_claims == 11  # nobody holds the claims skill: all of them wait

        created = service.api.post("/v1/tasks", json={
            "external_id": "browser-1", "source": "web", "skill": "claims", "urgent": True, "important": True})
        assert created.status_code == 201, created.text
        page.wait_for_function(
            f"document.querySelector('{claims}').textContent === '{before_claims + 1}'", timeout=WAIT_S * 1000)
        assert int(page.inner_text('[data-testid="queue-total"]')) != before_total

        # The file-fed panels and the rest of the board rendered.
        page.wait_for_selector("#forecast canvas")
        page.wait_for_selector("#coverage canvas")
        page.wait_for_selector("#gantt .g-bar")
        assert page.locator("#gantt .g-bar").count() == 16
        assert page.locator("#simulation tbody tr").count() == 4
        assert page.locator("#agents .agent").count() == len(AGENTS)
        assert page.locator("#alerts .alert-row").count() >= 1
        assert page.locator("#kpis .kpi").count() == 4
        # Scorecards: one row per team that completed work, each composite explained by its parts.
        page.wait_for_selector("#scorecards tr.card-row")
        teams = page.locator("#scorecards tr.card-row td.key").all_inner_texts()
        assert teams and set(teams) <= set(TEAM_OF_SKILL.values()), teams
        # The board shows what the API counts for today's window (the panel refreshes on its own timer).
        midnight = datetime.now(SITE_TZ).replace(hour=0, minute=0, second=0, microsecond=0)

        def api_handled() -> int:
            cards = service.api.get("/v1/scorecards", params={"level": "team", "from": midnight.isoformat()}).json()
            return int(sum(c["metrics"]["handled"] or 0 for c in cards["cards"]))

        wait_until("the board's handled count to match the API", lambda: handled_on_board(page) == api_handled())
        assert 2 <= handled_on_board(page) <= 3  # seeded completions (see the closing note on the 2-vs-3 count)
        opened = page.locator("#scorecards tr.card-row").first.get_attribute("data-key")
        composite = page.locator(f'#scorecards tr[data-key="{opened}"] [data-testid="composite"]')
        assert " = " in (composite.get_attribute("title") or "")  # the explain() text: parts summed
        composite.click()
        parts = page.locator("#scorecards tr.parts-row:not([hidden]) table.parts tbody tr")
        assert parts.count() >= 5
        assert "sla" not in parts.first.inner_text()  # labelled for people, not column names
        assert "SLA attainment" in page.inner_text("#scorecards tr.parts-row:not([hidden])")

        # Targets: the one created through the API, with its owner, deadline, achievement and status.
        row = page.wait_for_selector(f'#targets [data-target-id="{perf["target"]["id"]}"]')
        text = row.inner_text()
        assert "SLA attainment ≥ 80.0 %" in text and "queue billing" in text, text
        assert "team lead Bea" in text and perf["deadline"] in text, text
        assert "%" in row.query_selector('[data-testid="achievement"]').inner_text()
        action = page.wait_for_selector("#plan-actions .action-row")
        text = action.inner_text()
        assert "coach Carl" in text and perf["due"] in text and "owner alerted" in text, text

        # Another completion reaches the scorecards (after its task event, or by the 10 s refresh at the latest).
        handled_before = handled_on_board(page)
        complete_through_agent_flow(service)
        page.wait_for_function(
            "Array.from(document.querySelectorAll('#scorecards tr.card-row td[data-metric=\"handled\"]'))"
            f".reduce((n, td) => n + parseInt(td.textContent, 10), 0) === {handled_before + 1}", timeout=WAIT_S * 1000)

        # The level picker re-asks for queue scorecards.
        page.select_option("#scorecard-level", "queue")
        page.wait_for_function("document.getElementById('scorecard-summary').textContent.includes('queue')",
                               timeout=WAIT_S * 1000)
        queues = set(page.locator("#scorecards tr.card-row td.key").all_inner_texts())
        assert queues == {"billing", "tech", "sales", "claims"}, queues  # claims: created, none handled
        page.select_option("#scorecard-level", "team")
        page.wait_for_function("document.getElementById('scorecard-summary').textContent.includes('team')",
                               timeout=WAIT_S * 1000)
        # The breakdown opened above stays open across re-renders (and shows in the picture).
        page.wait_for_selector(f'#scorecards tr[data-key="{opened}"] [aria-expanded="true"]')
        assert page.locator("#scorecards tr.parts-row:not([hidden])").count() == 1

        assert page.locator(".empty.error").count() == 0
        assert not console_errors, console_errors

        page.wait_for_timeout(300)  # let the last repaint land before the picture
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Without the event stream (a proxy that drops SSE), the board falls back to polling.
        polled = context.new_page()
        polled.route("**/dashboard/events*", lambda route: route.abort())
        # A server with nothing to score or track yet: the panels say so instead of drawing empty tables.
        polled.route("**/v1/scorecards*", lambda route: route.fulfill(
            status=200, content_type="application/json", body='{"level": "team", "dimensions": [], "cards": []}'))
        polled.route("**/v1/targets", lambda route: route.fulfill(
            status=200, content_type="application/json", body="[]"))
        polled.goto(service.url + "/")  # a new tab: sessionStorage is per tab, so sign in again
        polled.fill("#login-key", SUPERVISOR_KEY)
        polled.click("#login-submit")
        polled.wait_for_selector(claims)
        polled.wait_for_selector("#live.poll", timeout=WAIT_S * 1000)
        polled.wait_for_selector("#scorecards .empty")
        assert polled.inner_text("#scorecards") == "no data yet"
        assert polled.inner_text("#targets") == "no targets set"
        assert "coach Carl" in polled.inner_text("#plan-actions")  # the real plans still show
        shown = int(polled.inner_text(claims))
        assert service.api.post("/v1/tasks", json={
            "external_id": "browser-2", "source": "web", "skill": "claims"}).status_code == 201
        polled.wait_for_function(
            f"document.querySelector('{claims}').textContent === '{shown + 1}'", timeout=WAIT_S * 1000)
    assert SCREENSHOT.stat().st_size > 20_000


def test_missing_browser_is_a_failure_that_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    for ci in ("true", ""):
        monkeypatch.setenv("CI", ci)
        with pytest.raises(pytest.fail.Exception, match=r"no-chromium is missing.*scripts/install-browser"):
            require_browser()
