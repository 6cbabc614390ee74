"""The live queue service end to end through HTTP, on a real Redis (TestClient, no dispatch loop
unless a test runs ticks itself; the clock is driven by the test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from api.live.dispatch import Dispatcher
from api.live.sla import SlaMonitor
from api.service.app import create_app
from api.service.settings import Settings
from tests.clock import Clock

BOOT = "boot-supervisor-key"
T0 = 1_800_000_000.0


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


def service_client(redis_url: str, clock: Clock, tmp_path: Any) -> Iterator[TestClient]:
    """The app (no dispatch loop) on the test Redis, its queue on the test's clock."""
    settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, max_misses=2, offer_ttl_s=30, data_dir=tmp_path)
    app = create_app(settings, dispatch=False)
    with TestClient(app) as tc:
        app.state.queue.clock = clock
        yield tc


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, clock: Clock, tmp_path: Any) -> Iterator[TestClient]:
    yield from service_client(redis_url, clock, tmp_path)


def sup() -> dict[str, str]:
    return {"Authorization": f"Bearer {BOOT}"}


def new_key(client: TestClient, role: str, agent_id: str | None = None) -> dict[str, str]:
    r = client.post("/v1/keys", json={"role": role, "agent_id": agent_id}, headers=sup())
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


def put_agent(client: TestClient, agent_id: str, skills: dict[str, int], primary: list[str] | None = None,
              capacity: int = 1, status: str = "available", supervisor: str = "") -> None:
    body = {"name": agent_id.title(), "skills": skills, "primary_skills": primary if primary is not None else
            list(skills), "capacity": capacity, "supervisor": supervisor}
    r = client.put(f"/v1/agents/{agent_id}", json=body, headers=sup())
    assert r.status_code == 200, r.text
    r = client.put(f"/v1/agents/{agent_id}/status", json={"status": status}, headers=sup())
    assert r.status_code == 200, r.text


def create_task(client: TestClient, ext: str, skill: str = "billing", *, urgent: bool = False,
                important: bool = False, source: str = "zendesk", **extra: Any) -> dict[str, Any]:
    body = {"external_id": ext, "source": source, "skill": skill, "urgent": urgent, "important": important, **extra}
    r = client.post("/v1/tasks", json=body, headers=sup())
    assert r.status_code == 201, r.text
    return dict(r.json())


def events_of(client: TestClient, task_id: str) -> list[str]:
    r = client.get(f"/v1/tasks/{task_id}/history", headers=sup())
    assert r.status_code == 200, r.text
    return [e["event"] for e in r.json()]


def tick(client: TestClient) -> Any:
    queue = client.app.state.queue  # type: ignore[attr-defined]
    return client.portal.call(Dispatcher(queue, owner="test").tick)  # type: ignore[union-attr]


def expire(client: TestClient) -> int:
    queue = client.app.state.queue  # type: ignore[attr-defined]
    return int(client.portal.call(queue.expire_offers))  # type: ignore[union-attr]


def test_task_goes_from_creation_through_offer_and_accept_to_completion(client: TestClient) -> None:
    put_agent(client, "ann", {"billing": 4})
    ann = new_key(client, "agent", "ann")
    task = create_task(client, "ZD-1", urgent=True, important=True, payload={"subject": "refund"})
    assert task["status"] == "queued" and task["quadrant"] == "Q1"
    # urgent: first response due 10 minutes after creation
    assert task["due_at"] == "2027-01-15T08:10:00Z" and task["created_at"] == "2027-01-15T08:00:00Z"

    r = client.post("/v1/agents/ann/next", headers=ann)
    assert r.status_code == 200, r.text
    offer = r.json()
    assert offer["task"]["id"] == task["id"] and offer["task"]["status"] == "offered"
    assert offer["expires_at"] == "2027-01-15T08:00:30Z"

    r = client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=ann)
    assert r.status_code == 200 and r.json()["status"] == "assigned" and r.json()["agent_id"] == "ann"
    r = client.post(f"/v1/tasks/{task['id']}/complete", headers=ann,
                    json={"resolution_code": "refunded", "first_contact_resolved": True, "complaint": False})
    assert r.status_code == 200, r.text
    done = client.get(f"/v1/tasks/{task['id']}", headers=sup()).json()
    assert done["status"] == "completed" and done["outcome"]["resolution_code"] == "refunded"
    assert done["payload"] == {"subject": "refund"}
    assert events_of(client, task["id"]) == ["created", "offered", "accepted", "started", "completed"]
    board = {a["id"]: a for a in client.get("/v1/agents", headers=sup()).json()}
    assert board["ann"]["active_tasks"] == 0 and board["ann"]["tasks"] == []


