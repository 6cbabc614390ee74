"""The performance router on a small app over a real Redis: audit trail in, scorecards, targets, plans,
A/B and proficiency feedback out. Audit entries are written in the live service's stream format."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
import redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from api.service.routes.scorecards import router
from api.store.keys import Keys
from api.store.queue import LiveQueue
from dispatcher.abtest import arm_of
from dispatcher.errors import DispatchwiseError
from tests.clock import Clock

T0 = datetime(2027, 1, 4, 9, tzinfo=UTC)
KEYS = Keys("dw")


@pytest.fixture()
def clock() -> Clock:
    return Clock((T0 + timedelta(days=1)).timestamp())


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, clock: Clock) -> Iterator[TestClient]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.queue = LiveQueue.from_url(redis_url, prefix="dw", clock=clock)
        yield
        await app.state.queue.close()

    async def problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DispatchwiseError)
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    app = FastAPI(lifespan=lifespan)
    app.add_exception_handler(DispatchwiseError, problem)
    app.include_router(router, prefix="/v1")
    with TestClient(app) as tc:
        yield tc


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def audit(r: redis.Redis, task: str, event: str, at: datetime, *, agent: str = "", skill: str = "",
          data: dict[str, Any] | None = None) -> None:
    r.xadd(KEYS.audit, {"task": task, "event": event, "actor": "test", "at": ms(at), "agent": agent,
                        "skill": skill, "data": json.dumps(data) if data else ""})


def agent(r: redis.Redis, agent_id: str, skills: dict[str, int], team: str) -> None:
    r.hset(KEYS.agent(agent_id), mapping={"id": agent_id, "name": agent_id, "skills": json.dumps(skills),
                                          "primary": json.dumps(sorted(skills)), "capacity": 1, "team": team})
    r.sadd(KEYS.agents, agent_id)


def task(r: redis.Redis, task_id: str, created: datetime, *, wait_s: float, handle_s: float, agent_id: str,
         skill: str = "billing", quadrant: str = "Q2", due_s: float = 1800, **outcome: Any) -> None:
    audit(r, task_id, "created", created, skill=skill,
          data={"quadrant": quadrant, "due_ms": int(ms(created + timedelta(seconds=due_s)))})
    accepted = created + timedelta(seconds=wait_s)
    audit(r, task_id, "offered", accepted - timedelta(seconds=1), agent=agent_id, skill=skill)
    audit(r, task_id, "accepted", accepted, agent=agent_id, skill=skill)
    audit(r, task_id, "started", accepted, agent=agent_id, skill=skill)
    audit(r, task_id, "completed", accepted + timedelta(seconds=handle_s), agent=agent_id, skill=skill,
          data=outcome)


def seed(r: redis.Redis) -> None:
    agent(r, "ann", {"billing": 3}, "red")
    agent(r, "bo", {"billing": 3}, "red")
    task(r, "t1", T0, wait_s=60, handle_s=300, agent_id="ann", first_contact_resolved=True)
    task(r, "t2", T0 + timedelta(minutes=5), wait_s=2400, handle_s=600, agent_id="bo",
         first_contact_resolved=False, complaint=True)
    task(r, "t3", T0 + timedelta(minutes=9), wait_s=120, handle_s=100, agent_id="ann")
    audit(r, "t3", "satisfaction", T0 + timedelta(hours=2), data={"score": 5})


def test_agent_scorecards_from_the_audit_trail(client: TestClient, redis_client: redis.Redis) -> None:
    seed(redis_client)
    r = client.get("/v1/scorecards", params={"level": "agent"})
    assert r.status_code == 200, r.text
    cards = {c["key"]: c for c in r.json()["cards"]}
    ann, bo = cards["ann"]["metrics"], cards["bo"]["metrics"]
    assert (ann["handled"], bo["handled"]) == (2, 1)
    assert ann["asa_s"] == pytest.approx(90) and ann["aht_s"] == pytest.approx(200)  # handle = accept -> complete
    assert (ann["sla"], bo["sla"]) == (1.0, 0.0)
    assert bo["fcr"] == 0.0 and bo["complaint_rate"] == 1.0
    assert ann["satisfaction_n"] == 1 and bo["satisfaction"] is None  # NaN travels as null
    points = sum(c["points"] for c in cards["ann"]["components"])
    assert cards["ann"]["composite"] == pytest.approx(points)


def test_team_and_queue_levels_and_custom_weights(client: TestClient, redis_client: redis.Redis) -> None:
    seed(redis_client)
    red = client.get("/v1/scorecards", params={"level": "team"}).json()["cards"]
    assert [c["key"] for c in red] == ["red"] and red[0]["metrics"]["handled"] == 3
    r = client.get("/v1/scorecards", params={"level": "queue", "weights": "sla:1,fcr:0,satisfaction:0,asa_s:0,"
                                             "aht_vs_forecast:0,abandonment:0,complaint_rate:0,adherence:0,occupancy:0"})
    billing = r.json()["cards"][0]
    assert billing["composite"] == pytest.approx(100 * (2 / 3) / 0.8)


def test_scorecard_query_errors_name_the_parameter(client: TestClient) -> None:
    empty = client.get("/v1/scorecards", params={"level": "queue"})
    assert empty.status_code == 200 and empty.json()["cards"] == []
    r = client.get("/v1/scorecards", params={"weights": "speed:1"})
    assert r.status_code == 422 and r.json()["field"] == "weights"
    r = client.get("/v1/scorecards", params={"from": "2027-01-04T09:00:00"})
    assert r.status_code == 422 and r.json()["field"] == "from"


def target_body(**kw: Any) -> dict[str, Any]:
    body = {"id": "billing-sl", "kpi": "sla", "level": "queue", "scope": "billing", "value": 0.8,
            "owner": "team lead B", "deadline": "2027-01-31", "start": "2027-01-04T00:00:00Z"}
    return body | kw


def test_target_crud_and_achievement_rate(client: TestClient, redis_client: redis.Redis) -> None:
    seed(redis_client)
    r = client.post("/v1/targets", json=target_body())
    assert r.status_code == 201, r.text
    assert r.json()["deadline"] == "2027-01-31T23:59:59+00:00"
    assert client.post("/v1/targets", json=target_body()).status_code == 409
    got = client.get("/v1/targets/billing-sl").json()
    assert got["status"]["actual"] == pytest.approx(2 / 3)
    assert got["status"]["achievement_rate"] == pytest.approx((2 / 3) / 0.8)
    assert got["status"]["met"] is False and len(got["status"]["history"]) == 1
    r = client.put("/v1/targets/billing-sl", json=target_body(value=0.6))
    assert r.status_code == 200 and client.get("/v1/targets").json()[0]["status"]["met"] is True
    assert client.delete("/v1/targets/billing-sl").status_code == 204
    assert client.get("/v1/targets/billing-sl").status_code == 404
    # a team target: the team comes from the live agent profiles (the audit trail carries none)
    r = client.post("/v1/targets", json=target_body(id=None, kpi="fcr", level="team", scope="red", value=0.75))
    assert r.status_code == 201 and r.json()["id"].startswith("target-")
    status = client.get(f"/v1/targets/{r.json()['id']}").json()["status"]
    assert status["actual"] == pytest.approx(2 / 3) and status["achievement_rate"] == pytest.approx((2 / 3) / 0.75)


def test_bad_target_is_422_naming_the_field(client: TestClient) -> None:
    r = client.post("/v1/targets", json=target_body(kpi="happiness"))
    assert r.status_code == 422 and r.json()["field"] == "kpi"
    r = client.post("/v1/targets", json=target_body(deadline="next week"))
    assert r.status_code == 422 and r.json()["field"] == "deadline"


def test_overdue_plan_actions_alert_their_owner_once(client: TestClient, clock: Clock) -> None:
    client.post("/v1/targets", json=target_body())
    plan = {"id": "p1", "target_id": "billing-sl", "title": "Lift SL", "owner": "team lead B", "actions": [
        {"id": "coach", "description": "coach new hires", "owner": "coach C", "due": "2027-01-06"},
        {"id": "noon", "description": "add a noon shift", "owner": "planner D", "due": "2027-01-20"}]}
    r = client.post("/v1/plans", json=plan)
    assert r.status_code == 201, r.text
    assert client.post("/v1/plans", json={**plan, "target_id": "nope", "id": "p2"}).status_code == 404
    assert client.delete("/v1/targets/billing-sl").status_code == 409  # a plan still uses it
    assert client.post("/v1/plans/alerts/sweep").json() == []
    clock.now = datetime(2027, 1, 10, tzinfo=UTC).timestamp()
    raised = client.post("/v1/plans/alerts/sweep").json()
    assert [(a["action_id"], a["owner"]) for a in raised] == [("coach", "coach C")]
    assert client.post("/v1/plans/alerts/sweep").json() == []  # once per action
    assert [a["action_id"] for a in client.get("/v1/plans/alerts").json()] == ["coach"]
    assert client.get("/v1/plans/p1").json()["actions"][0]["overdue"] is True
    done = client.post("/v1/plans/p1/actions/coach/done").json()
    assert done["completion"] == 0.5 and client.get("/v1/plans/alerts").json() == []
    assert client.post("/v1/plans/p1/actions/zzz/done").status_code == 422


def test_abtest_report_over_the_audit_trail(client: TestClient, redis_client: redis.Redis) -> None:
    agent(redis_client, "ann", {"billing": 3}, "red")
    for i in range(120):
        task_id = f"ab{i}"
        slow = arm_of(task_id, salt="exp") == "A"
        task(redis_client, task_id, T0 + timedelta(minutes=i), wait_s=2400 if slow else 60, handle_s=200,
             agent_id="ann")
    r = client.get("/v1/abtest", params={"salt": "exp"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert sum(body["tasks"]) == 120
    sla = next(k for k in body["kpis"] if k["kpi"] == "sla")
    assert sla["a"] == 0.0 and sla["b"] == 1.0 and sla["significant"] is True


def test_proficiency_preview_changes_nothing_until_accepted_once(client: TestClient,
                                                                 redis_client: redis.Redis) -> None:
    agent(redis_client, "fast", {"billing": 1}, "red")
    agent(redis_client, "slow", {"billing": 5}, "red")
    for i in range(40):
        task(redis_client, f"f{i}", T0 + timedelta(minutes=i), wait_s=30, handle_s=200, agent_id="fast",
             first_contact_resolved=True)
        task(redis_client, f"s{i}", T0 + timedelta(minutes=i), wait_s=30, handle_s=400, agent_id="slow",
             first_contact_resolved=i % 2 == 0)
    r = client.post("/v1/feedback/proficiency/preview", json={"min_outcomes": 30, "max_step": 2})
    assert r.status_code == 200, r.text
    preview = r.json()
    moves = {(c["agent_id"], c["current"], c["proposed"]) for c in preview["changes"]}
    assert moves == {("fast", 1, 3), ("slow", 5, 3)}
    assert json.loads(redis_client.hget(KEYS.agent("fast"), "skills") or "{}") == {"billing": 1}  # not applied
    r = client.post("/v1/feedback/proficiency/accept", json={"preview_id": preview["preview_id"]})
    assert r.status_code == 200, r.text
    assert json.loads(redis_client.hget(KEYS.agent("fast"), "skills") or "{}") == {"billing": 3}
    assert json.loads(redis_client.hget(KEYS.agent("slow"), "skills") or "{}") == {"billing": 3}
    again = client.post("/v1/feedback/proficiency/accept", json={"preview_id": preview["preview_id"]})
    assert again.status_code == 409
    assert client.post("/v1/feedback/proficiency/accept", json={"preview_id": "nope"}).status_code == 404


def test_stale_preview_is_409_and_applies_nothing(client: TestClient, redis_client: redis.Redis) -> None:
    agent(redis_client, "fast", {"billing": 1}, "red")
    agent(redis_client, "slow", {"billing": 5}, "red")
    for i in range(40):
        task(redis_client, f"f{i}", T0 + timedelta(minutes=i), wait_s=30, handle_s=200, agent_id="fast")
        task(redis_client, f"s{i}", T0 + timedelta(minutes=i), wait_s=30, handle_s=400, agent_id="slow")
    preview = client.post("/v1/feedback/proficiency/preview", json={}).json()
    agent(redis_client, "fast", {"billing": 2}, "red")  # a supervisor edited the profile meanwhile
    r = client.post("/v1/feedback/proficiency/accept", json={"preview_id": preview["preview_id"]})
    assert r.status_code == 409
    assert json.loads(redis_client.hget(KEYS.agent("slow"), "skills") or "{}") == {"billing": 5}


def test_scorecard_of_work_done_through_the_live_service(redis_url: str, redis_client: redis.Redis,
                                                         tmp_path: Any) -> None:
    """Through the app exactly as ``create_app()`` builds it (so it fails if the app stops mounting
    the router under /v1 behind the supervisor role): tasks created, offered, accepted and completed
    over HTTP show up in the agent's scorecard with their outcome."""
    from api.service.app import create_app
    from api.service.settings import Settings

    boot = "boot-key"
    app = create_app(Settings(redis_url=redis_url, bootstrap_key=boot, data_dir=tmp_path), dispatch=False)
    sup = {"Authorization": f"Bearer {boot}"}
    with TestClient(app) as tc:
        clock = Clock((T0 + timedelta(days=1)).timestamp())
        app.state.queue.clock = clock
        r = tc.put("/v1/agents/ann", json={"name": "Ann", "skills": {"billing": 4}, "primary_skills": ["billing"],
                                          "capacity": 1, "team": "red"}, headers=sup)
        assert r.status_code == 200, r.text
        assert tc.put("/v1/agents/ann/status", json={"status": "available"}, headers=sup).status_code == 200
        key = tc.post("/v1/keys", json={"role": "agent", "agent_id": "ann"}, headers=sup).json()["key"]
        ann = {"Authorization": f"Bearer {key}"}
        task = tc.post("/v1/tasks", json={"external_id": "ZD-1", "source": "zendesk", "skill": "billing",
                                          "urgent": True, "important": True}, headers=sup).json()
        clock.now += 120
        offer = tc.post("/v1/agents/ann/next", headers=ann).json()
        assert tc.post(f"/v1/offers/{offer['offer_id']}/accept", headers=ann).status_code == 200
        clock.now += 300
        r = tc.post(f"/v1/tasks/{task['id']}/complete", headers=ann,
                    json={"resolution_code": "refunded", "first_contact_resolved": False, "complaint": True})
        assert r.status_code == 200, r.text
        assert tc.post(f"/v1/tasks/{task['id']}/satisfaction", json={"score": 4}, headers=sup).status_code == 204
        assert tc.get("/v1/scorecards").status_code in (401, 403)  # supervisors only
        assert tc.get("/v1/scorecards", headers=ann).status_code == 403
        r = tc.get("/v1/scorecards", params={"level": "team"}, headers=sup)
        assert r.status_code == 200, r.text
        red = r.json()["cards"][0]
        assert red["key"] == "red"  # team from the live agent profile
        metrics = red["metrics"]
        assert metrics["handled"] == 1 and metrics["asa_s"] == pytest.approx(120, abs=1)
        assert metrics["aht_s"] == pytest.approx(300, abs=1) and metrics["sla_Q1"] == 1.0
        assert metrics["fcr"] == 0.0 and metrics["complaint_rate"] == 1.0 and metrics["satisfaction"] == 1.0
        before = redis_client.xlen(KEYS.audit)
        r = tc.post("/v1/tasks/no-such-task/satisfaction", json={"score": 1}, headers=sup)
        assert r.status_code == 404 and redis_client.xlen(KEYS.audit) == before  # and changes nothing
        again = tc.get("/v1/scorecards", params={"level": "team"}, headers=sup).json()["cards"][0]
        assert again["metrics"] == metrics


