"""``dispatchwise generate``: realistic contact history, agents, shift templates and the truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.formats.agents import write_agents
from api.formats.templates import write_templates
from dispatcher.datagen import GeneratorConfig, generate


def generate_command(
    days: Annotated[int, typer.Option(help="Days of history.")] = 56,
    queues: Annotated[int, typer.Option(help="Number of queues (skills).")] = 3,
    agents: Annotated[int, typer.Option(help="Number of agents.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed; equal seeds give equal files.")] = 7,
    start: Annotated[str, typer.Option(help="First day of history (ISO date).")] = "2026-01-05",
    horizon_days: Annotated[int, typer.Option(help="Days of truth beyond the history.")] = 14,
    timezone: Annotated[str, typer.Option(help="Site timezone.")] = "America/New_York",
    country: Annotated[str, typer.Option(help="Public-holiday country (holidays package).")] = "US",
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("data"),
) -> None:
    """Write contacts.csv, agents.csv, shift_templates.csv and truth.csv."""
    from dispatcher.errors import InvalidInput

    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise InvalidInput(f"not an ISO date: {start!r}", field="--start") from exc
    cfg = GeneratorConfig(days=days, queues=queues, agents=agents, seed=seed, start=first,
                          horizon_days=horizon_days, timezone=timezone, country=country)
    console = Console()
    with console.status("generating…"):
        data = generate(cfg)
        out.mkdir(parents=True, exist_ok=True)
        contacts = data.contacts.copy()
        contacts["created_at"] = contacts["created_at"].map(lambda t: t.isoformat(timespec="milliseconds"))
        contacts.to_csv(out / "contacts.csv", index=False)
        truth = data.truth.copy()
        truth["period_start"] = truth["period_start"].map(lambda t: t.isoformat(timespec="seconds"))
        truth.to_csv(out / "truth.csv", index=False)
        write_agents(out / "agents.csv", data.agents)
        write_templates(out / "shift_templates.csv", data.templates)
    console.print(
        f"wrote {len(data.contacts):,} contacts over {days} days for {queues} queues, "
        f"{len(data.agents)} agents and {len(data.templates)} shift templates to {out}/"
    )


def register(app: typer.Typer) -> None:
    app.command("generate")(generate_command)