def test_reposting_the_same_external_id_and_source_returns_the_same_task_with_200(client: TestClient) -> None:
    first = create_task(client, "ZD-7")
    again = client.post("/v1/tasks", json={"external_id": "ZD-7", "source": "zendesk", "skill": "billing"},
                        headers=sup())
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    other_source = create_task(client, "ZD-7", source="jira")
    assert other_source["id"] != first["id"]
    assert events_of(client, first["id"]) == ["created"]


def test_an_expired_offer_is_rerouted_and_accepting_it_late_is_a_conflict(client: TestClient, clock: Clock) -> None:
    put_agent(client, "ann", {"billing": 3})
    put_agent(client, "bob", {"billing": 3}, status="offline")
    task = create_task(client, "ZD-2")
    offer = client.post("/v1/agents/ann/next", headers=sup()).json()
    clock.advance(31)
    assert expire(client) == 1
    late = client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup())
    assert late.status_code == 409 and late.json()["error"] == "Conflict"
    assert client.get(f"/v1/tasks/{task['id']}", headers=sup()).json()["status"] == "queued"
    client.put("/v1/agents/bob/status", json={"status": "available"}, headers=sup())
    client.put("/v1/agents/ann/status", json={"status": "offline"}, headers=sup())
    second = client.post("/v1/agents/bob/next", headers=sup())
    assert second.status_code == 200 and second.json()["task"]["id"] == task["id"]
    assert events_of(client, task["id"]) == ["created", "offered", "expired", "offered"]
    ann = client.get("/v1/agents/ann", headers=sup()).json()
    assert ann["misses"] == 1 and ann["active_tasks"] == 0


def test_an_agent_that_misses_k_offers_in_a_row_becomes_unavailable(client: TestClient, clock: Clock) -> None:
    put_agent(client, "ann", {"billing": 3})
    create_task(client, "ZD-3")
    first = client.post("/v1/agents/ann/next", headers=sup()).json()
    assert client.post(f"/v1/offers/{first['offer_id']}/reject", headers=sup()).status_code == 200
    assert client.get("/v1/agents/ann", headers=sup()).json()["status"] == "available"
    second = client.post("/v1/agents/ann/next", headers=sup()).json()
    assert second["offer_id"] != first["offer_id"]
    clock.advance(30)
    assert tick(client).expired == 1  # the second miss (a timeout) reaches max_misses=2
    agent = client.get("/v1/agents/ann", headers=sup()).json()
    assert agent["status"] == "unavailable" and agent["misses"] == 2
    assert client.post("/v1/agents/ann/next", headers=sup()).status_code == 204
    client.put("/v1/agents/ann/status", json={"status": "available"}, headers=sup())
    assert client.get("/v1/agents/ann", headers=sup()).json()["misses"] == 0


