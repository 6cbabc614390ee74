"""The command line as a new user meets it: help, generate, doctor on embedded Redis, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

CLI = [sys.executable, "-m", "api.cli.main"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("generate", "doctor"):
        assert command in result.stdout


def test_generate_writes_the_four_files(tmp_path: Path) -> None:
    result = run("generate", "--days", "7", "--queues", "2", "--agents", "5", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for name in ("contacts.csv", "agents.csv", "shift_templates.csv", "truth.csv"):
        assert (tmp_path / name).stat().st_size > 0
    contacts = pd.read_csv(tmp_path / "contacts.csv")
    assert list(contacts.columns) == ["queue", "created_at", "handle_time_s", "urgent", "important", "abandoned"]
    assert set(contacts["queue"]) == {"billing", "tech"}
    times = pd.to_datetime(contacts["created_at"], format="ISO8601")
    assert times.dt.tz is not None


def test_bad_option_prints_one_red_line_and_exits_2(tmp_path: Path) -> None:
    result = run("generate", "--start", "yesterday", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--start" in result.stderr and "yesterday" in result.stderr


def test_doctor_starts_embedded_redis_without_redis_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["DISPATCHWISE_DATA_DIR"] = str(tmp_path / "state")
    result = subprocess.run([*CLI, "doctor"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "redis version: 6." in result.stdout or "redis version: 7." in result.stdout
    assert "persistence (AOF): on" in result.stdout
    assert any((tmp_path / "state").glob("*.aof*"))
    assert not (tmp_path / "state" / "redis.url").exists()  # stopped on exit
