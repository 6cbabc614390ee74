"""Finding 3: one rule for names, escaped metric labels, agents and skills can be retired, unknown
skills refused (unless allowed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from api.service.app import create_app
from api.service.settings import Settings

BOOT = "boot-supervisor-key"
SUP = {"Authorization": f"Bearer {BOOT}"}
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? -?[0-9.e+]+$')
"""One sample line of the Prometheus text format (name, optional escaped labels, value)."""


def make_client(redis_url: str, tmp_path: Path, *, allow_new_skills: bool) -> Iterator[TestClient]:
    settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, data_dir=tmp_path, allow_new_skills=allow_new_skills)
    with TestClient(create_app(settings, dispatch=False)) as tc:
        yield tc


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(redis_url, tmp_path, allow_new_skills=False)


def put_agent(client: TestClient, agent_id: str, skills: dict[str, int], status: str = "available") -> None:
    r = client.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "skills": skills}, headers=SUP)
    assert r.status_code == 200, r.text
    r = client.put(f"/v1/agents/{agent_id}/status", json={"status": status}, headers=SUP)
    assert r.status_code == 200, r.text


def post_task(client: TestClient, ext: str, skill: str) -> int:
    r = client.post("/v1/tasks", json={"external_id": ext, "source": "crm", "skill": skill}, headers=SUP)
    return r.status_code


@pytest.mark.parametrize("skill", ['bad"skill\nforged_metric 1', "a b", "x" * 65, "-lead", "ünï"])
def test_task_skill_outside_the_name_rule_is_422(client: TestClient, skill: str) -> None:
    r = client.post("/v1/tasks", json={"external_id": "e", "source": "crm", "skill": skill}, headers=SUP)
    assert r.status_code == 422
    assert r.json()["field"] == "skill"


@pytest.mark.parametrize("agent_id", ["a%0Ab", "x" * 65, "a%22b"])
def test_agent_id_outside_the_name_rule_is_422(client: TestClient, agent_id: str) -> None:
    r = client.put(f"/v1/agents/{agent_id}", json={"name": "n", "skills": {"billing": 3}}, headers=SUP)
    assert r.status_code == 422
    assert r.json()["field"] == "agent_id"


def test_agent_skill_names_follow_the_same_rule(client: TestClient) -> None:
    r = client.put("/v1/agents/a1", json={"name": "n", "skills": {'x"\ny': 3}}, headers=SUP)
    assert r.status_code == 422


def test_metrics_stay_parseable_with_a_stored_skill_that_needs_escaping(client: TestClient,
                                                                        redis_client: redis.Redis) -> None:
    # a skill stored before names were checked (or written by another tool)
    legacy = 'bad"skill\\x\nforged_metric 1'
    redis_client.sadd("dw:skills", legacy)
    redis_client.zadd(f"dw:q:{legacy}", {"T1": 1})
    text = client.get("/metrics").text
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(SAMPLE.match(line) for line in samples), [s for s in samples if not SAMPLE.match(s)]
    assert 'dispatchwise_queue_depth{skill="bad\\"skill\\\\x\\nforged_metric 1"} 1' in samples
    assert not any(line.startswith("forged_metric") for line in text.splitlines())


def test_unknown_skill_on_a_task_is_422_until_an_agent_has_it(client: TestClient) -> None:
    assert post_task(client, "e1", "billing") == 422
    put_agent(client, "a1", {"billing": 3}, status="offline")
    assert post_task(client, "e1", "billing") == 201


def test_unknown_skill_is_accepted_when_new_skills_are_allowed(redis_url: str, redis_client: redis.Redis,
                                                                tmp_path: Path) -> None:
    for tc in make_client(redis_url, tmp_path, allow_new_skills=True):
        assert post_task(tc, "e1", "brand-new") == 201


def test_transfer_to_an_unknown_skill_is_422(client: TestClient) -> None:
    put_agent(client, "a1", {"billing": 3}, status="offline")
    assert post_task(client, "e1", "billing") == 201
    r = client.post("/v1/tasks/T1/transfer", json={"skill": "nobody-has-this"}, headers=SUP)
    assert r.status_code == 422
    assert r.json()["field"] == "skill"


def test_retiring_an_agent_removes_it_and_its_unused_skills(client: TestClient, redis_client: redis.Redis) -> None:
    put_agent(client, "a1", {"billing": 3, "rare": 2})
    put_agent(client, "a2", {"billing": 3})
    assert client.delete("/v1/agents/a1", headers=SUP).status_code == 204
    assert client.get("/v1/agents/a1", headers=SUP).status_code == 404
    assert [a["id"] for a in client.get("/v1/agents", headers=SUP).json()] == ["a2"]
    assert redis_client.smembers("dw:skills") == {"billing"}
    assert post_task(client, "e1", "rare") == 422
    assert client.delete("/v1/agents/a1", headers=SUP).status_code == 404


def test_retiring_an_agent_gives_its_pending_offer_back_to_the_queue(client: TestClient) -> None:
    put_agent(client, "a1", {"billing": 3})
    assert post_task(client, "e1", "billing") == 201
    offered = client.post("/v1/agents/a1/next", headers=SUP)
    assert offered.status_code == 200
    assert client.delete("/v1/agents/a1", headers=SUP).status_code == 204
    task = client.get("/v1/tasks/T1", headers=SUP).json()
    assert (task["status"], task["agent_id"]) == ("queued", None)


def test_an_agent_holding_an_assigned_task_cannot_be_retired(client: TestClient) -> None:
    put_agent(client, "a1", {"billing": 3})
    assert post_task(client, "e1", "billing") == 201
    offer = client.post("/v1/agents/a1/next", headers=SUP).json()
    assert client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=SUP).status_code == 200
    r = client.delete("/v1/agents/a1", headers=SUP)
    assert r.status_code == 409
    assert client.get("/v1/agents/a1", headers=SUP).status_code == 200


def test_a_skill_disappears_once_no_agent_has_it_and_its_queue_is_empty(client: TestClient,
                                                                          redis_client: redis.Redis) -> None:
    put_agent(client, "a1", {"billing": 3, "rare": 2})
    put_agent(client, "a1", {"billing": 3})  # re-skilled: nobody has "rare" any more
    assert redis_client.smembers("dw:skills") == {"billing"}