def test_completing_twice_and_accepting_twice_are_conflicts(client: TestClient) -> None:
    put_agent(client, "ann", {"billing": 3})
    task = create_task(client, "ZD-4")
    early = client.post(f"/v1/tasks/{task['id']}/complete", headers=sup())
    assert early.status_code == 409  # queued, not assigned
    offer = client.post("/v1/agents/ann/next", headers=sup()).json()
    assert client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup()).status_code == 200
    twice = client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup())
    assert twice.status_code == 409 and "already accepted" in twice.json()["detail"]
    assert client.post(f"/v1/tasks/{task['id']}/complete", headers=sup()).status_code == 200
    again = client.post(f"/v1/tasks/{task['id']}/complete", headers=sup())
    assert again.status_code == 409 and again.json()["error"] == "Conflict"
    assert client.post(f"/v1/tasks/{task['id']}/cancel", headers=sup()).status_code == 409


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/tasks/T999"), ("get", "/v1/tasks/T999/history"), ("post", "/v1/tasks/T999/cancel"),
        ("post", "/v1/tasks/T999/complete"), ("post", "/v1/tasks/T999/transfer"),
        ("post", "/v1/tasks/T999/escalate"), ("patch", "/v1/tasks/T999"), ("get", "/v1/agents/nobody"),
        ("put", "/v1/agents/nobody/status"), ("post", "/v1/agents/nobody/next"),
        ("post", "/v1/offers/O999/accept"), ("post", "/v1/offers/O999/reject"),
    ],
)
def test_unknown_ids_are_404_with_a_json_problem_body(client: TestClient, method: str, path: str) -> None:
    body = {"status": "available"} if path.endswith("/status") else {}
    r = client.request(method.upper(), path, headers=sup(), json=body)
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "NotFound" and r.json()["detail"]


def test_satisfaction_is_stored_in_the_trail_and_unknown_tasks_are_404(client: TestClient) -> None:
    task = create_task(client, "ZD-5")
    assert client.post(f"/v1/tasks/{task['id']}/satisfaction", json={"score": 4}, headers=sup()).status_code == 204
    assert client.get(f"/v1/tasks/{task['id']}", headers=sup()).json()["satisfaction"] == 4
    assert events_of(client, task["id"])[-1] == "satisfaction"
    assert client.post("/v1/tasks/T404/satisfaction", json={"score": 4}, headers=sup()).status_code == 404
    bad = client.post(f"/v1/tasks/{task['id']}/satisfaction", json={"score": 6}, headers=sup())
    assert bad.status_code == 422 and bad.json()["field"] == "score"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "zd", "skill": "billing"}, "external_id"),
        ({"external_id": "x", "source": "zd", "skill": ""}, "skill"),
        ({"external_id": "x", "source": "zd", "skill": "a:b"}, "skill"),
        ({"external_id": "x", "source": "zd", "skill": "billing", "due_at": "2027-01-01T10:00:00"}, "due_at"),
        ({"external_id": "x", "source": "zd", "skill": "billing", "expected_handle_s": -5}, "expected_handle_s"),
        ({"external_id": "x", "source": "zd", "skill": "billing", "urgent": "very"}, "urgent"),
    ],
)
def test_bad_task_input_is_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = client.post("/v1/tasks", json=body, headers=sup())
    assert r.status_code == 422
    assert r.json()["error"] == "InvalidInput" and r.json()["field"] == field


