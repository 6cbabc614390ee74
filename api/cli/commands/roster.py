"""``dispatchwise roster REQUIREMENTS.csv ...`` plans a week; ``dispatchwise roster check ROSTER.csv ...``
validates any roster against the rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from api.cli.commands.forecast import print_notes
from api.formats.agents import read_agents
from api.formats.forecast import read_forecast_notes
from api.formats.roster import (
    read_availability,
    read_preferences,
    read_requirements,
    read_roster,
    write_coverage,
    write_plot,
    write_roster,
)
from api.formats.templates import read_templates
from dispatcher.errors import InvalidInput
from dispatcher.roster.problem import Requirements, RosterProblem, Weights
from dispatcher.roster.result import RosterResult
from dispatcher.roster.weeks import parse_weekday


class _PlanByDefault(TyperGroup):
    """``roster FILE ...`` runs ``plan``; ``roster check FILE ...`` runs ``check``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["plan", *args]
        return super().parse_args(ctx, args)


roster_app = typer.Typer(cls=_PlanByDefault, no_args_is_help=True,
                         help="Roster named agents onto weekly shifts (plan), or validate a roster (check).")

WEEK_HELP = ("Weekday planning weeks start on (Mon..Sun); default: the horizon's first day. Weekly contract "
             "limits (min/max hours, max days, two days off in a row) hold per planning week; a week the horizon "
             "cuts to n < 7 days pro-rates the weekly min/max hours by n / max days a week (at most 1): a 3-day "
             "week of a 32-40 h, 5-day contract asks 19-24 h. Consecutive days and rest run across weeks.")

PAIR_HELP = ("Penalty points per agent and planning week without two days off in a row (where the week and the "
             "contract minimum allow them). A whole week wraps around: its last and first days count as "
             "consecutive, as in a weekly rota, so a Saturday and Sunday off in a week from Sunday is a pair.")


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown timezone {name!r}", field="--timezone") from exc


def _week_start(text: str | None) -> int | None:
    return parse_weekday(text) if text else None


def _load(requirements: Path | None, agents_path: Path, templates_path: Path, availability: Path | None,
          preferences: Path | None, pin: Path | None, published: Path | None, tz: tzinfo | None,
          fallback_days: list[date] | None = None, week_start: int | None = None) -> RosterProblem:
    agents = read_agents(agents_path)
    templates = read_templates(templates_path)
    if requirements is not None:
        req = read_requirements(requirements, tz)
    else:
        zone = tz or ZoneInfo("UTC")
        skill = sorted(agents[0].skills)[0]
        req = Requirements.from_entries((skill, datetime.combine(d, time(0), tzinfo=zone), 0, 0)
                                        for d in fallback_days or [date.today()])
    return RosterProblem(
        requirements=req,
        agents=tuple(agents),
        templates=tuple(templates),
        timezone=tz,
        availability=read_availability(availability, agents) if availability else {},
        preferences=tuple(read_preferences(preferences, agents)) if preferences else (),
        pins=read_roster(pin, agents, tz).shifts if pin else (),
        published=read_roster(published, agents, tz) if published else None,
        week_start=week_start,
    )


def unknown_agent_skills(problem: RosterProblem) -> dict[str, list[str]]:
    """Skill -> agents holding it, for skills no requirement asks for (a typo, or a queue not planned)."""
    planned = set(problem.requirements.skills)
    unknown: dict[str, list[str]] = {}
    for agent in problem.agents:
        for skill in sorted(set(agent.skills) - planned):
            unknown.setdefault(skill, []).append(agent.id)
    return unknown


def _check_agent_skills(problem: RosterProblem, console: Console, *, strict: bool) -> None:
    unknown = unknown_agent_skills(problem)
    if not unknown:
        return
    listed = "; ".join(f"{skill!r} ({', '.join(ids[:5])}{' …' if len(ids) > 5 else ''})"
                       for skill, ids in sorted(unknown.items()))
    message = f"agents have skills no requirement asks for: {listed}"
    if strict:
        raise InvalidInput(message, field="skills")
    console.print(f"[yellow]warning:[/yellow] {escape(message)} (time on them is never rostered; --strict makes "
                  "this an error)", highlight=False)


