"""``dispatchwise abtest``: an A/B report of an event log (``abtest EVENTS``, see ``scorecard``), or with
``--simulate scenarios.toml`` the experiment on simulated days before it goes live."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dispatcher.errors import InvalidInput

FORMATS = {"service_level": ("SL", 100.0, "{:+.2f} pts", "{:.2f}%"), "asa_s": ("ASA", 1.0, "{:+.2f} s", "{:.2f} s"),
           "abandon_rate": ("abandonment", 100.0, "{:+.2f} pts", "{:.2f}%")}


def abtest_command(
    events: Annotated[Path | None, typer.Argument(help="Event log CSV to report on (without --simulate).")] = None,
    simulate: Annotated[
        Path | None, typer.Option(help="Scenario file (.toml/.yaml): run the experiment on its first scenario.")
    ] = None,
    roster: Annotated[Path | None, typer.Option(help="roster.csv (with --simulate).")] = None,
    agents: Annotated[Path | None, typer.Option(help="agents.csv (with --simulate).")] = None,
    forecast: Annotated[Path | None, typer.Option(help="Forecast CSV or truth.csv (with --simulate).")] = None,
    policy_a: Annotated[str, typer.Option(help="Arm A: live, greedy, longest-idle or a policy.toml.")] = "live",
    policy_b: Annotated[str, typer.Option(help="Arm B: live, greedy, longest-idle or a policy.toml.")] = "greedy",
    share_b: Annotated[float, typer.Option(help="Share of tasks (or agents) in arm B.")] = 0.5,
    unit: Annotated[str, typer.Option(help="Split unit: task or agent (with --simulate).")] = "task",
    name: Annotated[str, typer.Option(help="Experiment name: salts the split, as live.")] = "experiment",
    replications: Annotated[int, typer.Option(help="Simulated experiment days.")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    salt: Annotated[str, typer.Option(help="Event log: salt of the hash split (when it has no policy).")] = "",
    policies: Annotated[str | None, typer.Option(help="Event log: A,B names in its policy column.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Event log: tasks created from.")] = None,
    to: Annotated[str | None, typer.Option(help="Event log: tasks created before.")] = None,
    origin: Annotated[str, typer.Option(help="Event log: its origin (see scorecard).")] = "",
    out: Annotated[Path | None, typer.Option(help="Event log: write the KPI differences to this CSV.")] = None,
) -> None:
    """A/B of two routing policies: B − A with 95% intervals, from an event log or (--simulate) from
    simulated days, with the tasks needed to detect the difference live."""
    if simulate is None:
        from api.cli.commands import scorecard

        if events is None:
            raise InvalidInput("give an event log, or --simulate with a scenario file", field="EVENTS")
        scorecard.abtest_command(events, salt=salt, share_b=share_b, policies=policies, from_=from_, to=to,
                                 origin=origin or scorecard.DEFAULT_ORIGIN, out=out)
        return
    missing = [flag for flag, value in (("--roster", roster), ("--agents", agents), ("--forecast", forecast))
               if value is None]
    if missing:
        raise InvalidInput(f"--simulate needs {', '.join(missing)}", field=missing[0])
    assert roster is not None and agents is not None and forecast is not None
    from api.formats.policy import resolve_policy
    from api.formats.simulation import load_study
    from dispatcher.abtest import Experiment
    from dispatcher.simulation.experiment import run_experiment_replication, summarize_experiment

    if replications < 2:
        raise InvalidInput(f"must be >= 2 for an interval, got {replications}", field="--replications")
    experiment = Experiment(name=name, policy_a=resolve_policy(policy_a, Path.cwd(), "--policy-a"),
                            policy_b=resolve_policy(policy_b, Path.cwd(), "--policy-b"), share_b=share_b, unit=unit)
    study = load_study(forecast=forecast, roster=roster, agents=agents, scenarios=simulate,
                       replications=replications, seed=seed)
    console = Console()
    console.print(f"A/B {experiment.policy_a.name} vs {experiment.policy_b.name} by {unit}, share B {share_b:g}, "
                  f"on scenario {study.scenarios[0].name!r}, {replications} simulated days")
    runs = [run_experiment_replication(study, experiment, r) for r in range(replications)]
    table = Table(title="B − A over simulated days (95% CI); tasks needed for 80% power live")
    for column in ("KPI", "A", "B", "B − A [95% CI]", "detectable in one day", "tasks needed"):
        table.add_column(column, justify="right")
    for d in summarize_experiment(runs):
        label, scale, diff_fmt, value_fmt = FORMATS[d.kpi]
        table.add_row(
            label, value_fmt.format(d.a * scale), value_fmt.format(d.b * scale),
            f"{diff_fmt.format(d.difference * scale)} [{d.ci_low * scale:+.2f}, {d.ci_high * scale:+.2f}]",
            diff_fmt.format(d.detectable_per_day * scale).lstrip("+"),
            "—" if math.isinf(d.tasks_needed) else f"{d.tasks_needed:,.0f}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("abtest")(abtest_command)
