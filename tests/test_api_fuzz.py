"""Schemathesis fuzz of the OpenAPI schema (bounded): no 5xx, every error a JSON problem body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from api.service.app import create_app
from api.service.settings import Settings

BOOT = "fuzz-boot"
PREFIX = "fuzz"
EXAMPLES_PER_OPERATION = 15


@pytest.fixture(scope="module")
def fuzz_schema(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    raw = redis.Redis.from_url(redis_url)
    for key in raw.scan_iter(f"{PREFIX}:*"):
        raw.delete(key)
    app = create_app(Settings(redis_url=redis_url, bootstrap_key=BOOT, key_prefix=PREFIX,
                              data_dir=Path(tmp_path_factory.mktemp("fuzz"))), dispatch=False)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    for key in raw.scan_iter(f"{PREFIX}:*"):
        raw.delete(key)
    raw.close()


SERVICE_PATHS = ("/v1/", "/healthz", "/readyz", "/metrics", "/dashboard/panels")
STATUSES: list[int] = []


def _check(case: Any) -> None:
    if case.path == "/v1/agents/{agent_id}/next" and isinstance(case.query, dict):
        case.query["wait"] = 0  # long-polls would only slow the fuzz down
    response = case.call(headers={"Authorization": f"Bearer {BOOT}"})
    STATUSES.append(response.status_code)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and body.get("error") and body.get("detail"), body


@pytest.mark.slow
def test_fuzzed_requests_never_get_a_5xx_and_errors_are_json_problems(fuzz_schema: Any) -> None:
    operations = [r.ok() for r in fuzz_schema.get_all_operations()]
    # every API operation but the endless events stream
    operations = [op for op in operations if op.path.startswith(SERVICE_PATHS) and op.path != "/v1/events"]
    assert len(operations) >= 20
    for operation in operations:
        run = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck))(given(case=operation.as_strategy())(_check))
        run()
    # the fuzz reached the handlers, not only the auth and validation layers
    assert len(STATUSES) > 100 and {200, 404, 422} <= set(STATUSES), sorted(set(STATUSES))