def _summary(console: Console, result: RosterResult) -> None:
    o = result.objective
    console.print(
        f"[bold]{result.status}[/bold]: {len(result.roster)} shifts, objective {o.total:.1f} "
        f"(under {o.under:.1f}, over {o.over:.1f}, labour {o.labour:.1f}, auxiliary {o.auxiliary:.1f}, "
        f"changes {o.changes:.1f}); LP bound {result.bound:.1f}; gap {result.gap:.2%}; "
        f"{result.timings.get('total', 0.0):.1f} s (first roster: {result.timings.get('first', 0.0):.1f} s, "
        f"gap {result.first_gap:.2%})"
    )
    table = Table("skill", "required agent-h", "under-staffed h", "over-staffed h")
    cov = result.coverage
    for si, skill in enumerate(cov.skills):
        table.add_row(skill, f"{cov.required[si].sum() / 4:.1f}", f"{cov.under_hours[skill]:.1f}",
                      f"{cov.over_hours[skill]:.1f}")
    console.print(table)
    f = result.fairness
    weeks = ", ".join(w.label() for w in result.weeks)
    console.print(f"planning weeks {weeks}; paid hours {result.paid_hours:.1f}; fairness spread: weekend shifts "
                  f"{f.weekend_shifts_spread}, late shifts {f.late_shifts_spread}, hours/contract "
                  f"{f.hours_ratio_spread:.2f}; two days off in a row: {f.days_off_pair_share:.0%} of agent-weeks "
                  f"({f.no_two_days_off} agents miss them in some week); "
                  f"changed shifts {result.changed_shifts}")
    for e in result.explanations:
        console.print(f"[yellow]explanation[/yellow] {escape(str(e))}", highlight=False)