def test_audit_adapter_maps_abandoning_cancels_policies_and_handle_times() -> None:
    from api.live.audit_log import audit_events_to_frame

    def view(task_id: str, event: str, second: int, data: Any = None, agent: str = "") -> dict[str, Any]:
        return {"id": f"{second}-0", "task_id": task_id, "event": event, "agent_id": agent or None,
                "skill": "billing", "at_ms": 1_800_000_000_000 + second * 1000, "data": data}

    frame = audit_events_to_frame([
        view("t1", "created", 0, {"quadrant": "Q2", "due_ms": 1_800_000_000_000 + 1_800_000, "policy": "fast"}),
        view("t1", "accepted", 30, agent="ann"),
        view("t1", "started", 30, agent="ann"),
        view("t1", "completed", 230, {"resolution_code": "fixed"}, agent="ann"),
        view("t2", "created", 1, {"quadrant": "Q1", "due_ms": 1_800_000_000_000 + 601_000}),
        view("t2", "cancelled", 90, "customer abandoned"),
        view("t3", "created", 2, {"quadrant": "Q4"}),
        view("t3", "cancelled", 95, "duplicate ticket"),
        view("t3", "sla_alert", 96),
    ])
    assert list(frame["event"]) == ["created", "accepted", "completed", "created", "abandoned", "created",
                                    "cancelled"]
    assert frame.loc[2, "handle_s"] == "200.0" and frame.loc[2, "resolution_code"] == "fixed"
    assert frame.loc[0, "policy"] == "fast" and frame.loc[0, "response_due_at"].startswith("2027-01-15T08:30:00")
    from dispatcher.scorecard import event_log_from_frame, scorecards

    queue = scorecards(event_log_from_frame(frame), level="queue").card("billing").metrics
    assert queue["abandonment"] == pytest.approx(1 / 2) and queue["tasks"] == 3


def test_exported_audit_trail_gives_the_same_scorecards_on_the_command_line(
        client: TestClient, redis_url: str, redis_client: redis.Redis, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from api.cli.commands.scorecard import export_audit_events
    from api.cli.main import app as cli

    seed(redis_client)
    path = tmp_path / "events.csv"
    export_audit_events(redis_url).to_csv(path, index=False)
    out = tmp_path / "cards.csv"
    result = CliRunner().invoke(cli, ["scorecard", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    from_cli = pd.read_csv(out).set_index("agent")
    from_api = {c["key"]: c for c in client.get("/v1/scorecards").json()["cards"]}
    for agent_id, card in from_api.items():
        assert from_cli.loc[agent_id, "handled"] == card["metrics"]["handled"]
        assert from_cli.loc[agent_id, "composite"] == pytest.approx(card["composite"])
