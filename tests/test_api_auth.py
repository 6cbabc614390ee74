"""Auth matrix: every role against every route of the app; an agent key never reads or acts for another
agent. The route list comes from ``create_app().routes``: a route without an entry here fails the test,
so a new endpoint cannot ship without an explicit decision on who may call it."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # FastAPI before 0.137.2 copies included routes into app.routes: already flat
    def iter_route_contexts(routes: Any) -> Any:  # type: ignore[misc]
        return iter(routes)

from api.service.app import create_app
from api.service.settings import Settings
from dispatcher.errors import Conflict

BOOT = "authz-boot-key"
PREFIX = "authz"
ROLES = ("none", "bad", "integration", "supervisor", "agent_self", "agent_other")
INT, S, A = "integration", "supervisor", "agent_self"
PUBLIC = set(ROLES)
OK = "ok"  # any 2xx


@dataclass(frozen=True)
class Case:
    """One route: a concrete request and the roles allowed through. ``passed`` is what an allowed caller
    gets (2xx, or e.g. 404/422 for a made-up id or an empty body: past auth, into the handler)."""

    url: str
    allowed: set[str]
    body: Any = None
    passed: int | str = OK
    session_cookie: bool = False  # EventSource cannot send headers: the key opens a session (cookie) first


# (method, route path as the app declares it) -> case
MATRIX: dict[tuple[str, str], Case] = {
    # live dispatch
    ("POST", "/v1/tasks"): Case("/v1/tasks", {INT, S}, {"external_id": "{uniq}", "source": "crm", "skill": "billing"}),
    ("GET", "/v1/tasks/{task_id}"): Case("/v1/tasks/{task}", {INT, S, A}),
    ("GET", "/v1/tasks/{task_id}/history"): Case("/v1/tasks/{task}/history", {INT, S}),
    ("PATCH", "/v1/tasks/{task_id}"): Case("/v1/tasks/{task}", {INT, S}, {"important": True}),
    ("POST", "/v1/tasks/{task_id}/cancel"): Case("/v1/tasks/{task}/cancel", {INT, S}, {}),
    ("POST", "/v1/tasks/{task_id}/complete"): Case("/v1/tasks/{task}/complete", {INT, S, A}, {}),
    ("POST", "/v1/tasks/{task_id}/transfer"): Case("/v1/tasks/{task}/transfer", {INT, S, A}, {}),
    ("POST", "/v1/tasks/{task_id}/escalate"): Case("/v1/tasks/{task}/escalate", {INT, S, A}, {}),
    ("POST", "/v1/tasks/{task_id}/satisfaction"): Case("/v1/tasks/{task}/satisfaction", {INT, S}, {"score": 5}),
    ("PUT", "/v1/agents/{agent_id}"): Case("/v1/agents/ann", {S},
                                           {"name": "Ann", "skills": {"billing": 3}, "capacity": 100}),
    ("GET", "/v1/agents/{agent_id}"): Case("/v1/agents/ann", {S, A}),
    ("PUT", "/v1/agents/{agent_id}/status"): Case("/v1/agents/ann/status", {S, A}, {"status": "available"}),
    ("POST", "/v1/agents/{agent_id}/next"): Case("/v1/agents/ann/next", {S, A}),
    ("POST", "/v1/offers/{offer_id}/accept"): Case("/v1/offers/{offer}/accept", {S, A}),
    ("POST", "/v1/offers/{offer_id}/reject"): Case("/v1/offers/{offer}/reject", {S, A}, {}),
    ("GET", "/v1/agents"): Case("/v1/agents", {S}),
    ("GET", "/v1/queues"): Case("/v1/queues", {S}),
    ("GET", "/v1/queues/{skill}/tasks"): Case("/v1/queues/billing/tasks", {S}),
    ("GET", "/v1/alerts"): Case("/v1/alerts", {S}),
    ("GET", "/v1/kpis"): Case("/v1/kpis", {S}),
    ("GET", "/v1/events"): Case("/v1/events?since=0&max_events=1", {S}),
    ("POST", "/v1/keys"): Case("/v1/keys", {S}, {"role": "integration"}),
    ("GET", "/v1/keys"): Case("/v1/keys", {S}),
    ("GET", "/v1/keys/{key_id}"): Case("/v1/keys/K999999", {S}, passed=404),
    ("DELETE", "/v1/keys/{key_id}"): Case("/v1/keys/K999999", {S}, passed=404),
    ("DELETE", "/v1/agents/{agent_id}"): Case("/v1/agents/nobody", {S}, passed=404),
    # published plans, the floor against them, webhooks (supervisor; an agent reads only its own schedule)
    ("PUT", "/v1/plan/forecast"): Case("/v1/plan/forecast", {S}, passed=422),
    ("PUT", "/v1/plan/roster"): Case("/v1/plan/roster", {S}, passed=422),
    ("GET", "/v1/plan/forecast"): Case("/v1/plan/forecast", {S}),
    ("GET", "/v1/plan/roster"): Case("/v1/plan/roster", {S}),
    ("GET", "/v1/plan/{kind}/versions"): Case("/v1/plan/roster/versions", {S}),
    ("GET", "/v1/agents/{agent_id}/schedule"): Case("/v1/agents/ann/schedule", {S, A}),
    ("GET", "/v1/adherence"): Case("/v1/adherence", {S}),
    ("GET", "/v1/intraday"): Case("/v1/intraday?queue=billing", {S}, passed=404),  # no plan published
    ("PUT", "/v1/webhooks/{webhook_id}"): Case("/v1/webhooks/authz", {S}, {}, passed=422),
    ("GET", "/v1/webhooks"): Case("/v1/webhooks", {S}),
    ("GET", "/v1/webhooks/{webhook_id}"): Case("/v1/webhooks/nope", {S}, passed=404),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Case("/v1/webhooks/nope", {S}, passed=404),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Case("/v1/webhooks/nope/deliveries", {S}, passed=404),
    ("GET", "/v1/webhooks/{webhook_id}/dead-letters"): Case("/v1/webhooks/nope/dead-letters", {S}, passed=404),
    ("POST", "/v1/webhooks/{webhook_id}/dead-letters/replay"): Case("/v1/webhooks/nope/dead-letters/replay", {S},
                                                                    passed=404),
    # operations and API docs: no key needed
    ("GET", "/healthz"): Case("/healthz", PUBLIC),
    ("GET", "/readyz"): Case("/readyz", PUBLIC),
    ("GET", "/metrics"): Case("/metrics", PUBLIC),
    ("GET", "/openapi.json"): Case("/openapi.json", PUBLIC),
    ("GET", "/docs"): Case("/docs", PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Case("/docs/oauth2-redirect", PUBLIC),
    ("GET", "/redoc"): Case("/redoc", PUBLIC),
    # dashboard: the page and its assets are public (sign-in happens in the page), its data is not
    ("GET", "/"): Case("/", PUBLIC),
    ("GET", "/dashboard"): Case("/dashboard", PUBLIC),
    ("GET", "/dashboard/static/{name}"): Case("/dashboard/static/uplot.LICENSE", PUBLIC),
    ("GET", "/dashboard/panels/{name}"): Case("/dashboard/panels/forecast_today", {S}),
    ("GET", "/dashboard/events"): Case("/dashboard/events?since=0&max_events=1", {S}, session_cookie=True),
    ("POST", "/dashboard/session"): Case("/dashboard/session", {S}),
    ("DELETE", "/dashboard/session"): Case("/dashboard/session", PUBLIC),
    # planning and performance (supervisor routers under /v1)
    ("POST", "/v1/staffing/requirements"): Case("/v1/staffing/requirements", {S}, {}, passed=422),
    ("POST", "/v1/simulations"): Case("/v1/simulations", {S}, {}, passed=422),
    ("GET", "/v1/simulations/{simulation_id}"): Case("/v1/simulations/nope", {S}, passed=404),
    ("GET", "/v1/scorecards"): Case("/v1/scorecards", {S}),
    ("POST", "/v1/targets"): Case("/v1/targets", {S}, {}, passed=422),
    ("GET", "/v1/targets"): Case("/v1/targets", {S}),
    ("GET", "/v1/targets/{target_id}"): Case("/v1/targets/nope", {S}, passed=404),
    ("PUT", "/v1/targets/{target_id}"): Case("/v1/targets/nope", {S}, {}, passed=422),
    ("DELETE", "/v1/targets/{target_id}"): Case("/v1/targets/nope", {S}, passed=404),
    ("POST", "/v1/plans"): Case("/v1/plans", {S}, {}, passed=422),
    ("GET", "/v1/plans"): Case("/v1/plans", {S}),
    ("GET", "/v1/plans/alerts"): Case("/v1/plans/alerts", {S}),
    ("POST", "/v1/plans/alerts/sweep"): Case("/v1/plans/alerts/sweep", {S}),
    ("GET", "/v1/plans/{plan_id}"): Case("/v1/plans/nope", {S}, passed=404),
    ("PUT", "/v1/plans/{plan_id}"): Case("/v1/plans/nope", {S}, {}, passed=422),
    ("DELETE", "/v1/plans/{plan_id}"): Case("/v1/plans/nope", {S}, passed=404),
    ("POST", "/v1/plans/{plan_id}/actions/{action_id}/done"): Case("/v1/plans/nope/actions/a1/done", {S},
                                                                   passed=404),
    ("GET", "/v1/abtest"): Case("/v1/abtest", {S}),
    ("PUT", "/v1/abtest"): Case("/v1/abtest", {S}, {}, passed=422),
    ("GET", "/v1/abtest/current"): Case("/v1/abtest/current", {S}),
    ("DELETE", "/v1/abtest"): Case("/v1/abtest", {S}, passed=404),
    ("POST", "/v1/feedback/proficiency/preview"): Case("/v1/feedback/proficiency/preview", {S}, {}),
    ("POST", "/v1/feedback/proficiency/accept"): Case("/v1/feedback/proficiency/accept", {S}, {}, passed=422),
}


def declared_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD rides along with GET)."""
    found = set()
    for route in iter_route_contexts(app.routes):  # included routers expanded, prefixes applied
        if isinstance(getattr(route, "original_route", route), Mount):
            found.add(("MOUNT", str(route.path)))
            continue
        for method in route.methods or {"WEBSOCKET"}:
            if method != "HEAD":
                found.add((method, str(route.path)))
    return found


