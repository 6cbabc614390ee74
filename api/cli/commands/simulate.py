"""``dispatchwise simulate``: replay a forecast against a roster and routing policy, compare what-ifs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
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
    roster: Annotated[Path, typer.Option(help="roster.csv (agent_id,date,start,end,breaks,skills).")],
    agents: Annotated[Path, typer.Option(help="agents.csv.")],
    forecast: Annotated[
        Path | None, typer.Option(help="Forecast CSV (queue,period_start,volume,...,aht_s) or truth.csv.")
    ] = None,
    history: Annotated[
        Path | None, typer.Option(help="contacts.csv: fits the handle-time shape; replayed with --replay-day.")
    ] = None,
    replay_day: Annotated[
        str | None, typer.Option(help="Replay this day's contacts (ISO date) on the roster's first day.")
    ] = None,
    scenarios: Annotated[Path | None, typer.Option(help="What-if scenarios (.toml or .yaml).")] = None,
    replications: Annotated[int, typer.Option(help="Replications per scenario (common random numbers).")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed; equal seeds give equal results.")] = 1,
    out: Annotated[Path, typer.Option(help="Results CSV: KPI means, 95% CIs, differences to baseline.")] = Path(
        "simulation_results.csv"
    ),
    plot: Annotated[Path | None, typer.Option(help="Scenario comparison plot (PNG).")] = None,
    events: Annotated[Path | None, typer.Option(help="Export the event log of baseline replication 0.")] = None,
    periods: Annotated[
        Path | None, typer.Option(help="KPIs per queue and 15-min period of baseline replication 0 (CSV).")
    ] = None,
    routing: Annotated[
        str | None, typer.Option(help="Base routing: optimizer, greedy, round_robin, least_busy.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Parallel processes for replications.")] = 2,
) -> None:
    """Simulate the roster's days against the forecast; write KPIs with 95% confidence intervals."""
    from api.formats.simulation import load_study, plot_comparison, write_results
    from dispatcher.simulation.arrivals import generate_tasks, replay_tasks
    from dispatcher.simulation.engine import simulate
    from dispatcher.simulation.kpis import event_log_frame, per_period
    from dispatcher.simulation.replicate import compare, run_study

    if replications < 1:
        raise InvalidInput(f"must be >= 1, got {replications}", field="--replications")
    if workers < 1:
        raise InvalidInput(f"must be >= 1, got {workers}", field="--workers")
    console = Console()
    day = None
    if replay_day is not None:
        try:
            day = date.fromisoformat(replay_day)
        except ValueError as exc:
            raise InvalidInput(f"not an ISO date: {replay_day!r}", field="--replay-day") from exc
    study = load_study(forecast=forecast, roster=roster, agents=agents, scenarios=scenarios,
                       replications=replications, seed=seed, routing=routing, history=history, replay_day=day)
    demand, staffing = study.demand, study.staffing
    console.print(
        f"{'replaying' if study.history is not None else 'simulating'} "
        f"{demand.volume.shape[0] * demand.period_s / 3600:.0f} h from {demand.start.isoformat()}: "
        f"{len(demand.queues)} queues, {demand.volume.sum():,.0f} expected tasks, "
        f"{sum(1 for d in staffing.duty if d)} rostered agents, {len(study.scenarios)} scenarios × "
        f"{replications} replications, routing {study.config.routing}"
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
    if events is not None or periods is not None:
        cfg = study.scenarios[0].config(study.config)
        if study.history is not None:
            tasks = replay_tasks(study.history, demand, cfg, seed=seed, replication=0)
        else:
            tasks = generate_tasks(demand, cfg, seed=seed, replication=0)
        log = simulate(tasks, staffing, cfg, queues=demand.queues, horizon_s=demand.horizon_s)
        if events is not None:
            frame = event_log_frame(log)
            frame.insert(4, "arrival_at", [at(demand.start, s) for s in frame["arrival_s"]])
            events.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(events, index=False, float_format="%.3f")
            console.print(f"wrote {events} ({len(frame):,} tasks)")
        if periods is not None:
            by_period = per_period(log, period_s=demand.period_s, answer_within_s=cfg.answer_within_s)
            by_period.insert(1, "period_start", [at(demand.start, s) for s in by_period["period_start_s"]])
            periods.parent.mkdir(parents=True, exist_ok=True)
            by_period.drop(columns=["period_start_s"]).to_csv(periods, index=False, float_format="%.4f")
            console.print(f"wrote {periods} ({len(by_period):,} queue-periods)")


def at(start: datetime, offset_s: float) -> str:
    return (start + timedelta(seconds=float(offset_s))).isoformat(timespec="seconds")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
