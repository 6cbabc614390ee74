"""The README's command blocks run as written: each block marked ``<!-- readme-test: NAME -->`` is
extracted and executed by bash (``set -euo pipefail``), so the documentation cannot rot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.test_api_service import stop

ROOT = Path(__file__).resolve().parents[1]
BIN_DIR = Path(sys.executable).parent


def readme_block(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- readme-test: {re.escape(name)} -->\s*```bash\n(.*?)```", text, re.DOTALL)
    assert match, f"README has no bash block marked readme-test: {name}"
    return match.group(1)


def run_block(block: str, env: dict[str, str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**env, "PATH": f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_the_live_api_block_runs_against_a_real_service(redis_url: str, tmp_path: Path) -> None:
    key = f"readme-{uuid.uuid4().hex}"
    env = {**os.environ, "REDIS_URL": redis_url, "DISPATCHWISE_KEY_PREFIX": f"readme{uuid.uuid4().hex[:6]}",
           "DISPATCHWISE_BOOTSTRAP_KEY": key, "DISPATCHWISE_DATA_DIR": str(tmp_path / "data")}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN_DIR / "dispatchwise"), "serve", "--port", "0"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"on (http://127\.0\.0\.1:\d+) ", log.read_text())
            url = found.group(1) if found else None
            time.sleep(0.1)
        assert url, log.read_text()
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        result = run_block(readme_block("live-api"), {**env, "DW": url, "KEY": key}, tmp_path, timeout=120)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{log.read_text()}"
        history = result.stdout.strip().splitlines()[-1]
        for event in ('"created"', '"offered"', '"accepted"', '"completed"'):
            assert event in history
    finally:
        stop(proc)


TOUR_SMALLER = {"--days 56": "--days 42", "--origins 4": "--origins 2", "--time-limit 30": "--time-limit 10",
                "--replications 20": "--replications 3"}
"""The tour on fewer days and shorter limits; every command, option and file stays as written."""


@pytest.mark.slow
def test_the_tour_runs_start_to_finish_with_exit_0(tmp_path: Path) -> None:
    block = readme_block("tour")
    for long, short in TOUR_SMALLER.items():
        assert long in block, f"the tour no longer has {long!r}: update TOUR_SMALLER"
        block = block.replace(long, short)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {**os.environ, "DISPATCHWISE_DATA_DIR": str(tmp_path / ".dispatchwise")}
    result = run_block(block, env, tmp_path, timeout=1500)
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    for made in ("forecast.csv", "requirements.csv", "roster.csv", "coverage.csv", "roster.png", "kpis.png",
                 "events.csv"):
        assert (tmp_path / made).stat().st_size > 0, made
    output = result.stdout + result.stderr
    assert "violation [" not in output and "0 violation(s)" in output  # roster and roster check agree: none


@pytest.mark.parametrize("name", ["live-api", "tour"])
def test_marked_blocks_are_bash_that_parses(name: str) -> None:
    assert subprocess.run(["bash", "-n", "-c", readme_block(name)]).returncode == 0