def test_every_route_of_the_app_has_an_auth_decision(tmp_path: Path) -> None:
    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0", bootstrap_key=BOOT, data_dir=tmp_path),
                     dispatch=False)
    routes = declared_routes(app)
    assert len(routes) > 40  # the app really was read
    undecided = sorted(routes - set(MATRIX))
    assert not undecided, f"routes with no expected-role entry in MATRIX (decide who may call them): {undecided}"
    stale = sorted(set(MATRIX) - routes)
    assert not stale, f"MATRIX entries for routes the app does not serve: {stale}"


_counter = itertools.count()


@pytest.fixture(scope="module")
def world(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    raw = redis.Redis.from_url(redis_url)
    for key in raw.scan_iter(f"{PREFIX}:*"):
        raw.delete(key)
    settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, key_prefix=PREFIX,
                        data_dir=Path(tmp_path_factory.mktemp("authz")))
    app = create_app(settings, dispatch=False)
    sup = {"Authorization": f"Bearer {BOOT}"}
    with TestClient(app) as client:
        for agent_id in ("ann", "bob"):
            r = client.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "skills": {"billing": 3},
                                                           "capacity": 100}, headers=sup)
            assert r.status_code == 200
            client.put(f"/v1/agents/{agent_id}/status", json={"status": "available"}, headers=sup)
        headers = {"none": {}, "bad": {"Authorization": "Bearer not-a-key"}, "supervisor": sup}
        for role, agent in (("integration", None), ("agent_self", "ann"), ("agent_other", "bob")):
            body = {"role": "agent" if agent else role, "agent_id": agent}
            key = client.post("/v1/keys", json=body, headers=sup).json()["key"]
            headers[role] = {"Authorization": f"Bearer {key}"}
        yield client, headers
    for key in raw.scan_iter(f"{PREFIX}:*"):
        raw.delete(key)
    raw.close()