def test_bad_agent_profiles_are_422_from_the_domain_rules(client: TestClient) -> None:
    r = client.put("/v1/agents/ann", json={"name": "Ann", "skills": {"billing": 7}}, headers=sup())
    assert r.status_code == 422 and "1-5" in r.json()["detail"]
    r = client.put("/v1/agents/ann", json={"name": "Ann", "skills": {"billing": 3}, "primary_skills": ["tech"]},
                   headers=sup())
    assert r.status_code == 422 and r.json()["field"] == "primary_skills"
    r = client.post("/v1/tasks", content=b"{not json", headers={**sup(), "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"


def test_cancel_transfer_escalate_and_patch_keep_the_agent_counts_right(client: TestClient) -> None:
    put_agent(client, "ann", {"billing": 3, "tech": 2}, primary=["billing"])
    a = create_task(client, "ZD-10")
    offer = client.post("/v1/agents/ann/next", headers=sup()).json()
    client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup())
    moved = client.post(f"/v1/tasks/{a['id']}/transfer", json={"skill": "tech", "reason": "hardware"},
                        headers=sup()).json()
    assert moved["status"] == "queued" and moved["skill"] == "tech" and moved["previous_agent"] == "ann"
    assert client.get("/v1/agents/ann", headers=sup()).json()["active_tasks"] == 0
    patched = client.patch(f"/v1/tasks/{a['id']}", json={"urgent": True}, headers=sup()).json()
    assert patched["quadrant"] == "Q3" and patched["due_at"] == "2027-01-15T08:10:00Z"
    escalated = client.post(f"/v1/tasks/{a['id']}/escalate", json={"reason": "VIP"}, headers=sup()).json()
    assert escalated["escalated"] is True
    offer = client.post("/v1/agents/ann/next", headers=sup()).json()
    assert offer["task"]["id"] == a["id"]  # Q3 on an auxiliary skill may go to ann
    cancelled = client.post(f"/v1/tasks/{a['id']}/cancel", json={"reason": "duplicate"}, headers=sup()).json()
    assert cancelled["status"] == "cancelled"
    assert client.get("/v1/agents/ann", headers=sup()).json()["active_tasks"] == 0
    assert client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup()).status_code == 409
    assert events_of(client, a["id"]) == [
        "created", "offered", "accepted", "started", "transferred", "reprioritized", "escalated", "offered",
        "cancelled",
    ]


def test_important_tasks_wait_for_a_primary_owner_on_the_pull_path(client: TestClient) -> None:
    put_agent(client, "aux", {"billing": 5}, primary=[])
    create_task(client, "ZD-20", important=True)
    assert client.post("/v1/agents/aux/next", headers=sup()).status_code == 204
    urgent_only = create_task(client, "ZD-21", urgent=True)
    offer = client.post("/v1/agents/aux/next", headers=sup()).json()
    assert offer["task"]["id"] == urgent_only["id"]


def test_the_dispatch_loop_offers_through_the_optimizer_with_its_explanation(client: TestClient) -> None:
    put_agent(client, "ann", {"billing": 5})
    put_agent(client, "bob", {"billing": 1, "tech": 5})
    t1 = create_task(client, "ZD-30", important=True)
    t2 = create_task(client, "ZD-31", "tech", important=True)
    report = tick(client)
    assert report.leader and report.offered == 2 and report.stale == 0
    assert client.get(f"/v1/tasks/{t1['id']}", headers=sup()).json()["agent_id"] == "ann"
    assert client.get(f"/v1/tasks/{t2['id']}", headers=sup()).json()["agent_id"] == "bob"
    offered = client.get(f"/v1/tasks/{t1['id']}/history", headers=sup()).json()[1]
    assert offered["event"] == "offered" and offered["data"]["assigned_to"] == "ann"
    assert "terms" in offered["data"] and offered["data"]["runner_up"]["agent_id"] == "bob"
    # the agents find their offers on /next without a new one being made
    assert client.post("/v1/agents/bob/next", headers=sup()).json()["task"]["id"] == t2["id"]
    assert tick(client).offered == 0


def test_only_the_lease_holder_runs_a_batch(client: TestClient) -> None:
    queue = client.app.state.queue  # type: ignore[attr-defined]
    put_agent(client, "ann", {"billing": 5})
    create_task(client, "ZD-40")
    first = client.portal.call(Dispatcher(queue, owner="one").tick)  # type: ignore[union-attr]
    second = client.portal.call(Dispatcher(queue, owner="two").tick)  # type: ignore[union-attr]
    assert first.leader and not second.leader


