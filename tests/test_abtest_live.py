"""Live A/B test of routing policies through the API: one experiment at a time, each task routed by
its arm's policy, every offer naming its arm in the audit trail, and a per-arm report with intervals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from scipy import stats

from api.live.dispatch import Dispatcher
from api.service.app import create_app
from api.service.settings import Settings
from api.store.queue import LiveQueue
from dispatcher.abtest import arm_of
from dispatcher.errors import InvalidInput
from tests.clock import Clock

BOOT = "boot-supervisor-key"
T0 = 1_800_000_000.0
SUP = {"Authorization": f"Bearer {BOOT}"}


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, clock: Clock, tmp_path: Any) -> Iterator[TestClient]:
    settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, offer_ttl_s=30, data_dir=tmp_path)
    app = create_app(settings, dispatch=False)
    with TestClient(app) as tc:
        app.state.queue.clock = clock
        yield tc


def experiment(name: str = "batching", **extra: Any) -> dict[str, Any]:
    return {"name": name, "policy_a": "live", "policy_b": {"name": "greedy-now", "mode": "greedy",
                                                          "batch_interval_s": 0}, "share_b": 0.5, **extra}


def run_day(client: TestClient, clock: Clock, n_tasks: int) -> list[dict[str, Any]]:
    """Tasks arrive one a second at two agents; each offer is accepted and completed (even tasks resolved
    at first contact); returns the audit trail."""
    queue: LiveQueue = client.app.state.queue  # type: ignore[attr-defined]
    call = client.portal.call  # type: ignore[union-attr]
    for agent_id in ("ann", "bob"):
        r = client.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "skills": {"billing": 3},
                                                        "primary_skills": ["billing"], "capacity": 5}, headers=SUP)
        assert r.status_code == 200, r.text
        assert client.put(f"/v1/agents/{agent_id}/status", json={"status": "available"}, headers=SUP).is_success
    loop = Dispatcher(queue, owner="ab", sla_every_s=1e9, plans_every_s=1e9)
    for i in range(n_tasks):
        clock.now += 1.0
        r = client.post("/v1/tasks", json={"external_id": f"t{i}", "source": "web", "skill": "billing",
                                           "urgent": i % 3 == 0, "important": i % 2 == 0}, headers=SUP)
        assert r.status_code == 201, r.text
        call(loop.tick)
        clock.now += 2.0
        call(loop.tick)  # the grid batch, if the policy waited
        for agent_id in ("ann", "bob"):
            for offer_id in call(queue.redis.zrange, queue.keys.agent_offers(agent_id), 0, -1):
                task = call(lambda o=offer_id, a=agent_id: queue.accept(o, actor=a, acting_agent=a))
                call(lambda t=task["id"]: queue.complete(t, actor="crm", outcome={
                    "first_contact_resolved": int(t[1:]) % 2 == 0}))
    events: list[dict[str, Any]] = call(queue.all_audit_events)
    return events


def test_only_one_experiment_runs_at_a_time_and_delete_ends_it(client: TestClient) -> None:
    assert "experiment" not in client.get("/v1/abtest", headers=SUP).json(), "none runs: the retrospective report"
    assert client.get("/v1/abtest/current", headers=SUP).json() == {"running": False}
    r = client.put("/v1/abtest", json=experiment(), headers=SUP)
    assert r.status_code == 201, r.text
    current = client.get("/v1/abtest/current", headers=SUP).json()
    assert current["running"] is True and current["experiment"]["name"] == "batching"
    assert r.json()["policy_b"]["mode"] == "greedy"
    second = client.put("/v1/abtest", json=experiment("other"), headers=SUP)
    assert second.status_code == 409 and "batching" in second.text
    assert client.get("/v1/abtest", headers=SUP).json()["experiment"]["name"] == "batching"
    assert client.delete("/v1/abtest", headers=SUP).json()["ended"] is True
    assert client.delete("/v1/abtest", headers=SUP).status_code == 404
    assert client.put("/v1/abtest", json=experiment("other"), headers=SUP).status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    ({"policy_b": {"mode": "fastest"}}, "mode"),
    ({"policy_b": "nosuch"}, "policy_b"),
    ({"share_b": 1.5}, "share_b"),
    ({"unit": "team"}, "unit"),
    ({"policy_a": {"weights": {"load_weight": -1}}}, "load_weight"),
])
def test_a_bad_experiment_is_a_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = client.put("/v1/abtest", json={**experiment(), **body}, headers=SUP)
    assert r.status_code == 422, r.text
    assert field in r.text


def test_agents_cannot_start_an_experiment(client: TestClient) -> None:
    r = client.post("/v1/keys", json={"role": "agent", "agent_id": "ann"}, headers=SUP)
    agent = {"Authorization": f"Bearer {r.json()['key']}"}
    assert client.put("/v1/abtest", json=experiment(), headers=agent).status_code == 403


def test_live_ab_splits_tasks_by_hash_and_every_offer_names_its_arm(client: TestClient, clock: Clock) -> None:
    assert client.put("/v1/abtest", json=experiment(), headers=SUP).status_code == 201
    events = run_day(client, clock, 300)
    offers = [e for e in events if e["event"] == "offered"]
    assert len(offers) >= 300
    for offer in offers:
        assert offer["data"]["experiment"] == "batching"
        assert offer["data"]["arm"] == arm_of(offer["task_id"], salt="batching", share_b=0.5)
        assert offer["data"]["policy"] == ("greedy-now" if offer["data"]["arm"] == "B" else "live")
    n_b = sum(1 for o in offers if o["data"]["arm"] == "B")
    assert stats.binomtest(n_b, len(offers), 0.5).pvalue > 0.001, (n_b, len(offers))

    report = client.get("/v1/abtest", headers=SUP).json()
    assert client.get("/v1/abtest/current", headers=SUP).json() == {"running": True, **report}
    arms = report["arms"]
    assert arms["A"]["n"] + arms["B"]["n"] == 300 and arms["B"]["n"] == n_b
    assert arms["A"]["policy"] == "live" and arms["B"]["policy"] == "greedy-now"
    fcr = next(d for d in report["differences"] if d["kpi"] == "fcr")
    assert fcr["ci95_low"] <= fcr["b_minus_a"] <= fcr["ci95_high"]
    assert fcr["detectable_difference"] > 0
    assert {d["kpi"] for d in report["differences"]} == {"service_level", "asa_s", "abandonment", "fcr",
                                                        "satisfaction"}


def test_agent_unit_routes_each_agent_by_its_own_arm(client: TestClient, clock: Clock) -> None:
    assert client.put("/v1/abtest", json=experiment(unit="agent", name="agents"), headers=SUP).status_code == 201
    events = run_day(client, clock, 20)
    offers = [e for e in events if e["event"] == "offered"]
    assert offers
    for offer in offers:
        assert offer["data"]["arm"] == arm_of(offer["agent_id"], salt="agents", share_b=0.5)


def test_the_experiment_command_starts_reports_and_stops_the_live_experiment(
    client: TestClient, clock: Clock, tmp_path: Any
) -> None:
    from rich.console import Console

    from api.cli.commands.experiment import call, experiment_body, report_table

    policy = tmp_path / "fast.toml"
    policy.write_text('name = "fast"\nmode = "greedy"\n', encoding="utf-8")
    io = {"url": "http://testserver", "key": BOOT, "transport": client._transport}
    call("PUT", "/v1/abtest", body=experiment_body("cli", "live", str(policy), 0.5, "task"), **io)
    with pytest.raises(InvalidInput) as clash:
        call("PUT", "/v1/abtest", body=experiment_body("other", "live", "greedy", 0.5, "task"), **io)
    assert "409" in clash.value.message
    run_day(client, clock, 60)
    status = call("GET", "/v1/abtest/current", **io)
    assert status["running"] and status["experiment"]["name"] == "cli"
    assert status["arms"]["B"]["policy"] == "fast"
    console = Console(record=True, width=140)
    console.print(report_table(status))
    text = console.export_text()
    assert "service_level" in text and "B − A" in text
    ended = call("DELETE", "/v1/abtest", **io)
    assert ended["ended"] is True and call("GET", "/v1/abtest/current", **io) == {"running": False}
    with pytest.raises(InvalidInput) as no_key:
        call("GET", "/v1/abtest/current", url="http://testserver", key="", transport=client._transport)
    assert no_key.value.field == "--key"
