"""No Docker engine runs here, so the deployment files are checked by reading them."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_runs_serve_as_a_non_root_user() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.strip()]
    assert lines[0].startswith("FROM python:3.11-slim")
    users = [ln for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("USER root", "USER 0")
    assert any(ln.startswith("ENTRYPOINT") and "dispatchwise" in ln for ln in lines)
    assert any(ln.startswith("CMD") and "serve" in ln for ln in lines)


def test_compose_has_api_worker_and_redis7_with_aof() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"api", "worker", "redis"} <= set(services)
    assert services["redis"]["image"].startswith("redis:7")
    assert "--appendonly" in services["redis"]["command"]
    for name in ("api", "worker"):
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:")
