"""The end-to-end demo: generate → forecast → staff → roster → what-if → live queue → report.

Every step calls the same code as its CLI command and leaves its files in ``<data_dir>/demo/``;
plots, the dashboard's panels and one HTML page go to ``<data_dir>/report/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.settings import Settings

TIMEZONE = "America/New_York"
SERVICE_LEVEL = "80/60"
"""Demo target: 80 % of contacts answered within 60 s (voice-like queues)."""


@dataclass
class DemoPaths:
    work: Path
    report: Path

    @classmethod
    def under(cls, data_dir: Path) -> DemoPaths:
        paths = cls(work=data_dir / "demo", report=data_dir / "report")
        paths.work.mkdir(parents=True, exist_ok=True)
        paths.report.mkdir(parents=True, exist_ok=True)
        return paths


@dataclass
class DemoOutcome:
    plots: list[tuple[str, Path]] = field(default_factory=list)
    kpis: dict[str, float | None] = field(default_factory=dict)
    lines: list[tuple[str, str]] = field(default_factory=list)


def free_port(preferred: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_service(settings: Settings) -> Iterator[str]:
    """Serve the app (with its dispatch loop) in a background thread; yield its base URL."""
    from api.app import create_app

    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dispatchwise-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            from dispatcher.errors import DispatchwiseError

            raise DispatchwiseError("the demo service did not start; see the log above")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def held_out_day(contacts: pd.DataFrame, history_days: int, start: date) -> tuple[pd.DataFrame, pd.DataFrame, date]:
    """Split the contacts into the history and the first replayed day after it."""
    local = contacts["created_at"].dt.tz_convert(TIMEZONE)
    replay_day = start + timedelta(days=history_days)
    history = contacts[local.dt.date < replay_day]
    today = contacts[local.dt.date == replay_day]
    return history, today, replay_day


def forecast_panel(forecast: pd.DataFrame, today: pd.DataFrame, day: date) -> dict[str, object]:
    tz = ZoneInfo(TIMEZONE)
    frame = forecast.copy()
    frame["period_start"] = pd.to_datetime(frame["period_start"], format="ISO8601", utc=True).dt.tz_convert(tz)
    frame = frame[frame["period_start"].dt.date == day]
    starts = sorted(frame["period_start"].unique())
    actual = today.assign(period=today["created_at"].dt.tz_convert(tz).dt.floor("15min"))
    counts = actual.groupby(["queue", "period"]).size()
    queues: dict[str, dict[str, list[float | None]]] = {}
    for queue, rows in frame.groupby("queue"):
        rows = rows.set_index("period_start").reindex(starts)
        queues[str(queue)] = {
            "forecast": rows["volume"].fillna(0).round(2).tolist(),
            "actual": [float(counts.get((queue, s), 0)) for s in starts],
            "lower": rows["volume_lo80"].fillna(0).round(2).tolist(),
            "upper": rows["volume_hi80"].fillna(0).round(2).tolist(),
        }
    return {"date": day.isoformat(), "timezone": TIMEZONE, "period_minutes": 15,
            "period_start": [pd.Timestamp(s).isoformat() for s in starts], "queues": queues}


def progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def kpi_table(rows: list[tuple[str, str]], title: str) -> Table:
    table = Table(title=title)
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


def mean_or_none(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def run_replay(
    base_url: str, key: str, today: pd.DataFrame, roster_path: Path, agents_path: Path, *,
    replay_day: date, speed: float, console: Console,
) -> tuple[list[tuple[str, str]], dict[str, float | None]]:
    from api.files import read_agents
    from api.replay import Replay, arrivals_from_contacts
    from api.roster_files import read_roster
    from dispatcher.domain import Roster

    agents = read_agents(agents_path)
    roster = read_roster(roster_path, agents)
    tz = ZoneInfo(TIMEZONE)
    day_shifts = tuple(s for s in roster.shifts if s.start.astimezone(tz).date() == replay_day)
    day_roster = Roster(week_start=roster.week_start, shifts=day_shifts)
    arrivals = arrivals_from_contacts(today)
    opening = min([s.start for s in day_shifts] + [a.at for a in arrivals])
    replay = Replay(base_url, key, speed=speed, day_start=opening)
    on_shift = {s.agent_id for s in day_shifts}
    with progress_bar(console) as progress:
        bar = progress.add_task(f"replaying {replay_day} at {speed:g}× ({len(day_shifts)} shifts)",
                                total=len(arrivals))
        summary = asyncio.run(replay.run(arrivals, day_roster, [a for a in agents if a.id in on_shift],
                                         on_progress=lambda n: progress.update(bar, completed=n)))
    kpis: dict[str, float | None] = {"service_level": summary.service_level, "asa_s": summary.asa_s,
                                     "abandonment_rate": None, "occupancy": None}
    return summary.rows(), kpis
