"""Helpers for tests that run the real service: ``dispatchwise serve`` / ``worker`` subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from api.embedded_redis import free_port

BIN = Path(sys.executable).parent / "dispatchwise"


def service_env(redis_url: str, prefix: str, boot: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "REDIS_URL": redis_url,
        "DISPATCHWISE_KEY_PREFIX": prefix,
        "DISPATCHWISE_BOOTSTRAP_KEY": boot,
        "DISPATCHWISE_DATA_DIR": str(data_dir),
        "DISPATCHWISE_DISPATCH_INTERVAL_S": "0.1",
        **extra,
    })
    return env


def start_serve(env: Mapping[str, str], port: int | None = None, *args: str,
                log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = port or free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), *args], env=dict(env), stdout=out,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dispatchwise serve exited with {proc.returncode}")
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("dispatchwise serve did not become ready within 30 s")


def start_worker(env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN), "worker"], env=dict(env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
