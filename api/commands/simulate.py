"""``dispatchwise simulate``: replay a forecast against a roster and routing policy, compare what-ifs."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dispatcher.errors import InvalidInput

HEADLINE = (
    ("service_level", "SL", "{:.1%}"), ("asa_s", "ASA s", "{:.1f}"), ("abandon_rate", "aband.", "{:.1%}"),
    ("occupancy", "occ.", "{:.1%}"), ("sla_Q1", "Q1 SLA", "{:.1%}"), ("backlog_end", "backlog", "{:.1f}"),
)


def simulate_command(
    forecast: Annotated[Path, typer.Option(help="Forecast CSV (queue,period_start,volume,...,aht_s) or truth.csv.")],
    roster: Annotated[Path, typer.Option(help="roster.csv (agent_id,date,start,end,breaks,skills).")],
    agents: Annotated[Path, typer.Option(help="agents.csv.")],
    scenarios: Annotated[Path | None, typer.Option(help="What-if scenarios (.toml or .yaml).")] = None,
    replications: Annotated[int, typer.Option(help="Replications per scenario (common random numbers).")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed; equal seeds give equal results.")] = 1,
    out: Annotated[Path, typer.Option(help="Results CSV: KPI means, 95% CIs, differences to baseline.")] = Path(
        "simulation_results.csv"
    ),
    plot: Annotated[Path | None, typer.Option(help="Scenario comparison plot (PNG).")] = None,
    events: Annotated[Path | None, typer.Option(help="Export the event log of baseline replication 0.")] = None,
    routing: Annotated[
        str | None, typer.Option(help="Base routing: optimizer, greedy, round_robin, least_busy.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Parallel processes for replications.")] = 2,
) -> None:
    """Simulate the roster's days against the forecast; write KPIs with 95% confidence intervals."""
    from dataclasses import replace

    from api.files import read_agents
    from api.roster_files import read_roster
    from api.simulation_files import (
        ScenarioFile,
        check_agents_known,
        plot_comparison,
        read_forecast,
        read_scenarios,
        write_results,
    )
    from dispatcher.simulation.arrivals import generate_tasks
    from dispatcher.simulation.engine import simulate
    from dispatcher.simulation.kpis import event_log_frame
    from dispatcher.simulation.model import SimulationConfig, staffing_from_roster
    from dispatcher.simulation.replicate import Study, compare, run_study
    from dispatcher.simulation.scenarios import BASELINE

    if replications < 1:
        raise InvalidInput(f"must be >= 1, got {replications}", field="--replications")
    if workers < 1:
        raise InvalidInput(f"must be >= 1, got {workers}", field="--workers")
    console = Console()
    team = read_agents(agents)
    plan = read_roster(roster, team)
    if not plan.shifts:
        raise InvalidInput("the roster has no shifts", file=str(roster))
    tz = plan.shifts[0].start.tzinfo
    first_day = min(s.start.astimezone(tz).date() for s in plan.shifts)
    last_day = max(s.end.astimezone(tz).date() for s in plan.shifts)
    begin = datetime.combine(first_day, time(0), tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    demand = read_forecast(forecast, begin, end)
    skilled = {q for a in team for q in a.skills}
    uncovered = [q for q in demand.queues if q not in skilled]
    if uncovered:
        raise InvalidInput(f"no agent has the skill of forecast queues {uncovered}", file=str(agents),
                           field="skills")
    staffing = staffing_from_roster(plan, team, demand.queues, demand.start)
    base = SimulationConfig() if routing is None else SimulationConfig(routing=routing)
    if scenarios is not None:
        spec = read_scenarios(scenarios, demand, base)
        check_agents_known(spec.scenarios, staffing.agent_ids, scenarios)
        if routing is not None:
            spec = ScenarioFile(replace(spec.config, routing=routing), spec.scenarios)
    else:
        spec = ScenarioFile(base, (BASELINE,))
    study = Study(demand, staffing, spec.config, spec.scenarios, replications=replications, seed=seed)
    console.print(
        f"simulating {demand.volume.shape[0] * demand.period_s / 3600:.0f} h from {demand.start.isoformat()}: "
        f"{len(demand.queues)} queues, {demand.volume.sum():,.0f} expected tasks, "
        f"{sum(1 for d in staffing.duty if d)} rostered agents, {len(study.scenarios)} scenarios × "
        f"{replications} replications, routing {spec.config.routing}"
    )
    with Progress(TextColumn("[bold]replications"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bar = progress.add_task("run", total=len(study.scenarios) * replications)
        per_scenario = run_study(study, workers=workers,
                                 progress=lambda done, total: progress.update(bar, completed=done))
    results = compare(per_scenario, study.scenarios[0].name)
    write_results(out, results)
    table = Table(title="KPIs: mean [95% CI]; Δ = difference to baseline")
    table.add_column("scenario")
    for _, label, _fmt in HEADLINE:
        table.add_column(label, justify="right")
    for name in dict.fromkeys(results["scenario"]):
        cells = []
        for kpi, _, fmt in HEADLINE:
            row = results[(results["scenario"] == name) & (results["kpi"] == kpi)].iloc[0]
            cell = f"{fmt.format(row['mean'])} [{fmt.format(row['ci95_lo'])}, {fmt.format(row['ci95_hi'])}]"
            if name != study.scenarios[0].name:
                cell += f"\nΔ {fmt.format(row['diff_vs_baseline'])}"
            cells.append(cell)
        table.add_row(name, *cells)
    console.print(table)
    console.print(f"wrote {out}")
    if plot is not None:
        plot_comparison(plot, results)
        console.print(f"wrote {plot}")
    if events is not None:
        cfg = study.scenarios[0].config(study.config)
        tasks = generate_tasks(demand, cfg, seed=seed, replication=0)
        log = simulate(tasks, staffing, cfg, queues=demand.queues, horizon_s=demand.horizon_s)
        frame = event_log_frame(log)
        frame.insert(4, "arrival_at", [(demand.start + timedelta(seconds=float(s))).isoformat(timespec="seconds")
                                       for s in frame["arrival_s"]])
        events.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(events, index=False, float_format="%.3f")
        console.print(f"wrote {events} ({len(frame):,} tasks)")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
