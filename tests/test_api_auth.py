"""Auth matrix: every role against every endpoint; an agent key never reads or acts for another agent."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api.service.app import create_app
from api.service.settings import Settings
from dispatcher.errors import Conflict

BOOT = "authz-boot-key"
PREFIX = "authz"
ROLES = ("none", "bad", "integration", "supervisor", "agent_self", "agent_other")
INT, S, A = "integration", "supervisor", "agent_self"

# (method, path template, json body, roles allowed)
ENDPOINTS: list[tuple[str, str, Any, set[str]]] = [
    ("POST", "/v1/tasks", {"external_id": "{uniq}", "source": "crm", "skill": "billing"}, {INT, S}),
    ("GET", "/v1/tasks/{task}", None, {INT, S, A}),
    ("GET", "/v1/tasks/{task}/history", None, {INT, S}),
    ("PATCH", "/v1/tasks/{task}", {"important": True}, {INT, S}),
    ("POST", "/v1/tasks/{task}/cancel", {}, {INT, S}),
    ("POST", "/v1/tasks/{task}/complete", {}, {INT, S, A}),
    ("POST", "/v1/tasks/{task}/transfer", {}, {INT, S, A}),
    ("POST", "/v1/tasks/{task}/escalate", {}, {INT, S, A}),
    ("POST", "/v1/tasks/{task}/satisfaction", {"score": 5}, {INT, S}),
    ("PUT", "/v1/agents/ann", {"name": "Ann", "skills": {"billing": 3}, "capacity": 100}, {S}),
    ("GET", "/v1/agents/ann", None, {S, A}),
    ("PUT", "/v1/agents/ann/status", {"status": "available"}, {S, A}),
    ("POST", "/v1/agents/ann/next", None, {S, A}),
    ("POST", "/v1/offers/{offer}/accept", None, {S, A}),
    ("POST", "/v1/offers/{offer}/reject", {}, {S, A}),
    ("GET", "/v1/agents", None, {S}),
    ("GET", "/v1/queues", None, {S}),
    ("GET", "/v1/alerts", None, {S}),
    ("GET", "/v1/kpis", None, {S}),
    ("GET", "/v1/events?since=0&max_events=1", None, {S}),
    ("POST", "/v1/keys", {"role": "integration"}, {S}),
]

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


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in ENDPOINTS])
def test_each_role_gets_exactly_the_endpoints_it_is_allowed(
    world: tuple[TestClient, dict[str, Any]], method: str, path: str, body: Any, allowed: set[str]
) -> None:
    client, headers = world
    outcomes = {}
    for role in ROLES:
        task, offer = _fresh_task_and_offer(client)
        url = path.format(task=task, offer=offer, uniq=f"u{next(_counter)}")
        payload = None
        if body is not None:
            payload = {k: (v.format(uniq=f"u{next(_counter)}") if isinstance(v, str) else v) for k, v in body.items()}
        r = client.request(method, url, json=payload, headers=headers[role])
        outcomes[role] = r.status_code
        if r.status_code != 204:
            assert r.headers["content-type"].startswith(("application/json", "text/event-stream")), role
        _close(client, task, offer)
    expected = {
        role: (401 if role in ("none", "bad") else "ok" if role in allowed else 403) for role in ROLES
    }
    got = {role: ("ok" if 200 <= code < 300 else code) for role, code in outcomes.items()}
    assert got == expected


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