def _fresh_task_and_offer(client: TestClient) -> tuple[str, str]:
    """A task assigned to ann and another with a pending offer to ann."""
    queue = client.app.state.queue  # type: ignore[attr-defined]
    n = next(_counter)

    async def make() -> tuple[str, str]:
        held, _ = await queue.create_task(external_id=f"held-{n}", source="crm", skill="billing",
                                          urgent=False, important=False)
        offered, _ = await queue.create_task(external_id=f"offered-{n}", source="crm", skill="billing",
                                             urgent=False, important=False)
        first = await queue.offer(held["id"], "ann", explanation={"test": True})
        second = await queue.offer(offered["id"], "ann", explanation={"test": True})
        await queue.accept(first.offer_id, actor="test")
        return str(held["id"]), str(second.offer_id)

    result: tuple[str, str] = client.portal.call(make)  # type: ignore[union-attr]
    return result


def _close(client: TestClient, task_id: str, offer_id: str) -> None:
    """Cancel what a case left open so ann's capacity never runs out."""
    queue = client.app.state.queue  # type: ignore[attr-defined]

    async def close() -> None:
        offered = (await queue.offer_hash(offer_id))["task"]
        for tid in (task_id, offered):
            with contextlib.suppress(Conflict):
                await queue.cancel(tid, actor="test")

    client.portal.call(close)  # type: ignore[union-attr]


