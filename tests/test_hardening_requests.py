"""Finding 9: a repeated external_id with other content is 409; a bad event id is 400 before the
stream starts; the fast path reads the Authorization header like the other routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from api.service.app import create_app
from api.service.settings import Settings

BOOT = "boot-supervisor-key"
SUP = {"Authorization": f"Bearer {BOOT}"}


@pytest.fixture(params=[True, False], ids=["fast-path", "fastapi"])
def client(request: pytest.FixtureRequest, redis_url: str, redis_client: redis.Redis,
           tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, data_dir=tmp_path, allow_new_skills=True,
                        fast_path=request.param)
    with TestClient(create_app(settings, dispatch=False)) as tc:
        yield tc


BODY = {"external_id": "ZD-1", "source": "zendesk", "skill": "billing", "urgent": True,
        "payload": {"subject": "refund", "lines": 2}}


def test_repeat_with_the_same_content_returns_the_task_with_200(client: TestClient) -> None:
    first = client.post("/v1/tasks", json=BODY, headers=SUP)
    assert first.status_code == 201
    again = client.post("/v1/tasks", json={**BODY, "payload": {"lines": 2, "subject": "refund"}}, headers=SUP)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize("change", [{"skill": "claims"}, {"urgent": False}, {"payload": {"subject": "other"}},
                                    {"customer_id": "c9"}, {"due_at": "2030-01-01T00:00:00Z"}])
def test_repeat_with_other_content_is_409(client: TestClient, change: dict[str, object]) -> None:
    assert client.post("/v1/tasks", json=BODY, headers=SUP).status_code == 201
    clash = client.post("/v1/tasks", json={**BODY, **change}, headers=SUP)
    assert clash.status_code == 409, clash.text
    assert clash.json()["field"] == "external_id"


def test_repeat_after_the_task_was_reprioritised_is_still_the_same_request(client: TestClient) -> None:
    task = client.post("/v1/tasks", json=BODY, headers=SUP).json()
    assert client.patch(f"/v1/tasks/{task['id']}", json={"urgent": False}, headers=SUP).status_code == 200
    assert client.post("/v1/tasks", json=BODY, headers=SUP).status_code == 200


@pytest.mark.parametrize("since", ["99999999999999999999999-0", "1-99999999999999999999999", "abc", "-1", "1-2-3"])
def test_bad_since_is_400(client: TestClient, since: str) -> None:
    r = client.get("/v1/events", params={"since": since, "max_events": 1}, headers=SUP)
    assert r.status_code == 400
    assert r.json()["field"] == "since"


def test_bad_last_event_id_is_400(client: TestClient) -> None:
    r = client.get("/v1/events", params={"max_events": 1},
                   headers={**SUP, "Last-Event-ID": "18446744073709551616-0"})
    assert r.status_code == 400
    assert r.json()["field"] == "Last-Event-ID"


@pytest.mark.parametrize("header", [f"bearer {BOOT}", f"BEARER {BOOT}", f"Bearer   {BOOT}"])
def test_task_intake_accepts_the_header_forms_other_routes_accept(client: TestClient, header: str) -> None:
    assert client.get("/v1/agents", headers={"Authorization": header}).status_code == 200
    r = client.post("/v1/tasks", json=BODY, headers={"Authorization": header})
    assert r.status_code == 201, r.text