def test_sla_monitor_warns_alerts_the_owner_then_escalates(client: TestClient, clock: Clock) -> None:
    put_agent(client, "ann", {"billing": 3}, status="offline", supervisor="sue")
    task = create_task(client, "ZD-50", urgent=True)  # response due at +10 min
    queue = client.app.state.queue  # type: ignore[attr-defined]
    monitor = SlaMonitor(queue)

    def run() -> int:
        return int(client.portal.call(monitor.tick))  # type: ignore[union-attr]

    clock.advance(4 * 60)
    assert run() == 0
    clock.advance(60 + 1)  # 5 min before the target
    assert run() == 1 and run() == 0
    clock.advance(5 * 60 + 15 * 60)  # 15 min past the target
    assert run() == 1
    clock.advance(15 * 60)  # 30 min past
    assert run() == 1 and run() == 0
    alerts = client.get("/v1/alerts", headers=sup()).json()
    assert [a["level"] for a in alerts] == ["escalation", "alert", "warning"]
    assert {a["owner"] for a in alerts} == {"sue"} and all(a["task_id"] == task["id"] for a in alerts)
    assert events_of(client, task["id"])[1:] == ["sla_warning", "sla_alert", "escalated"]
    assert client.get(f"/v1/tasks/{task['id']}", headers=sup()).json()["escalated"] is True


def test_sla_alert_goes_to_the_assigned_agent(client: TestClient, clock: Clock) -> None:
    put_agent(client, "ann", {"billing": 3}, supervisor="sue")
    task = create_task(client, "ZD-51", urgent=True)
    offer = client.post("/v1/agents/ann/next", headers=sup()).json()
    client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup())
    queue = client.app.state.queue  # type: ignore[attr-defined]
    clock.advance(4 * 3600 + 15 * 60 + 1)  # resolution target (4 h for urgent) + 15 min
    assert client.portal.call(SlaMonitor(queue).tick) == 1  # type: ignore[union-attr]
    alert = client.get("/v1/alerts", headers=sup()).json()[0]
    assert alert["owner"] == "agent:ann" and alert["kind"] == "resolution" and alert["task_id"] == task["id"]


def test_queue_board_counts_depth_per_quadrant_and_predicts_breaches(client: TestClient, clock: Clock) -> None:
    put_agent(client, "ann", {"billing": 3}, status="offline")
    create_task(client, "q1", urgent=True, important=True)
    clock.advance(60)
    create_task(client, "q4a")
    create_task(client, "q4b", expected_handle_s=10_000)
    board = {row["skill"]: row for row in client.get("/v1/queues", headers=sup()).json()}
    billing = board["billing"]
    assert billing["depth"] == 3 and billing["by_quadrant"] == {"Q1": 1, "Q2": 0, "Q3": 0, "Q4": 2}
    assert billing["oldest_age_s"] == 60.0
    assert billing["predicted_breach"] == 3 and billing["available_slots"] == 0  # nobody available
    client.put("/v1/agents/ann/status", json={"status": "available"}, headers=sup())
    billing = client.get("/v1/queues", headers=sup()).json()[0]
    # one slot, mean handle 3,533 s: the 2nd and 3rd start after their 30-min targets
    assert billing["predicted_breach"] == 2 and billing["available_slots"] == 1


def test_kpis_follow_from_the_audit_trail(client: TestClient, clock: Clock) -> None:
    put_agent(client, "ann", {"billing": 3})
    fast = create_task(client, "k1", urgent=True)
    clock.advance(40)
    offer = client.post("/v1/agents/ann/next", headers=sup()).json()
    clock.advance(20)
    assert client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup()).status_code == 200
    clock.advance(240)
    client.post(f"/v1/tasks/{fast['id']}/complete", json={"first_contact_resolved": True}, headers=sup())
    slow = create_task(client, "k2", urgent=True)
    clock.advance(11 * 60)
    client.post(f"/v1/tasks/{slow['id']}/cancel", headers=sup())
    k = client.get("/v1/kpis", params={"from": "2027-01-15T07:00:00Z", "to": "2027-01-15T09:00:00Z"},
                   headers=sup()).json()
    assert k["tasks"] == 2 and k["answered"] == 1 and k["completed"] == 1 and k["abandoned"] == 1
    assert k["service_level"] == 0.5 and k["asa_s"] == 60.0 and k["aht_s"] == 240.0
    assert k["abandonment_rate"] == 0.5 and k["first_contact_resolution"] == 1.0
    other = client.get("/v1/kpis", params={"queue": "tech"}, headers=sup()).json()
    assert other["tasks"] == 0 and other["service_level"] is None
    bad = client.get("/v1/kpis", params={"from": "2027-01-15T10:00:00Z", "to": "2027-01-15T09:00:00Z"},
                     headers=sup())
    assert bad.status_code == 422 and bad.json()["field"] == "from"


