"""``dispatchwise staff``: required agents per queue and period from a forecast CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli.commands.forecast import print_notes
from api.formats.forecast import read_forecast_notes, write_notes
from api.formats.staffing import (
    build_policy,
    parse_duration,
    parse_service_level,
    plot_requirements,
    read_forecast,
    read_policy,
    write_requirements,
)
from dispatcher.errors import InvalidInput
from dispatcher.requirements import QueueSummary, requirements_table


def cli_flags(service_level: str | None, patience: str | None, max_occupancy: float | None,
              shrinkage: float | None, concurrency: int | None, max_asa: str | None, max_abandon: float | None,
              min_agents: int | None, max_agents: int | None, deadline: str | None) -> dict[str, Any]:
    """StaffingTargets keywords for the flags that were given."""
    flags: dict[str, Any] = {}
    if service_level is not None:
        level, answer = parse_service_level(service_level, "--service-level")
        flags["service_level"] = level
        if answer is not None:
            flags["answer_within_s"] = answer
    if patience is not None:
        flags["patience_s"] = parse_duration(patience, "--patience")
    if max_asa is not None:
        flags["max_asa_s"] = parse_duration(max_asa, "--max-asa")
    if deadline is not None:
        flags["resolution_deadline_s"] = parse_duration(deadline, "--deadline")
    for key, value in (("max_occupancy", max_occupancy), ("shrinkage", shrinkage), ("concurrency", concurrency),
                       ("max_abandon", max_abandon), ("min_agents_open", min_agents), ("max_agents", max_agents)):
        if value is not None:
            flags[key] = value
    return flags


def staff_command(
    forecast: Annotated[Path, typer.Argument(help="Forecast CSV (queue,period_start,volume,…,aht_s,model).")],
    service_level: Annotated[str | None, typer.Option(help="Target, e.g. 80/20: 80 % answered in 20 s.")] = None,
    patience: Annotated[str | None, typer.Option(help="Mean caller patience, e.g. 120s: use Erlang A.")] = None,
    max_occupancy: Annotated[float | None, typer.Option(help="Upper bound on occupancy, e.g. 0.85.")] = None,
    shrinkage: Annotated[float | None, typer.Option(help="Share of paid time off the phones, in [0, 1).")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Sessions per agent (chat).")] = None,
    max_asa: Annotated[str | None, typer.Option(help="Upper bound on the mean wait, e.g. 30s.")] = None,
    max_abandon: Annotated[float | None, typer.Option(help="Upper bound on abandonment (needs --patience).")] = None,
    min_agents: Annotated[int | None, typer.Option(help="Agents kept in every open period.")] = None,
    max_agents: Annotated[int | None, typer.Option(help="Agents available; periods above are reported.")] = None,
    deadline: Annotated[str | None, typer.Option(help="Deferred work: resolve within e.g. 30m or 2h.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Per-queue targets (TOML or YAML).")] = None,
    period_minutes: Annotated[float | None, typer.Option(help="Period length; default: spacing of the "
                                                         "forecast's period starts.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the requirements CSV here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Draw volume and agents per queue (PNG).")] = None,
) -> None:
    """Required agents per queue and period (Erlang C, or Erlang A with --patience), after shrinkage."""
    flags = cli_flags(service_level, patience, max_occupancy, shrinkage, concurrency, max_asa, max_abandon,
                      min_agents, max_agents, deadline)
    rules = read_policy(policy, flags) if policy is not None else build_policy({}, flags=flags)
    if period_minutes is not None and not 0 < period_minutes <= 1440:
        raise InvalidInput(f"period length must be in (0, 1440] minutes, got {period_minutes}",
                           field="--period-minutes")
    frame = read_forecast(forecast)
    notes = read_forecast_notes(forecast)
    table, summaries = requirements_table(frame, rules,
                                          period_s=None if period_minutes is None else period_minutes * 60.0)
    console = Console()
    if notes:
        print_notes(console, notes)
    if out is not None:
        write_requirements(table, out)
        write_notes(out, notes)
    if plot is not None:
        plot_requirements(table, plot)
    console.print(summary_table(summaries))
    for summary in summaries:
        if summary.over_max:
            first = ", ".join(summary.over_max[:5])
            more = f" and {len(summary.over_max) - 5} more" if len(summary.over_max) > 5 else ""
            console.print(f"[yellow]warning:[/yellow] {summary.queue}: {len(summary.over_max)} periods need more "
                          f"than the {rules.for_queue(summary.queue).max_agents} agents available: {first}{more}",
                          highlight=False)
    if out is not None:
        console.print(f"wrote {len(table):,} rows to {out}")


def summary_table(summaries: list[QueueSummary]) -> Table:
    table = Table(title="staffing requirement (peak = most agents scheduled in a period)")
    # hours: agents on the floor, agents scheduled (after shrinkage), what Erlang C alone would put on
    # the floor, and scheduled time that only rounding up added
    for column in ("queue", "model", "periods", "peak", "floor h", "sched h", "Erlang C h", "rounding h"):
        table.add_column(column, justify="left" if column in ("queue", "model") else "right")
    for s in summaries:
        table.add_row(s.queue, s.model, str(s.periods), str(s.peak_agents), f"{s.agent_hours:,.1f}",
                      f"{s.scheduled_hours:,.1f}", f"{s.erlang_c_hours:,.1f}", f"{s.rounding_hours:,.1f}")
    return table


def register(app: typer.Typer) -> None:
    app.command("staff")(staff_command)
