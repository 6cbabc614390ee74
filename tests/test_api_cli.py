"""``dispatchwise keys create``: prints a working key once, stores only its hash; bad roles are refused."""

from __future__ import annotations

from pathlib import Path

import redis
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.service.app import create_app
from api.service.auth import key_digest
from api.service.settings import Settings
from dispatcher.errors import InvalidInput


def test_keys_create_prints_a_key_that_works_and_is_stored_hashed(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    env = {"REDIS_URL": redis_url, "DISPATCHWISE_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["keys", "create", "--role", "agent", "--agent", "ann"], env=env)
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert key.startswith("dw_") and len(key) > 30
    stored = redis_client.hgetall(f"dw:apikey:{key_digest(key)}")
    assert stored["role"] == "agent" and stored["agent"] == "ann"
    assert not any(key in str(v) for k in redis_client.keys("*") if redis_client.type(k) == "hash"
                   for v in redis_client.hgetall(k).values())
    app = create_app(Settings(redis_url=redis_url, data_dir=tmp_path), dispatch=False)
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {key}"}
        assert client.get("/v1/agents/ann", headers=auth).status_code == 404  # allowed, just not registered
        assert client.get("/v1/agents/bob", headers=auth).status_code == 403
        assert client.get("/v1/queues", headers=auth).status_code == 403


def test_keys_create_refuses_an_unknown_role_or_an_agent_key_without_agent(redis_url: str, tmp_path: Path) -> None:
    env = {"REDIS_URL": redis_url, "DISPATCHWISE_DATA_DIR": str(tmp_path)}
    bad_role = CliRunner().invoke(cli, ["keys", "create", "--role", "admin"], env=env)
    assert isinstance(bad_role.exception, InvalidInput) and bad_role.exception.field == "--role"
    no_agent = CliRunner().invoke(cli, ["keys", "create", "--role", "agent"], env=env)
    assert isinstance(no_agent.exception, InvalidInput) and no_agent.exception.field == "agent_id"
