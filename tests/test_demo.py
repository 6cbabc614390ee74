"""The README's first command, end to end on a small configuration: every step runs and leaves its files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from api.demo.report import PNG_SIGNATURE
from api.ports import free_port
from api.service.dashboard.panels import PANEL_NAMES, read_panel


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline_and_writes_report_and_panels(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DISPATCHWISE_BOOTSTRAP_KEY")}
    env["DISPATCHWISE_DATA_DIR"] = str(tmp_path / "state")
    env["COLUMNS"] = "200"  # rich wraps at 80 columns without a terminal
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "demo", "--no-browser", "--no-hold", "--weeks", "5", "--agents", "40",
         "--time-limit", "5", "--replications", "2", "--window", "09:00-10:00", "--speed", "300",
         "--port", str(free_port(0))],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in out + result.stderr
    for step in range(1, 8):
        assert f"{step}/7" in out
    assert "validator: no violations" in out
    created = int(re.search(r"tasks created\s*│\s*([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    answered = int(re.search(r"answered\s*│\s*([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert created > 100 and 0 < answered <= created
    # the demo publishes its plan to the live service and one replay agent comes back late from a break
    assert re.search(r"published forecast\s*│\s*version 1", out) and re.search(r"published roster\s*│\s*version 1", out)
    late = re.search(r"adherence alerts\s*│\s*(\d+) \(([^)]*)\); (\S+) back 15 min late from break", out)
    assert late is not None, out[-3000:]
    assert int(late.group(1)) >= 1 and late.group(3) in late.group(2).split(", ")

    report = tmp_path / "state" / "report"
    for plot in ("forecast.png", "requirements.png", "roster.png", "scenarios.png"):
        assert (report / plot).read_bytes().startswith(PNG_SIGNATURE)
    page = (report / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    for name in PANEL_NAMES:
        assert read_panel(report, name) is not None, name
    for name in ("forecast.csv", "requirements.csv", "roster.csv", "coverage.csv", "simulation.csv"):
        assert (tmp_path / "state" / "demo" / name).stat().st_size > 0


def test_the_what_if_panel_shows_the_simulated_abandonment_not_zero() -> None:
    from api.cli.commands.demo import scenario_results

    rows = [("baseline", "service_level", 0.91, 0.90, 0.92), ("baseline", "abandon_rate", 0.0047, 0.004, 0.005),
            ("baseline", "asa_s", 12.0, 11.0, 13.0), ("baseline", "occupancy", 0.8, 0.79, 0.81),
            ("volume +20%", "service_level", 0.7, 0.68, 0.72), ("volume +20%", "abandon_rate", 0.0071, 0.006, 0.008)]
    results = pd.DataFrame(rows, columns=["scenario", "kpi", "mean", "ci95_lo", "ci95_hi"]).assign(replications=5)
    baseline, busier = scenario_results(results)
    assert baseline.abandonment == pytest.approx(0.0047) and busier.abandonment == pytest.approx(0.0071)
    assert baseline.ci95["service_level"] == (0.90, 0.92)
    assert busier.asa_s is None and busier.occupancy is None  # not simulated: missing, not zero