@pytest.mark.parametrize(("method", "route"), sorted(MATRIX), ids=[f"{m} {p}" for m, p in sorted(MATRIX)])
def test_each_role_gets_exactly_the_routes_it_is_allowed(
    world: tuple[TestClient, dict[str, Any]], method: str, route: str
) -> None:
    client, headers = world
    case = MATRIX[(method, route)]
    outcomes = {}
    for role in ROLES:
        task, offer = _fresh_task_and_offer(client)
        url = case.url.format(task=task, offer=offer, uniq=f"u{next(_counter)}")
        payload = None
        if case.body is not None:
            payload = {k: (v.format(uniq=f"u{next(_counter)}") if isinstance(v, str) else v)
                       for k, v in case.body.items()}
        role_headers = headers[role]
        if case.session_cookie:
            client.cookies.clear()
            client.post("/dashboard/session", headers=role_headers)  # sets the cookie when allowed
            role_headers = {}
        r = client.request(method, url, json=payload, headers=role_headers)
        client.cookies.clear()
        outcomes[role] = r.status_code
        _close(client, task, offer)
    expected = {role: expected_outcome(case, role) for role in ROLES}
    got = {role: (OK if 200 <= code < 300 else code) for role, code in outcomes.items()}
    assert got == expected


def expected_outcome(case: Case, role: str) -> int | str:
    if role in case.allowed:
        return case.passed
    if case.session_cookie:
        return 401  # no session was opened for this role
    return 401 if role in ("none", "bad") else 403


def test_an_agent_key_cannot_act_on_another_agents_offer_or_task(world: tuple[TestClient, dict[str, Any]]) -> None:
    client, headers = world
    task, offer = _fresh_task_and_offer(client)  # both ann's
    bob = headers["agent_other"]
    assert client.post(f"/v1/offers/{offer}/accept", headers=bob).status_code == 403
    assert client.post(f"/v1/offers/{offer}/reject", headers=bob).status_code == 403
    assert client.post(f"/v1/tasks/{task}/complete", headers=bob).status_code == 403
    assert client.get(f"/v1/tasks/{task}", headers=bob).status_code == 403
    assert client.post("/v1/agents/ann/next", headers=bob).status_code == 403
    assert client.put("/v1/agents/ann/status", json={"status": "offline"}, headers=bob).status_code == 403
    # and nothing changed: ann still holds both
    ann = client.get("/v1/agents/ann", headers=headers["supervisor"]).json()
    assert task in ann["tasks"] and ann["status"] == "available"
    assert client.get(f"/v1/tasks/{task}", headers=headers["agent_self"]).json()["status"] == "assigned"
