"""The ``dispatchwise`` command. Each command group lives in its own module under api/cli/commands/."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from api.cli.commands import doctor, generate
from dispatcher.errors import DispatchwiseError

app = typer.Typer(
    name="dispatchwise",
    help="Forecast demand, staff it, roster named agents, and dispatch live work optimally.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

generate.register(app)
doctor.register(app)

COMMAND_MODULES = ("data", "forecast", "staff", "roster", "serve", "keys", "simulate", "abtest", "experiment", "demo",
                   "scorecard", "publish")
"""Every command module under api/cli/commands/ besides the two above; a missing one fails the import loudly."""

for _name in COMMAND_MODULES:
    importlib.import_module(f"api.cli.commands.{_name}").register(app)

err_console = Console(stderr=True)


def main() -> None:
    try:
        app()
    except DispatchwiseError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/yellow]")
        sys.exit(130)


if __name__ == "__main__":
    main()
