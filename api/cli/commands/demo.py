"""``dispatchwise demo``: the whole pipeline on embedded Redis with generated data."""

from __future__ import annotations

import math
import secrets
import shutil
import sys
import time
import webbrowser
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Annotated, cast
from zoneinfo import ZoneInfo

import pandas as pd
import typer
from rich.console import Console

from api.demo.pipeline import (
    TIMEZONE,
    DemoPaths,
    forecast_panel,
    held_out_day,
    kpi_table,
    run_replay,
    running_service,
    sim_clock_for,
)
from api.service.dashboard.panels import ScenarioResult
from api.service.settings import Settings
from dispatcher.errors import InvalidInput

WHATIF = """\
# What-if scenarios for the demo week (dispatchwise simulate --scenarios).
[simulation]
routing = "optimizer"
policy = "live"             # the live service's routing policy (dispatcher.policy.LIVE)

[[scenarios]]
name = "baseline"

[[scenarios]]
name = "volume +20%"
volume = 1.2

[[scenarios]]
name = "3 agents absent"
random_absentees = 3

[[scenarios]]
name = "greedy policy"
policy = "greedy"

[[scenarios]]
name = "longest-idle policy"
policy = "longest-idle"
"""


def demo_command(
    weeks: Annotated[int, typer.Option(help="Weeks of generated history to forecast from.")] = 8,
    days: Annotated[int, typer.Option(help="Days held out after the history (the first is replayed live).")] = 1,
    speed: Annotated[float, typer.Option(help="Replay speed: simulated seconds per wall second.")] = 120.0,
    window: Annotated[str, typer.Option(help="Part of the day replayed live, local HH:MM-HH:MM.")] = "09:00-12:00",
    agents: Annotated[int, typer.Option(help="Agents in the generated team.")] = 80,
    seed: Annotated[int, typer.Option(help="Random seed of the generated data.")] = 7,
    service_level: Annotated[str, typer.Option(help="Staffing target, e.g. 80/20.")] = "80/30",
    shrinkage: Annotated[float, typer.Option(help="Share of paid time off the phones.")] = 0.1,
    time_limit: Annotated[float, typer.Option(help="Roster solver time limit (s).")] = 30.0,
    replications: Annotated[int, typer.Option(help="What-if replications per scenario.")] = 8,
    port: Annotated[int, typer.Option(help="Port of the dashboard (a free one is used if taken).")] = 8000,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open the dashboard in a browser.")] = False,
    hold: Annotated[bool | None, typer.Option(
        "--hold/--no-hold", help="Keep serving the dashboard until Ctrl-C (default: on a terminal).")] = None,
) -> None:
    """Forecast → staff → roster → what-if → live queue replay → KPIs, plots and the dashboard."""
    from api.cli.commands.forecast import forecast_command
    from api.cli.commands.generate import generate_command
    from api.cli.commands.simulate import simulate_command
    from api.cli.commands.staff import staff_command
    from api.ports import free_port

    if weeks < 3:
        raise InvalidInput("need at least 3 weeks of history", field="--weeks")
    if days < 1:
        raise InvalidInput("must be >= 1", field="--days")
    if speed <= 0:
        raise InvalidInput("must be > 0", field="--speed")
    replay_window = parse_window(window)
    console = Console()
    settings = Settings()
    paths = DemoPaths.under(Path(settings.data_dir))
    work, report = paths.work, paths.report
    started = time.monotonic()
    start_day = date(2026, 1, 5)

    console.rule("[bold]1/7 generate a contact history")
    generate_command(days=weeks * 7 + days, queues=3, agents=agents, seed=seed, start=start_day.isoformat(),
                     horizon_days=7, timezone=TIMEZONE, country="US", out=work)
    contacts = pd.read_csv(work / "contacts.csv")
    contacts["created_at"] = pd.to_datetime(contacts["created_at"], format="ISO8601", utc=True)
    history, today, replay_day = held_out_day(contacts, weeks * 7, start_day)
    history.assign(created_at=history["created_at"].dt.tz_convert(TIMEZONE).map(lambda t: t.isoformat())).to_csv(
        work / "history.csv", index=False)

    console.rule(f"[bold]2/7 forecast the week from {replay_day}")
    forecast_command(history=work / "history.csv", freq="15min", horizon="7d", start=replay_day.isoformat(),
                     country="US", timezone=TIMEZONE, out=work / "forecast.csv", plot=report / "forecast.png")

    console.rule(f"[bold]3/7 required agents per 15 minutes ({service_level}, shrinkage {shrinkage:.0%})")
    staff_command(forecast=work / "forecast.csv", service_level=service_level, shrinkage=shrinkage,
                  max_occupancy=0.9, out=work / "requirements.csv", plot=report / "requirements.png")

    console.rule("[bold]4/7 roster named agents")
    roster_week(work, report, time_limit=time_limit, console=console)

    console.rule("[bold]5/7 what-if simulation of the week")
    (work / "whatif.toml").write_text(WHATIF)
    simulate_command(roster=work / "roster.csv", agents=work / "agents.csv", forecast=work / "forecast.csv",
                     scenarios=work / "whatif.toml", replications=replications, seed=seed,
                     out=work / "simulation.csv", plot=report / "scenarios.png", workers=2)

    write_panels(work, report, today, replay_day)

    console.rule(f"[bold]6/7 live queue: replay {replay_day} through the service")
    key = settings.bootstrap_key or f"dw_demo_{secrets.token_urlsafe(12)}"
    # The live queue of the demo starts empty in a directory of its own, next to the dashboard's panels.
    live_dir = work / "live"
    shutil.rmtree(live_dir, ignore_errors=True)
    shutil.copytree(report, live_dir / "report")
    # Its clock runs at the replay's speed and reaches the window's start once it is up, the agents are
    # registered and the plan is published: the replayed day is the service's "today".
    clock_start, anchor, window_wall = sim_clock_for(
        datetime.combine(replay_day, replay_window[0], tzinfo=ZoneInfo(TIMEZONE)), speed, lead_wall_s=15.0)
    live = settings.model_copy(update={
        "bootstrap_key": key, "port": free_port(port), "data_dir": live_dir, "timezone": TIMEZONE,
        "sim_clock_start": clock_start, "sim_clock_anchor": anchor, "sim_clock_speed": speed,
        "offer_ttl_s": settings.offer_ttl_s * speed, "adherence_threshold_s": settings.adherence_threshold_s})
    with running_service(live) as url:
        rows, kpis = run_replay(url, key, today, work / "roster.csv", work / "agents.csv",
                                replay_day=replay_day, window=replay_window, speed=speed, console=console,
                                forecast_path=work / "forecast.csv", day_start_unix=window_wall)
        console.print(kpi_table(rows, f"live replay of {replay_day} at {speed:g}× (times in simulated seconds)"))
        console.rule("[bold]7/7 report")
        page = write_demo_report(report, kpis, replay_day)
        console.print(f"plots and report: [bold]{page}[/bold]")
        console.print(f"done in {time.monotonic() - started:.0f} s", style="dim")
        if hold if hold is not None else sys.stdin.isatty():
            console.print(f"dashboard: [bold]{url}/[/bold]  supervisor key: [bold]{key}[/bold]")
            if not no_browser:
                webbrowser.open(f"{url}/")
            console.print("serving the dashboard; press Ctrl-C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                console.print("stopped")
        else:
            console.print(f"the live queue of the demo is kept in {live_dir}: to look at it on the dashboard, run "
                          f"DISPATCHWISE_DATA_DIR={live_dir} DISPATCHWISE_BOOTSTRAP_KEY={key} dispatchwise serve",
                          highlight=False)


def parse_window(text: str) -> tuple[dt_time, dt_time]:
    first, sep, last = text.partition("-")
    try:
        start, end = dt_time.fromisoformat(first.strip()), dt_time.fromisoformat(last.strip())
    except ValueError:
        start = end = dt_time(0)
    if not sep or end <= start:
        raise InvalidInput(f"expected HH:MM-HH:MM with the end after the start, got {text!r}", field="--window")
    return start, end


def roster_week(work: Path, report: Path, *, time_limit: float, console: Console) -> None:
    from api.formats.agents import read_agents
    from api.formats.roster import read_requirements, write_coverage, write_plot, write_roster
    from api.formats.templates import read_templates
    from dispatcher.roster.problem import RosterProblem
    from dispatcher.roster.solve import solve_roster
    from dispatcher.roster.validate import validate_roster

    requirements = read_requirements(work / "requirements.csv")
    problem = RosterProblem(requirements=requirements, agents=tuple(read_agents(work / "agents.csv")),
                            templates=tuple(read_templates(work / "shift_templates.csv")))
    with console.status("solving the roster (OR-Tools)…"):
        result = solve_roster(problem, time_limit_s=time_limit, workers=2)
    write_roster(work / "roster.csv", result.roster)
    write_coverage(work / "coverage.csv", result)
    write_plot(report / "roster.png", result)
    violations = validate_roster(result.roster, problem)
    under = sum(result.coverage.under_hours.values())
    over = sum(result.coverage.over_hours.values())
    console.print(
        f"{len(result.roster)} shifts, {result.paid_hours:,.0f} paid hours; under-staffed {under:,.1f} h, "
        f"over-staffed {over:,.1f} h; objective {result.objective.total:,.1f} vs bound {result.bound:,.1f} "
        f"(gap {result.gap:.2%}), status {result.status}; validator: "
        f"{'no violations' if not violations else f'{len(violations)} violations'}"
    )
    for explanation in result.explanations[:5]:
        console.print(f"  {explanation}", style="yellow", markup=False)


def write_panels(work: Path, report: Path, today: pd.DataFrame, replay_day: date) -> None:
    """The dashboard's file-fed panels: forecast vs actual, coverage, today's shifts, what-if results."""
    from api.formats.agents import read_agents
    from api.formats.roster import read_roster
    from api.service.dashboard.panels import (
        CoverageToday,
        ShiftBar,
        ShiftsToday,
        SimulationResults,
        TimeSpan,
        write_panel,
    )

    tz = ZoneInfo(TIMEZONE)
    forecast = pd.read_csv(work / "forecast.csv")
    from api.service.dashboard.panels import ForecastToday

    write_panel(report, ForecastToday.model_validate(forecast_panel(forecast, today, replay_day)))

    coverage = pd.read_csv(work / "coverage.csv")
    coverage["period_start"] = pd.to_datetime(coverage["period_start"], format="ISO8601", utc=True).dt.tz_convert(tz)
    day = coverage[coverage["period_start"].dt.date == replay_day].groupby("period_start")[
        ["required", "scheduled"]].sum()
    write_panel(report, CoverageToday(date=replay_day, timezone=TIMEZONE, period_minutes=15,
                                      period_start=list(day.index.to_pydatetime()),
                                      required=day["required"].tolist(), scheduled=day["scheduled"].tolist()))

    agents = {a.id: a for a in read_agents(work / "agents.csv")}
    roster = read_roster(work / "roster.csv", agents.values())
    bars = [
        ShiftBar(agent_id=s.agent_id, agent_name=agents[s.agent_id].name, start=s.start, end=s.end,
                 breaks=[TimeSpan(start=b.start, end=b.end) for b in s.breaks],
                 skills=sorted({b.skill for b in s.skill_plan}) or sorted(agents[s.agent_id].primary_skills))
        for s in roster.shifts if s.start.astimezone(tz).date() == replay_day
    ]
    write_panel(report, ShiftsToday(date=replay_day, timezone=TIMEZONE, shifts=bars))

    results = pd.read_csv(work / "simulation.csv")
    scenarios = scenario_results(results)
    reps = int(results["replications"].iloc[0]) if "replications" in results else None
    write_panel(report, SimulationResults(generated_at=datetime.now(tz), replications=reps,
                                          baseline=scenarios[0].name if scenarios else None, scenarios=scenarios))


def scenario_results(results: pd.DataFrame) -> list[ScenarioResult]:
    """The what-if panel's rows from ``simulate``'s results CSV (the simulated KPI means, 95% CI of SL)."""
    scenarios = []
    for name, rows in results.groupby("scenario", sort=False):
        by_kpi = rows.set_index("kpi")

        def mean(kpi: str, by_kpi: pd.DataFrame = by_kpi) -> float | None:
            value = float(cast(float, by_kpi.loc[kpi, "mean"])) if kpi in by_kpi.index else math.nan
            return None if math.isnan(value) else value

        scenarios.append(ScenarioResult(
            name=str(name), service_level=mean("service_level"), asa_s=mean("asa_s"),
            abandonment=mean("abandon_rate"), occupancy=mean("occupancy"),
            ci95={"service_level": (float(cast(float, by_kpi.loc["service_level", "ci95_lo"])),
                                    float(cast(float, by_kpi.loc["service_level", "ci95_hi"])))}
            if "service_level" in by_kpi.index else {},
        ))
    return scenarios


def write_demo_report(report: Path, kpis: dict[str, float | None], replay_day: date) -> Path:
    from api.demo.report import kpi_rows, write_report

    plots = [(caption, report / name) for caption, name in (
        ("Forecast vs history, with 80/95% intervals", "forecast.png"),
        ("Required agents per 15 minutes", "requirements.png"),
        ("Roster: coverage vs requirement and shifts", "roster.png"),
        ("What-if scenarios (95% CI)", "scenarios.png"),
    ) if (report / name).exists()]
    return write_report(report, kpis=kpi_rows(kpis), plots=plots, title="dispatchwise demo",
                        subtitle=f"live replay of {replay_day} — ")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)


