"""Finding 2: request bodies are authenticated before they are read and cut off at the limit; task
payloads have a size limit; the embedded Redis has a memory cap.

The ASGI app is called directly with a ``receive`` that counts what was read, so "not read" is
observed, not assumed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from api.service.app import create_app
from api.service.settings import Settings
from api.store.embedded_redis import EmbeddedRedis

pytestmark = pytest.mark.anyio
BOOT = "boot-supervisor-key"
LIMIT = 64 * 1024


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=[True, False], ids=["fast-path", "fastapi"])
async def app(request: pytest.FixtureRequest, redis_url: str, redis_client: redis.Redis,
              tmp_path: Path) -> AsyncIterator[Any]:
    settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, data_dir=tmp_path, max_body_bytes=LIMIT,
                        max_payload_bytes=1024, allow_new_skills=True, fast_path=request.param)
    application = create_app(settings, dispatch=False)
    async with application.router.lifespan_context(application):
        yield application


async def call(app: Any, path: str, headers: dict[str, str], chunks: list[bytes]) -> tuple[int, dict[str, Any], int]:
    """POST ``chunks`` as the body; returns (status, JSON body, number of body chunks the app read)."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 1), "server": ("test", 80)}
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, orjson.loads(body) if body else {}, read


def task_body(**extra: Any) -> bytes:
    return orjson.dumps({"external_id": "e1", "source": "s", "skill": "billing", **extra})


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key"])
async def test_big_body_without_a_valid_key_gets_401_unread(app: Any, authorization: str | None) -> None:
    headers = {"content-type": "application/json", "content-length": str(200 << 20)}
    if authorization:
        headers["authorization"] = authorization
    status, _, read = await call(app, "/v1/tasks", headers, [b"x" * 1024] * 4)
    assert status == 401
    assert read == 0


async def test_declared_length_over_the_limit_gets_413_unread(app: Any) -> None:
    headers = {"authorization": f"Bearer {BOOT}", "content-type": "application/json",
               "content-length": str(LIMIT + 1)}
    status, body, read = await call(app, "/v1/tasks", headers, [b"x" * 1024])
    assert status == 413
    assert body["field"] == "body"
    assert read == 0


async def test_chunked_body_is_cut_off_once_it_passes_the_limit(app: Any) -> None:
    headers = {"authorization": f"Bearer {BOOT}", "content-type": "application/json",
               "transfer-encoding": "chunked"}
    chunks = [b" " * 8192] * 64  # 512 KiB of whitespace, well past the 64 KiB limit
    status, _, read = await call(app, "/v1/tasks", headers, chunks)
    assert status == 413
    assert read <= LIMIT // 8192 + 1


async def test_body_under_the_limit_is_served(app: Any) -> None:
    body = task_body()
    headers = {"authorization": f"Bearer {BOOT}", "content-type": "application/json",
               "content-length": str(len(body))}
    status, reply, _ = await call(app, "/v1/tasks", headers, [body])
    assert status == 201, reply


async def test_payload_over_its_limit_gets_422_naming_payload(app: Any) -> None:
    body = task_body(payload={"text": "y" * 2000})
    headers = {"authorization": f"Bearer {BOOT}", "content-type": "application/json",
               "content-length": str(len(body))}
    status, reply, _ = await call(app, "/v1/tasks", headers, [body])
    assert status == 422
    assert reply["field"] == "payload"


def test_embedded_redis_has_a_memory_cap_and_never_evicts(tmp_path: Path) -> None:
    server = EmbeddedRedis(data_dir=tmp_path, maxmemory="64mb").start()
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.config_get("maxmemory")["maxmemory"] == str(64 << 20)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        client.close()
    finally:
        server.stop()