@roster_app.command("plan")
def plan_command(
    requirements: Annotated[Path, typer.Argument(help="Requirements CSV (staffing output, or "
                                                      "skill,period_start,required).")],
    agents: Annotated[Path, typer.Option("--agents", help="agents.csv")],
    templates: Annotated[Path, typer.Option("--templates", help="shift_templates.csv")],
    time_limit: Annotated[float, typer.Option(help="Seconds for the whole solve.")] = 60.0,
    workers: Annotated[int, typer.Option(help="Solver threads.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    pin: Annotated[Path | None, typer.Option(help="Shifts to keep as they are (roster.csv format).")] = None,
    published: Annotated[Path | None, typer.Option(help="Published roster to change as little as possible.")] = None,
    availability: Annotated[Path | None, typer.Option(help="availability.csv (windows, days off, absences).")] = None,
    preferences: Annotated[Path | None, typer.Option(help="preferences.csv")] = None,
    timezone: Annotated[str | None, typer.Option(help="Site timezone for template times, e.g. America/New_York "
                                                      "(default: the requirements' offset).")] = None,
    out: Annotated[Path, typer.Option(help="Roster CSV to write.")] = Path("roster.csv"),
    coverage: Annotated[Path | None, typer.Option(help="Coverage CSV to write.")] = None,
    plot: Annotated[Path | None, typer.Option(help="PNG: coverage vs requirement and a Gantt of agents.")] = None,
    explain: Annotated[bool, typer.Option(help="When coverage is short, relax rules one at a time to name "
                                               "the binding one (one LP each; up to half the time limit "
                                               "more).")] = True,
    week_start: Annotated[str | None, typer.Option(help=WEEK_HELP)] = None,
    days_off_pair_weight: Annotated[float, typer.Option(help=PAIR_HELP)] = Weights().days_off_pair,
    method: Annotated[str, typer.Option(help="decomposition (count LP, naming, local search, breaks placed "
                                             "exactly at the end; the best measured), or the decomposition for "
                                             "half the time and then: mip (a named MIP in HiGHS from its "
                                             "roster), lns (large-neighbourhood steps on it) or patterns "
                                             "(column generation over week patterns, then an integer master "
                                             "in HiGHS); see benchmarks/roster.py.")] = "decomposition",
    strict: Annotated[bool, typer.Option(help="Agents with skills no requirement asks for are an error, "
                                              "not a warning.")] = False,
) -> None:
    """Roster named agents onto the horizon's shifts (any whole number of days, in planning weeks); writes
    roster.csv (+ coverage.csv, plot)."""
    from dispatcher.roster.solve import solve_roster
    from dispatcher.roster.validate import validate_roster

    if time_limit <= 0 or workers < 1:
        raise InvalidInput("--time-limit must be > 0 and --workers >= 1", field="--time-limit")
    problem = _load(requirements, agents, templates, availability, preferences, pin, published, _zone(timezone),
                    week_start=_week_start(week_start))
    problem = replace(problem, weights=replace(problem.weights, days_off_pair=days_off_pair_weight))
    console = Console()
    if requirements is not None and (notes := read_forecast_notes(requirements)):
        print_notes(console, notes)
    _check_agent_skills(problem, console, strict=strict)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("building the count model", total=None)

        def report(stage: str, info: dict[str, Any]) -> None:
            if stage == "build":
                progress.update(task, description=f"solving the count LP ({info['candidates']} shifts, "
                                                  f"{info['groups']} agent groups)")
            elif stage == "counts":
                progress.update(task, description=f"LP bound {info['lp_bound']:.1f} — naming agents", completed=0)
            elif stage == "assign":
                progress.update(task, total=info["total"], completed=info["done"])
                if info["done"] == info["total"]:
                    progress.update(task, description="local search on the named roster")
            elif stage == "first":
                progress.update(task, description=f"first roster {info['objective']:.1f} after "
                                                  f"{info['seconds']:.1f} s — local search")
            elif stage == "breaks":
                progress.update(task, description=f"breaks placed exactly: {info['before']:.1f} → "
                                                  f"{info['objective']:.1f}")
            elif stage == "done":
                progress.update(task, description=f"incumbent {info['objective']:.1f} / bound "
                                                  f"{info['lp_bound']:.1f}")

        result = solve_roster(problem, time_limit_s=time_limit, workers=workers, seed=seed, explain=explain,
                              progress=report, method=method)
    _summary(console, result)
    violations = validate_roster(result.roster, problem)
    explained = {(e.rule, e.agent_id) for e in result.explanations}
    unexplained = [v for v in violations if (v.rule, v.agent_id) not in explained]
    for v in violations:
        console.print(f"[red]violation[/red] {escape(str(v))}", highlight=False)
    write_roster(out, result.roster)
    console.print(f"wrote {out}")
    if coverage is not None:
        write_coverage(coverage, result)
        console.print(f"wrote {coverage}")
    if plot is not None:
        write_plot(plot, result)
        console.print(f"wrote {plot}")
    if unexplained:
        raise typer.Exit(1)


@roster_app.command("check")
def check_command(
    roster: Annotated[Path, typer.Argument(help="roster.csv to validate.")],
    agents: Annotated[Path, typer.Option("--agents", help="agents.csv")],
    templates: Annotated[Path, typer.Option("--templates", help="shift_templates.csv")],
    requirements: Annotated[Path | None, typer.Option(help="Requirements CSV: also report coverage.")] = None,
    availability: Annotated[Path | None, typer.Option(help="availability.csv")] = None,
    pin: Annotated[Path | None, typer.Option(help="Pinned shifts that must be present.")] = None,
    timezone: Annotated[str | None, typer.Option(help="Site timezone for template times.")] = None,
    week_start: Annotated[str | None, typer.Option(help=WEEK_HELP + " Without --requirements the horizon is "
                                                        "whole weeks from the first shift's day (or the "
                                                        "--week-start day before it).")] = None,
) -> None:
    """Validate a roster against contracts (per planning week, as `roster` plans them), rest, days, breaks,
    availability, skills and pins; exit 1 on any violation."""
    from dispatcher.roster.evaluate import objective_of
    from dispatcher.roster.validate import validate_roster

    agent_list = read_agents(agents)
    tz = _zone(timezone)
    shifts = read_roster(roster, agent_list, tz)
    if tz is None and shifts.shifts:
        tz = shifts.shifts[0].start.tzinfo
    start = _week_start(week_start)
    days = sorted({s.start.astimezone(tz).date() for s in shifts.shifts}) or [date.today()]
    first = days[0] if start is None else days[0] - timedelta(days=(days[0].weekday() - start) % 7)
    horizon = [first + timedelta(days=i) for i in range(((days[-1] - first).days // 7 + 1) * 7)]
    problem = _load(requirements, agents, templates, availability, None, pin, None, tz, fallback_days=horizon,
                    week_start=start)
    console = Console()
    violations = validate_roster(shifts, problem)
    if requirements is not None:
        objective, cov, paid = objective_of(shifts, problem.agents, problem.templates, problem.requirements,
                                            problem.weights)
        under = sum(cov.under_hours.values())
        over = sum(cov.over_hours.values())
        console.print(f"coverage: {under:.1f} agent-h under-staffed, {over:.1f} over-staffed; paid {paid:.1f} h; "
                      f"objective {objective.total:.1f}")
    for v in violations:
        console.print(f"[red]violation[/red] {escape(str(v))}", highlight=False)
    console.print(f"{len(shifts)} shifts, {len(violations)} violation(s)")
    if violations:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(roster_app, name="roster")
