"""``dispatchwise publish forecast|roster FILE``: send a plan file to a running service (supervisor key)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from dispatcher.errors import DispatchwiseError, InvalidInput

publish_app = typer.Typer(help="Publish the forecast or the roster to a running service (supervisor key).",
                          no_args_is_help=True)

UrlOption = Annotated[str, typer.Option(envvar="DISPATCHWISE_URL", help="Service base URL.")]
KeyOption = Annotated[str, typer.Option(envvar="DISPATCHWISE_KEY", help="Supervisor API key.")]
FileArg = Annotated[Path, typer.Argument(help="The CSV file (forecast.csv or roster.csv format).")]


def publish_file(kind: str, path: Path, *, url: str, key: str,
                 transport: httpx.BaseTransport | None = None) -> dict[str, object]:
    """PUT the file to ``/v1/plan/{kind}``; the service's refusal becomes an error naming file and row."""
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    try:
        body = path.read_bytes()
        with httpx.Client(base_url=url, transport=transport, timeout=60.0) as client:
            r = client.put(f"/v1/plan/{kind}", content=body,
                           headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"})
    except httpx.HTTPError as exc:
        raise DispatchwiseError(f"cannot reach {url}: {exc}") from exc
    if r.status_code != 200:
        try:
            problem = r.json()
        except ValueError:
            problem = {"message": r.text}
        raise InvalidInput(f"service refused the {kind} ({r.status_code}): {problem.get('message', problem)}",
                           file=str(path), row=problem.get("row"), field=problem.get("field"))
    out: dict[str, object] = r.json()
    return out


def _command(kind: str) -> Callable[..., None]:
    def command(file: FileArg, url: UrlOption = "http://127.0.0.1:8000", key: KeyOption = "") -> None:
        if not key:
            raise InvalidInput("a supervisor key is needed: --key or DISPATCHWISE_KEY", field="--key")
        reply = publish_file(kind, file, url=url, key=key)
        Console().print(f"published {kind} version {reply['version']}: {reply['rows']} rows, "
                        f"{reply['from']} to {reply['to']}")

    command.__doc__ = f"Publish a {kind}.csv file; its days replace those days of the {kind} in force."
    return command


publish_app.command("forecast")(_command("forecast"))
publish_app.command("roster")(_command("roster"))


def register(app: typer.Typer) -> None:
    app.add_typer(publish_app, name="publish")
