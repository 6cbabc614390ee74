"""Findings 4 and 5: the embedded Redis stops with ``dispatchwise serve`` on SIGTERM and SIGINT, a
leftover server is never silently reused, settings apply on every start, and the server is locked
down (password, private files)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from api.store.embedded_redis import EmbeddedRedis, redis_url_for, running_url


def answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def wait_for(condition: object, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_its_embedded_redis_on(signum: int, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DISPATCHWISE_REDIS_URL")}
    env.update(DISPATCHWISE_DATA_DIR=str(data_dir), DISPATCHWISE_BOOTSTRAP_KEY="k", PYTHONUNBUFFERED="1")
    port_file = tmp_path / "out.log"
    with port_file.open("wb") as out:
        # its own session: the signal reaches the serve process only, as from a supervisor (not a terminal)
        proc = subprocess.Popen([sys.executable, "-m", "api.cli.main", "serve", "--port", "0"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for(lambda: "http://" in port_file.read_text() or proc.poll() is not None), port_file.read_text()
        address = port_file.read_text().split("http://", 1)[1].split()[0]
        assert wait_for(lambda: _healthy(f"http://{address}/readyz")), port_file.read_text()
        url = (data_dir / "redis.url").read_text()
        assert answers(url)
        proc.send_signal(signum)
        proc.wait(timeout=30)
        assert not answers(url), "the embedded redis-server outlived dispatchwise serve"
        assert not (data_dir / "redis.url").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_server_left_by_a_killed_process_is_stopped_not_reused(tmp_path: Path) -> None:
    leftover = EmbeddedRedis(data_dir=tmp_path, appendfsync="everysec").start()
    (tmp_path / "redis.owner").write_text(str(dead_pid()))  # as if its serve was SIGKILLed
    try:
        with redis_url_for(None, tmp_path, appendfsync="always") as url:
            assert url != leftover.url
            assert not answers(leftover.url)
            client = redis.Redis.from_url(url, decode_responses=True)
            assert client.config_get("appendfsync")["appendfsync"] == "always"
            client.close()
    finally:
        leftover.stop()


def test_a_second_user_applies_its_settings_to_the_shared_server(tmp_path: Path) -> None:
    with redis_url_for(None, tmp_path, appendfsync="everysec") as first, \
            redis_url_for(None, tmp_path, appendfsync="always", maxmemory="32mb") as second:
        assert second == first
        client = redis.Redis.from_url(first, decode_responses=True)
        assert client.config_get("appendfsync")["appendfsync"] == "always"
        assert client.config_get("maxmemory")["maxmemory"] == str(32 << 20)
        client.close()


def test_embedded_redis_needs_its_password_and_keeps_it_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = EmbeddedRedis(data_dir=data_dir).start()
    try:
        anonymous = redis.Redis(host="127.0.0.1", port=server.port)
        with pytest.raises(redis.AuthenticationError):
            anonymous.set("dw:apikey:forged", "supervisor")
        anonymous.close()
        assert answers(server.url)
        assert running_url(data_dir) == server.url
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        for name in ("redis.url", "redis.conf"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
        assert server.process is not None
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
        assert server.password.encode() not in cmdline
    finally:
        server.stop()
