"""The end-to-end demo: generate → forecast → staff → roster → what-if → live queue → report.

Every step calls the same code as its CLI command and leaves its files in ``<data_dir>/demo/``;
plots, the dashboard's panels and one HTML page go to ``<data_dir>/report/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.service.settings import Settings
from dispatcher.domain import Interval, Roster, Shift
from dispatcher.errors import DispatchwiseError

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


@contextlib.contextmanager
def running_service(settings: Settings) -> Iterator[str]:
    """Run ``dispatchwise serve`` (API, dispatch loop, embedded Redis) as a child process; yield its URL.

    A separate process keeps the simulated agents and ticket system of the replay from competing
    with the service for one interpreter's GIL.
    """
    env = {**os.environ, "DISPATCHWISE_DATA_DIR": str(settings.data_dir),
           "DISPATCHWISE_BOOTSTRAP_KEY": settings.bootstrap_key or "", "DISPATCHWISE_TIMEZONE": settings.timezone,
           "DISPATCHWISE_OFFER_TTL_S": str(settings.offer_ttl_s),
           "DISPATCHWISE_ADHERENCE_THRESHOLD_S": str(settings.adherence_threshold_s)}
    if settings.sim_clock_start is not None:  # the replayed day is the service's "today"
        env |= {"DISPATCHWISE_SIM_CLOCK_START": settings.sim_clock_start.isoformat(),
                "DISPATCHWISE_SIM_CLOCK_ANCHOR": repr(settings.sim_clock_anchor or time.time()),
                "DISPATCHWISE_SIM_CLOCK_SPEED": repr(settings.sim_clock_speed)}
    log_path = Path(settings.data_dir) / "serve.log"
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "serve", "--host", "127.0.0.1", "--port", str(settings.port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{settings.port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if child.poll() is not None:
                raise DispatchwiseError(f"the demo service exited with code {child.returncode}; see {log_path}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise DispatchwiseError(f"the demo service did not become ready in 60 s; see {log_path}")
            time.sleep(0.1)
        yield url
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully, stopping embedded Redis
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


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


def clip_shift(shift: Shift, start: datetime, end: datetime) -> Shift | None:
    """The part of a shift inside [start, end), with the breaks that fall in it; None if none is."""
    lo, hi = max(shift.start, start), min(shift.end, end)
    if hi <= lo:
        return None
    breaks = tuple(Interval(max(b.start, lo), min(b.end, hi)) for b in shift.breaks if b.start < hi and b.end > lo)
    return Shift(agent_id=shift.agent_id, start=lo, end=hi, breaks=breaks, template=shift.template)


LATE_FROM_BREAK_S = 15 * 60.0
"""The demo's one agent back late from a break (simulated seconds): past the adherence threshold."""


def sim_clock_for(window_start: datetime, speed: float, lead_wall_s: float) -> tuple[datetime, float, float]:
    """(clock start, its wall anchor, wall time of the window start) for a service whose clock runs
    ``speed`` times as fast and reaches the window start ``lead_wall_s`` from now (boot, register, publish)."""
    anchor = time.time()
    return window_start - timedelta(seconds=lead_wall_s * speed), anchor, anchor + lead_wall_s


def late_agent_of(shifts: tuple[Shift, ...], after: datetime, late_by_s: float) -> str | None:
    """The first agent (by id) whose first break starts after ``after`` and ends at least ``late_by_s``
    before its shift does, so the whole late return falls inside the shift."""
    late_by = timedelta(seconds=late_by_s)
    return next((s.agent_id for s in sorted(shifts, key=lambda s: s.agent_id)
                 if s.breaks and s.breaks[0].start > after and s.breaks[0].end + late_by <= s.end), None)


def run_replay(
    base_url: str, key: str, today: pd.DataFrame, roster_path: Path, agents_path: Path, *,
    replay_day: date, window: tuple[time_of_day, time_of_day], speed: float, console: Console,
    forecast_path: Path | None = None, day_start_unix: float | None = None,
) -> tuple[list[tuple[str, str]], dict[str, float | None]]:
    """Replay the window; with ``forecast_path`` the forecast and the window's roster are published first
    and one agent comes back late from a break (its adherence alert is counted in the rows)."""
    from api.demo.replay import Replay, arrivals_from_contacts
    from api.formats.agents import read_agents
    from api.formats.roster import read_roster, write_roster

    agents = read_agents(agents_path)
    roster = read_roster(roster_path, agents)
    tz = ZoneInfo(TIMEZONE)
    start = datetime.combine(replay_day, window[0], tzinfo=tz)
    end = datetime.combine(replay_day, window[1], tzinfo=tz)
    day_shifts = tuple(c for s in roster.shifts if (c := clip_shift(s, start, end)) is not None)
    day_roster = Roster(week_start=roster.week_start, shifts=day_shifts)
    arrivals = [a for a in arrivals_from_contacts(today) if start <= a.at < end]
    plan_files: list[tuple[str, Path]] = []
    late = None
    if forecast_path is not None:
        published_roster = roster_path.with_name("roster_published.csv")
        write_roster(published_roster, day_roster)
        plan_files = [("forecast", forecast_path), ("roster", published_roster)]
        late = late_agent_of(day_shifts, start, LATE_FROM_BREAK_S)
    replay = Replay(base_url, key, speed=speed, day_start=start, day_start_unix=day_start_unix,
                    plan_files=plan_files, late_agent=late, late_by_s=LATE_FROM_BREAK_S)
    on_shift = {s.agent_id for s in day_shifts}
    with progress_bar(console) as progress:
        bar = progress.add_task(
            f"replaying {replay_day} {window[0]:%H:%M}-{window[1]:%H:%M} at {speed:g}× "
            f"({len(on_shift)} agents on shift)", total=len(arrivals))
        summary = asyncio.run(replay.run(arrivals, day_roster, [a for a in agents if a.id in on_shift],
                                         on_progress=lambda n: progress.update(bar, completed=n)))
    kpis: dict[str, float | None] = {"service_level": summary.service_level, "asa_s": summary.asa_s,
                                     "abandonment_rate": None, "occupancy": None}
    rows = summary.rows()
    for (kind, _), reply in zip(plan_files, replay.published, strict=False):
        rows.append((f"published {kind}",
                     f"version {reply['version']}, {reply['rows']} rows, {reply['from']} to {reply['to']}"))
    if plan_files:
        alerts = httpx.get(f"{base_url}/v1/alerts", headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
        adherence = [a for a in alerts if a.get("kind") == "adherence"]
        who = sorted({str(a.get("agent_id")) for a in adherence})
        rows.append(("adherence alerts", f"{len(adherence)}" + (f" ({', '.join(who)})" if who else "") +
                     (f"; {late} back {LATE_FROM_BREAK_S / 60:.0f} min late from break" if late else "")))
    return rows, kpis