def test_events_stream_replays_task_events_as_server_sent_events(client: TestClient) -> None:
    task = create_task(client, "sse-1")
    client.post(f"/v1/tasks/{task['id']}/cancel", headers=sup())
    with client.stream("GET", "/v1/events", params={"since": "0", "max_events": 2}, headers=sup()) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    frames = [f for f in text.split("\n\n") if f.startswith("id:")]
    data = [orjson.loads(f.split("data: ", 1)[1]) for f in frames]
    assert [d["event"] for d in data] == ["created", "cancelled"]
    assert all(d["task_id"] == task["id"] for d in data)


def test_health_readiness_and_metrics_need_no_key(client: TestClient) -> None:
    create_task(client, "m1")
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    text = client.get("/metrics").text
    assert 'dispatchwise_queue_depth{skill="billing"} 1' in text
    assert "dispatchwise_audit_events_total 1" in text


def test_openapi_schema_is_served(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/tasks", "/v1/agents/{agent_id}/next", "/v1/offers/{offer_id}/accept", "/v1/kpis"):
        assert path in paths


def test_the_fast_path_and_the_fastapi_route_answer_post_tasks_alike(
    redis_url: str, redis_client: redis.Redis, tmp_path: Any
) -> None:
    cases = [
        {"external_id": "same", "source": "zd", "skill": "billing", "urgent": True, "payload": {"a": 1}},
        {"external_id": "same", "source": "zd", "skill": "billing", "urgent": True, "payload": {"a": 1}},
        {"external_id": "x", "source": "zd", "skill": "billing", "due_at": "2027-01-01T10:00:00"},
        {"external_id": "x", "source": "zd"},
        {"external_id": "y", "source": "zd", "skill": "billing", "expected_handle_s": 0},
    ]
    answers = {}
    for fast in (True, False):
        redis_client.flushdb()
        settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, fast_path=fast, data_dir=tmp_path)
        app = create_app(settings, dispatch=False)
        with TestClient(app) as tc:
            app.state.queue.clock = Clock(T0)
            got = [tc.post("/v1/tasks", json=body, headers=sup()) for body in cases]
            got.append(tc.post("/v1/tasks", json=cases[0]))
            got.append(tc.post("/v1/tasks", json=cases[0], headers={"Authorization": "Bearer nope"}))
            got.append(tc.post("/v1/tasks", content=b"[1,", headers={**sup(), "content-type": "application/json"}))
        answers[fast] = [(r.status_code, r.json().get("id"), r.json().get("field"), r.json().get("error"),
                          r.json().get("due_at")) for r in got]
    assert answers[True] == answers[False]
    assert [a[0] for a in answers[True]] == [201, 200, 422, 422, 422, 401, 401, 422]


