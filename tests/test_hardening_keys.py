"""Finding 8: keys can be listed, revoked (at once, past the auth cache, in every API process) and
expire; the CLI does the same; compose needs a bootstrap key it was given."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.service.app import create_app
from api.service.settings import Settings

BOOT = "boot-supervisor-key"
SUP = {"Authorization": f"Bearer {BOOT}"}
ROOT = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def app_client(redis_url: str, tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(redis_url=redis_url, bootstrap_key=BOOT, data_dir=tmp_path),
                                 dispatch=False))


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(redis_url, tmp_path) as tc:
        yield tc


def new_key(client: TestClient, **body: object) -> dict[str, str]:
    r = client.post("/v1/keys", json={"role": "integration", **body}, headers=SUP)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_keys_are_listed_and_read_by_id_without_the_key_itself(client: TestClient) -> None:
    made = new_key(client)
    agent = new_key(client, role="agent", agent_id="ann", expires="30d")
    listed = client.get("/v1/keys", headers=SUP).json()
    assert [(k["id"], k["role"], k["agent_id"]) for k in listed] == [
        (made["id"], "integration", None), (agent["id"], "agent", "ann")]
    assert listed[1]["expires_at"] is not None and listed[0]["expires_at"] is None
    assert made["key"] not in str(listed)
    one = client.get(f"/v1/keys/{agent['id']}", headers=SUP)
    assert one.status_code == 200 and one.json()["agent_id"] == "ann"
    assert client.get("/v1/keys/K999", headers=SUP).status_code == 404


def test_only_a_supervisor_lists_or_revokes_keys(client: TestClient) -> None:
    made = new_key(client)
    other = {"Authorization": f"Bearer {made['key']}"}
    assert client.get("/v1/keys", headers=other).status_code == 403
    assert client.delete(f"/v1/keys/{made['id']}", headers=other).status_code == 403


def test_a_revoked_key_is_refused_at_once_though_it_was_cached(client: TestClient) -> None:
    made = new_key(client)
    auth = {"Authorization": f"Bearer {made['key']}"}
    assert client.get("/v1/tasks/T404", headers=auth).status_code == 404  # accepted (and now cached)
    assert client.delete(f"/v1/keys/{made['id']}", headers=SUP).status_code == 204
    assert client.get("/v1/tasks/T404", headers=auth).status_code == 401
    assert client.delete(f"/v1/keys/{made['id']}", headers=SUP).status_code == 404


def test_a_revocation_reaches_another_api_process(client: TestClient, redis_url: str, tmp_path: Path) -> None:
    made = new_key(client)
    auth = {"Authorization": f"Bearer {made['key']}"}
    with app_client(redis_url, tmp_path) as other:
        assert other.get("/v1/tasks/T404", headers=auth).status_code == 404  # cached in the other process
        assert client.delete(f"/v1/keys/{made['id']}", headers=SUP).status_code == 204
        deadline = time.monotonic() + 5  # the revocation travels over pub/sub: well under the 10 s cache
        while other.get("/v1/tasks/T404", headers=auth).status_code != 401 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert other.get("/v1/tasks/T404", headers=auth).status_code == 401


def test_a_key_stops_working_when_it_expires(client: TestClient) -> None:
    clock = Clock()
    client.app.state.queue.clock = clock  # type: ignore[attr-defined]
    made = new_key(client, expires="2h")
    auth = {"Authorization": f"Bearer {made['key']}"}
    assert client.get("/v1/tasks/T404", headers=auth).status_code == 404
    clock.now += 2 * 3600 + 1
    r = client.get("/v1/tasks/T404", headers=auth)
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]
    assert client.get(f"/v1/keys/{made['id']}", headers=SUP).json()["expired"] is True


@pytest.mark.parametrize("expires", ["30x", "0d", "-1h", "forever", "11000d"])
def test_a_bad_lifetime_is_422(client: TestClient, expires: str) -> None:
    r = client.post("/v1/keys", json={"role": "integration", "expires": expires}, headers=SUP)
    assert r.status_code == 422
    assert r.json()["field"] == "expires"


def test_cli_creates_lists_and_revokes_keys(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    env = {"REDIS_URL": redis_url, "DISPATCHWISE_DATA_DIR": str(tmp_path)}
    created = CliRunner().invoke(cli, ["keys", "create", "--role", "integration", "--expires", "30d"], env=env)
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    listed = CliRunner().invoke(cli, ["keys", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    row = listed.output.splitlines()[1].split("\t")
    assert row[1] == "integration" and row[4] != "never"
    assert key not in listed.output
    with app_client(redis_url, tmp_path) as client:
        auth = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/tasks/T404", headers=auth).status_code == 404
        revoked = CliRunner().invoke(cli, ["keys", "revoke", row[0]], env=env)
        assert revoked.exit_code == 0, revoked.output
        assert _eventually_401(client, auth)  # published to every API process
    assert CliRunner().invoke(cli, ["keys", "revoke", row[0]], env=env).exit_code != 0


def _eventually_401(client: TestClient, auth: dict[str, str]) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if client.get("/v1/tasks/T404", headers=auth).status_code == 401:
            return True
        time.sleep(0.02)
    return False


def test_compose_refuses_to_start_without_a_bootstrap_key() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    value = compose["services"]["api"]["environment"]["DISPATCHWISE_BOOTSTRAP_KEY"]
    assert "change-me" not in str(value)
    assert str(value).startswith("${DISPATCHWISE_BOOTSTRAP_KEY:?"), value  # compose errors out when unset
