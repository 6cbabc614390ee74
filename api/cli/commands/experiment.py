"""``dispatchwise experiment start|status|stop``: a live A/B test of two routing policies on a running service.

The service routes each task (or agent) by the arm its stable hash picks and records the arm on every offer;
``status`` prints per-arm KPIs and B − A with 95% intervals. ``dispatchwise abtest --simulate`` runs the same
experiment in the simulator first.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from api.cli.commands.publish import KeyOption, UrlOption
from dispatcher.errors import DispatchwiseError, InvalidInput

experiment_app = typer.Typer(help="Live A/B test of two routing policies (supervisor key).", no_args_is_help=True)

PolicyOption = "live, greedy, longest-idle, or a policy.toml file"


def policy_value(text: str) -> str | dict[str, Any]:
    """A built-in policy name as it is, or the settings of a policy.toml file."""
    path = Path(text)
    if text.endswith(".toml"):
        if not path.exists():
            raise InvalidInput("file not found", file=text)
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"cannot parse policy: {exc}", file=text) from exc
    return text


def call(method: str, path: str, *, url: str, key: str, body: dict[str, Any] | None = None,
         transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """One request to the service; its refusal becomes an error with the service's own message."""
    if not key:
        raise InvalidInput("a supervisor key is needed: --key or DISPATCHWISE_KEY", field="--key")
    try:
        with httpx.Client(base_url=url, transport=transport, timeout=60.0) as client:
            r = client.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError as exc:
        raise DispatchwiseError(f"cannot reach {url}: {exc}") from exc
    try:
        reply: dict[str, Any] = r.json()
    except ValueError:
        reply = {"message": r.text}
    if r.status_code >= 400:
        raise InvalidInput(f"service refused ({r.status_code}): {reply.get('message', reply)}",
                           field=reply.get("field"))
    return reply


def experiment_body(name: str, policy_a: str, policy_b: str, share_b: float, unit: str) -> dict[str, Any]:
    return {"name": name, "policy_a": policy_value(policy_a), "policy_b": policy_value(policy_b), "share_b": share_b,
            "unit": unit}


def report_table(report: dict[str, Any]) -> Table:
    experiment = report.get("experiment", {})
    table = Table(title=f"experiment {experiment.get('name', '?')}: {report.get('tasks', 0)} tasks "
                        f"(split by {experiment.get('unit', 'task')})")
    for column in ("kpi", "A", "B", "B − A", "95% CI", "significant", "tasks needed"):
        table.add_column(column, justify="left" if column == "kpi" else "right")
    arms = report.get("arms", {})

    def shown(value: Any) -> str:
        return "–" if value is None else f"{value:.4g}"

    for d in report.get("differences", []):
        kpi = d["kpi"]
        table.add_row(kpi, shown(arms.get("A", {}).get(kpi)), shown(arms.get("B", {}).get(kpi)), shown(d["b_minus_a"]),
                      f"[{shown(d['ci95_low'])}, {shown(d['ci95_high'])}]", "yes" if d["significant"] else "no",
                      shown(d["tasks_needed"]))
    return table


@experiment_app.command("start")
def start(
    name: Annotated[str, typer.Option(help="Experiment name (salts the split).")],
    policy_a: Annotated[str, typer.Option(help=f"Arm A: {PolicyOption}.")] = "live",
    policy_b: Annotated[str, typer.Option(help=f"Arm B: {PolicyOption}.")] = "greedy",
    share_b: Annotated[float, typer.Option(help="Share of tasks (or agents) in arm B.")] = 0.5,
    unit: Annotated[str, typer.Option(help="Split unit: task or agent.")] = "task",
    url: UrlOption = "http://127.0.0.1:8000",
    key: KeyOption = "",
) -> None:
    """Start the live experiment (only one runs at a time)."""
    call("PUT", "/v1/abtest", url=url, key=key, body=experiment_body(name, policy_a, policy_b, share_b, unit))
    Console().print(f"experiment {name} started: A = {policy_a}, B = {policy_b}, {share_b:.0%} of {unit}s in B")


@experiment_app.command("status")
def status(url: UrlOption = "http://127.0.0.1:8000", key: KeyOption = "") -> None:
    """Per-arm KPIs of the running experiment and B − A with 95% intervals."""
    report = call("GET", "/v1/abtest/current", url=url, key=key)
    console = Console()
    if not report.get("running"):
        console.print("no experiment is running")
        return
    console.print(report_table(report))
    if report.get("note"):
        console.print(report["note"], style="dim")


@experiment_app.command("stop")
def stop(url: UrlOption = "http://127.0.0.1:8000", key: KeyOption = "") -> None:
    """End the running experiment and print its final report."""
    report = call("DELETE", "/v1/abtest", url=url, key=key)
    Console().print(report_table(report))


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