def test_a_payload_json_cannot_store_is_422_not_500(client: TestClient) -> None:
    body = b'{"external_id":"big","source":"zd","skill":"billing","payload":{"n":123456789012345678901234567890}}'
    r = client.post("/v1/tasks", content=body, headers={**sup(), "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["field"] == "payload"


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1969-12-31T23:59:59Z"])
def test_timestamps_outside_the_storable_range_are_422(client: TestClient, when: str) -> None:
    r = client.post("/v1/tasks", json={"external_id": "t", "source": "zd", "skill": "billing", "due_at": when},
                    headers=sup())
    assert r.status_code == 422 and r.json()["field"] == "due_at"
    task = create_task(client, "t2")
    r = client.patch(f"/v1/tasks/{task['id']}", json={"due_at": when}, headers=sup())
    assert r.status_code == 422 and r.json()["field"] == "due_at"
    r = client.get("/v1/kpis", params={"from": when}, headers=sup())
    assert r.status_code == 422 and r.json()["field"] == "from"


# --- transfer to a named person: POST /v1/tasks/{id}/transfer {"agent_id"} (the SLA clock keeps running)


def accepted_by(client: TestClient, agent_id: str, task_id: str) -> None:
    offer = client.post(f"/v1/agents/{agent_id}/next", headers=sup()).json()
    assert offer["task"]["id"] == task_id
    assert client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup()).status_code == 200


def test_an_agent_hands_its_task_to_a_colleague_who_gets_the_offer_and_the_due_time_stays(
    client: TestClient, clock: Clock
) -> None:
    put_agent(client, "ann", {"billing": 3})
    put_agent(client, "bob", {"billing": 4})
    ann = new_key(client, "agent", "ann")
    task = create_task(client, "ZD-1", urgent=True, important=True)
    accepted_by(client, "ann", task["id"])
    clock.advance(120)
    r = client.post(f"/v1/tasks/{task['id']}/transfer", json={"agent_id": "bob", "reason": "refund expert"},
                    headers=ann)
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["status"] == "offered" and moved["agent_id"] == "bob" and moved["previous_agent"] == "ann"
    assert moved["due_at"] == task["due_at"]
    board = {a["id"]: a for a in client.get("/v1/agents", headers=sup()).json()}
    assert board["ann"]["active_tasks"] == 0 and board["bob"]["tasks"] == [task["id"]]
    history = client.get(f"/v1/tasks/{task['id']}/history", headers=sup()).json()
    handed = next(e for e in history if e["event"] == "transferred")
    assert handed["actor"] == "agent:ann" and handed["agent_id"] == "ann"
    assert handed["data"] == {"from_agent": "ann", "to_agent": "bob", "reason": "refund expert"}
    offered = [e for e in history if e["event"] == "offered"][-1]
    assert offered["agent_id"] == "bob" and offered["data"]["transfer"]["from_agent"] == "ann"
    offer = client.post("/v1/agents/bob/next", headers=sup())
    assert offer.status_code == 200 and offer.json()["task"]["id"] == task["id"]


def test_a_transfer_to_someone_who_cannot_take_it_is_a_409_naming_why_and_changes_nothing(
    client: TestClient,
) -> None:
    put_agent(client, "ann", {"billing": 3})
    put_agent(client, "tech", {"tech": 5})
    put_agent(client, "away", {"billing": 5}, status="break")
    put_agent(client, "full", {"billing": 5}, capacity=1)
    task = create_task(client, "ZD-2")
    accepted_by(client, "ann", task["id"])
    other = create_task(client, "ZD-3")
    accepted_by(client, "full", other["id"])
    before = events_of(client, task["id"])
    for target, words in (("tech", "does not have skill billing"), ("away", "is break"),
                          ("full", "no free capacity"), ("ann", "already holds")):
        r = client.post(f"/v1/tasks/{task['id']}/transfer", json={"agent_id": target}, headers=sup())
        assert r.status_code == 409 and words in r.json()["detail"], (target, r.text)
    assert client.post(f"/v1/tasks/{task['id']}/transfer", json={"agent_id": "nobody"},
                       headers=sup()).status_code == 404
    both = client.post(f"/v1/tasks/{task['id']}/transfer", json={"agent_id": "tech", "skill": "tech"},
                       headers=sup())
    assert both.status_code == 422
    assert events_of(client, task["id"]) == before
    still = client.get(f"/v1/tasks/{task['id']}", headers=sup()).json()
    assert still["status"] == "assigned" and still["agent_id"] == "ann"


def test_only_the_holder_or_a_supervisor_may_hand_a_task_on(client: TestClient) -> None:
    put_agent(client, "ann", {"billing": 3})
    put_agent(client, "bob", {"billing": 3})
    put_agent(client, "eve", {"billing": 3})
    task = create_task(client, "ZD-4")
    accepted_by(client, "ann", task["id"])
    eve = new_key(client, "agent", "eve")
    r = client.post(f"/v1/tasks/{task['id']}/transfer", json={"agent_id": "eve"}, headers=eve)
    assert r.status_code == 403
