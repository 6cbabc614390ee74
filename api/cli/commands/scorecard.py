"""``dispatchwise scorecard`` and ``dispatchwise abtest``: KPI scorecards and the A/B report from an
event-log CSV (the canonical format of :mod:`dispatcher.scorecard`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from api.formats.agents import read_agents
from api.formats.scorecard import parse_moment, parse_pairs, plan_from_dict, target_from_dict
from dispatcher.errors import DispatchwiseError, InvalidInput
from dispatcher.scorecard import (
    LEVELS,
    TASK_ROW_COLUMNS,
    EventLog,
    Level,
    OutcomeConfig,
    ScoringConfig,
    agent_time_from_frame,
    event_log_from_frame,
    events_from_task_rows,
    scorecards,
)
from dispatcher.targets import ImprovementPlan, Target, measure, overdue_actions, status_frame, target_status

DEFAULT_ORIGIN = "2026-01-05T00:00:00Z"
ORIGIN_HELP = "Time zero of a simulator export (its times are seconds after it)."
SHOWN = ("handled", "asa_s", "sla", "aht_s", "fcr", "abandonment", "satisfaction", "satisfaction_n",
         "occupancy", "adherence")


def read_csv_text(path: Path) -> pd.DataFrame:
    """A CSV as text cells ('' for empty); InvalidInput naming the file when it cannot be read."""
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput(f"cannot read CSV: {exc}", file=str(path)) from exc


def read_event_log(path: Path, *, origin: str = DEFAULT_ORIGIN, drop_orphans: bool = False) -> EventLog:
    """The canonical event log, or a one-row-per-task export (``dispatchwise simulate --events``)
    whose second offsets count from ``origin``."""
    frame = read_csv_text(path)
    try:
        if "event" not in frame.columns and set(TASK_ROW_COLUMNS) <= set(frame.columns):
            start = parse_moment(origin, "--origin") or datetime.now(UTC)
            frame = events_from_task_rows(frame, origin=start)
        return event_log_from_frame(frame, drop_orphans=drop_orphans)
    except DispatchwiseError as exc:
        raise type(exc)(exc.message, file=str(path), row=exc.row, field=exc.field) from exc


def _fmt(value: float, metric: str) -> str:
    if math.isnan(value):
        return "–"
    if metric.endswith("_s"):
        return f"{value:,.0f}"
    if metric in {"handled", "satisfaction_n"}:
        return f"{int(value):,}"
    return f"{value:.1%}"


def scorecard_command(
    events: Annotated[Path, typer.Argument(help="Event log CSV (task_id,event,at,queue,quadrant,agent_id,...).")],
    level: Annotated[str, typer.Option(help="agent, team or queue.")] = "agent",
    from_: Annotated[str | None, typer.Option("--from", help="Tasks created from (ISO date/time).")] = None,
    to: Annotated[str | None, typer.Option(help="Tasks created before (ISO date/time).")] = None,
    weights: Annotated[str | None, typer.Option(help="Composite weights, e.g. sla:0.4,fcr:0.3.")] = None,
    targets: Annotated[str | None, typer.Option(help="Dimension targets, e.g. sla:0.85,asa_s:120.")] = None,
    forecast_aht: Annotated[str | None, typer.Option(help="Forecast AHT seconds per queue, billing:300,...")] = None,
    agents: Annotated[Path | None, typer.Option(help="agents.csv: teams for agents the log gives none.")] = None,
    agent_time: Annotated[Path | None, typer.Option(help="CSV agent_id,scheduled_s,on_shift_s (adherence).")] = None,
    reopen_window_h: Annotated[float, typer.Option(help="A reopen within this many hours flips FCR.")] = 168.0,
    min_sample: Annotated[int, typer.Option(help="Leave dimensions with fewer observations out of the composite.")] = 0,
    origin: Annotated[str, typer.Option(help=ORIGIN_HELP)] = DEFAULT_ORIGIN,
    explain: Annotated[bool, typer.Option(help="Print how each composite is built.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write every metric, score and point to this CSV.")] = None,
) -> None:
    """Scorecards per agent, team or queue: KPIs, and a composite shown with its parts."""
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {list(LEVELS)}, got {level!r}", field="--level")
    scoring = ScoringConfig(min_sample=min_sample).with_weights(parse_pairs(weights, "--weights")).with_targets(
        parse_pairs(targets, "--targets"))
    log = read_event_log(events, origin=origin)
    teams = {a.id: a.team for a in read_agents(agents) if a.team} if agents else None
    time_table = agent_time_from_frame(read_csv_text(agent_time)) if agent_time else None
    lvl: Level = level  # type: ignore[assignment,unused-ignore]
    table = scorecards(log, level=lvl, start=parse_moment(from_, "--from"), end=parse_moment(to, "--to"),
                       scoring=scoring, outcome=OutcomeConfig(reopen_window_s=reopen_window_h * 3600),
                       forecast_aht_s=parse_pairs(forecast_aht, "--forecast-aht") or None,
                       agent_time=time_table, agent_teams=teams)
    if not table.cards:
        missing = "--agents" if level == "team" else "events"
        raise InvalidInput(_nothing_to_score(level, agents is not None), field=missing)
    console = Console()
    view = Table(title=f"scorecards by {level} ({len(table.cards)})")
    view.add_column(level)
    view.add_column("composite", justify="right")
    for metric in SHOWN:
        view.add_column(metric, justify="right")
    for card in sorted(table.cards, key=lambda c: -c.composite if not math.isnan(c.composite) else math.inf):
        view.add_row(card.key, "–" if math.isnan(card.composite) else f"{card.composite:.1f}",
                     *(_fmt(card.metrics[m], m) for m in SHOWN))
    console.print(view)
    weights_line = ", ".join(f"{d.metric} {d.weight:g} (target {d.target:g})" for d in scoring.dimensions)
    console.print(f"composite = weighted mean of capped value/target (target/value when lower is better): "
                  f"{weights_line}", highlight=False)
    if explain:
        for card in table.cards:
            console.print(card.explain(), highlight=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_frame().to_csv(out, index=False)
        console.print(f"wrote {len(table.cards)} scorecards to {out}")


def _nothing_to_score(level: str, have_agents: bool) -> str:
    """Why a scorecard table came out empty, naming what to give."""
    if level == "team" and not have_agents:
        return ("no agent in the event log has a team: give --agents agents.csv (its team column) "
                "or a team column in the log")
    if level == "team":
        return "no agent of the event log has a team in --agents or in the log"
    return f"the event log has no {level} to score (no completed or handled task names one in the chosen window)"


def abtest_command(
    events: Annotated[Path, typer.Argument(help="Event log CSV; a 'policy' column names each task's arm.")],
    salt: Annotated[str, typer.Option(help="Experiment salt of the hash split (when the log has no policy).")] = "",
    share_b: Annotated[float, typer.Option(help="Share of tasks in arm B.")] = 0.5,
    policies: Annotated[str | None, typer.Option(help="A,B policy names in the log's policy column.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Tasks created from (ISO date/time).")] = None,
    to: Annotated[str | None, typer.Option(help="Tasks created before (ISO date/time).")] = None,
    origin: Annotated[str, typer.Option(help=ORIGIN_HELP)] = DEFAULT_ORIGIN,
    out: Annotated[Path | None, typer.Option(help="Write the KPI differences to this CSV.")] = None,
) -> None:
    """A/B report: KPI differences (B - A) between two routing policies with 95% intervals."""
    from dispatcher.abtest import ab_report

    names = [p.strip() for p in policies.split(",")] if policies else None
    report = ab_report(read_event_log(events, origin=origin), salt=salt, share_b=share_b, policies=names,
                       start=parse_moment(from_, "--from"), end=parse_moment(to, "--to"))
    console = Console()
    view = Table(title=f"A = {report.policies[0]} ({report.tasks[0]:,} tasks)  vs  "
                       f"B = {report.policies[1]} ({report.tasks[1]:,} tasks)")
    for column in ("kpi", "A", "B", "B - A", "95% CI", "significant"):
        view.add_column(column, justify="left" if column == "kpi" else "right")
    for d in report.kpis:
        row: list[Any] = [d.kpi, *(_fmt(v, d.kpi) for v in (d.a, d.b, d.difference)),
                          f"[{_fmt(d.ci_low, d.kpi)}, {_fmt(d.ci_high, d.kpi)}]", "yes" if d.significant else ""]
        view.add_row(*row)
    console.print(view)
    console.print(f"sample-ratio check p = {report.sample_ratio_p:.3g} (tiny values mean the split is broken)")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        report.to_frame().to_csv(out, index=False)


TARGET_COLUMNS = ("id", "kpi", "level", "scope", "value", "owner", "deadline")
ACTION_COLUMNS = ("plan_id", "target_id", "title", "plan_owner", "action_id", "description", "owner", "due")


def read_targets(path: Path) -> list[Target]:
    """targets.csv: id,kpi,level,scope,value,owner,deadline[,start,baseline,description]."""
    frame = read_csv_text(path)
    missing = [c for c in TARGET_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"missing columns {missing}; found {list(frame.columns)}", file=str(path), row=1)
    targets = []
    for row_no, row in enumerate(frame.to_dict("records"), start=2):
        try:
            deadline = parse_moment(row["deadline"], "deadline", end_of_day=True)
            start = parse_moment(row.get("start") or None, "start")
            targets.append(target_from_dict({
                **{str(k): v for k, v in row.items()}, "deadline": deadline.isoformat() if deadline else "",
                "start": start.isoformat() if start else None,
                "value": _number(row["value"], "value"),
                "baseline": _number(row["baseline"], "baseline") if row.get("baseline") else None,
            }))
        except DispatchwiseError as exc:
            raise InvalidInput(exc.message, file=str(path), row=row_no, field=exc.field) from exc
    return targets


def read_plans(path: Path) -> list[ImprovementPlan]:
    """actions.csv, one row per action: plan_id,target_id,title,plan_owner,action_id,description,owner,due[,done_at]."""
    frame = read_csv_text(path)
    missing = [c for c in ACTION_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"missing columns {missing}; found {list(frame.columns)}", file=str(path), row=1)
    plans: dict[str, dict[str, Any]] = {}
    for row_no, row in enumerate(frame.to_dict("records"), start=2):
        try:
            due = parse_moment(row["due"], "due", end_of_day=True)
            done = parse_moment(row.get("done_at") or None, "done_at")
        except DispatchwiseError as exc:
            raise InvalidInput(exc.message, file=str(path), row=row_no, field=exc.field) from exc
        plan = plans.setdefault(row["plan_id"], {"id": row["plan_id"], "target_id": row["target_id"],
                                                 "title": row["title"], "owner": row["plan_owner"], "actions": []})
        plan["actions"].append({"id": row["action_id"], "description": row["description"], "owner": row["owner"],
                                "due": due.isoformat() if due else "", "done_at": done.isoformat() if done else None})
    out = []
    for plan in plans.values():
        try:
            out.append(plan_from_dict(plan))
        except DispatchwiseError as exc:
            raise InvalidInput(f"plan {plan['id']}: {exc.message}", file=str(path), field=exc.field) from exc
    return out


def _number(text: str, field: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise InvalidInput(f"expected a number, got {text!r}", field=field) from exc


def targets_command(
    events: Annotated[Path, typer.Argument(help="Event log CSV (or a simulator export).")],
    targets: Annotated[Path, typer.Option(help="targets.csv: id,kpi,level,scope,value,owner,deadline[,start,...].")],
    actions: Annotated[Path | None, typer.Option(help="actions.csv of improvement plans (overdue alerts).")] = None,
    now: Annotated[str | None, typer.Option(help="Evaluate as of this time (default: the last event).")] = None,
    agents: Annotated[Path | None, typer.Option(help="agents.csv: teams for team targets.")] = None,
    origin: Annotated[str, typer.Option(help=ORIGIN_HELP)] = DEFAULT_ORIGIN,
    out: Annotated[Path | None, typer.Option(help="Write the target statuses to this CSV.")] = None,
) -> None:
    """Targets with owners: achievement rate, trend, projection to the deadline; overdue plan actions."""
    log = read_event_log(events, origin=origin)
    goals = read_targets(targets)
    teams = {a.id: a.team for a in read_agents(agents) if a.team} if agents else None
    last = log.end.ceil("s").to_pydatetime() if log.end is not None else datetime.now(UTC)
    moment = parse_moment(now, "--now") or last
    statuses = [target_status(t, measure(log, t, until=moment, agent_teams=teams), now=moment) for t in goals]
    console = Console()
    view = Table(title=f"targets as of {moment:%Y-%m-%d %H:%M %Z}")
    for column in ("target", "kpi", "scope", "owner", "deadline", "target value", "actual", "achievement",
                   "trend", "on track"):
        view.add_column(column)
    for s in statuses:
        t = s.target
        view.add_row(t.id, t.kpi, f"{t.level} {t.scope}", t.owner, f"{t.deadline:%Y-%m-%d}", _fmt(t.value, t.kpi),
                     _fmt(s.actual, t.kpi), _fmt(s.achievement_rate, "rate"), s.trend,
                     "met" if s.met else ("yes" if s.on_track else ("OVERDUE" if s.overdue else "no")))
    console.print(view)
    if actions is not None:
        alerts = overdue_actions(read_plans(actions), now=moment)
        for alert in alerts:
            console.print(f"[red]overdue[/red] {alert.action_id} ({alert.description}) of plan {alert.plan_id}: "
                          f"owner {alert.owner}, due {alert.due:%Y-%m-%d}, {alert.overdue_s / 86400:.1f} days late "
                          f"(plan owner {alert.plan_owner})", highlight=False)
        if not alerts:
            console.print("no overdue actions")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        status_frame(statuses).to_csv(out, index=False)


def export_audit_events(url: str, *, key_prefix: str = "dw", page: int = 10_000) -> pd.DataFrame:
    """The live service's audit trail at ``url`` as the canonical event table."""
    import asyncio

    from api.live.audit_log import audit_events_to_frame
    from api.store.queue import LiveQueue

    async def read() -> list[dict[str, Any]]:
        queue = LiveQueue.from_url(url, prefix=key_prefix)
        try:
            return await queue.all_audit_events(page)
        finally:
            await queue.close()

    return audit_events_to_frame(asyncio.run(read()))


def export_events_command(
    out: Annotated[Path, typer.Option(help="CSV to write (the canonical event log).")] = Path("events.csv"),
) -> None:
    """Export the live service's audit trail as an event-log CSV for scorecard, targets and abtest."""
    from api.service.settings import Settings
    from api.store.embedded_redis import redis_url_for

    settings = Settings()
    with redis_url_for(settings.redis_url, settings.data_dir, settings.appendfsync) as url:
        frame = export_audit_events(url, key_prefix=settings.key_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    Console().print(f"wrote {len(frame):,} events of {frame['task_id'].nunique():,} tasks to {out}")


def register(app: typer.Typer) -> None:
    app.command("scorecard")(scorecard_command)
    app.command("targets")(targets_command)
    app.command("export-events")(export_events_command)
