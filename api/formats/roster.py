"""Roster files: requirements, roster.csv, coverage.csv, availability, preferences, pins, plots.

Formats (all timestamps ISO 8601 with an offset; a naive one is read in the site timezone)
- requirements: the staffing output ``queue,period_start,...,agents,agents_scheduled,...`` where
  ``queue`` is the skill and ``agents_scheduled`` (else ``agents``) the head count to cover; or a plain
  ``skill,period_start,required``. Periods are 15 minutes; missing periods require 0.
- roster.csv, one row per shift: ``agent_id,date,start,end,breaks,skills`` where ``breaks`` is
  ``START/END;START/END`` and ``skills`` is one skill for the whole shift (``billing``) or a skill
  plan ``billing@START/END;tech@START/END``. ``date`` is the local date the shift starts on.
  Pins (``--pin``) and a published roster (``--published``) use the same format.
- coverage.csv: ``skill,period_start,required,scheduled,gap`` (gap = scheduled - required).
- availability.csv: ``agent_id,date,available_from,available_to`` with times ``HH:MM`` (the window a
  shift must fit in; ``available_to`` may be ``24:00``) or ``off`` in ``available_from`` for a day off
  / absence. Days without a row are fully available. One row per agent and date.
- preferences.csv: ``agent_id,day,kind,value``: ``day`` is an ISO date, a weekday (``Mon``..``Sun``)
  or ``*``; ``kind`` is ``off`` (would rather not work that day) or ``shift`` (``value`` = template
  name the agent would rather work).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path

import numpy as np

from api.formats.csv_rows import parse_cell, read_rows
from api.formats.figures import save_figure
from dispatcher.domain import Agent, Interval, Roster, Shift, SkillBlock
from dispatcher.errors import InvalidInput
from dispatcher.roster.problem import Availability, Preference, Requirements, week_monday
from dispatcher.roster.result import RosterResult

ROSTER_COLUMNS = ["agent_id", "date", "start", "end", "breaks", "skills"]
COVERAGE_COLUMNS = ["skill", "period_start", "required", "scheduled", "gap"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_moment(text: str, tz: tzinfo | None) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        if tz is None:
            raise ValueError(f"timestamp {text!r} has no offset")
        value = value.replace(tzinfo=tz)
    return value


def read_requirements(path: Path, tz: tzinfo | None = None) -> Requirements:
    """Required agents per skill and 15-minute period, from the staffing output or a plain file."""
    rows = read_rows(path, ["period_start"])
    if not rows:
        raise InvalidInput("no requirement rows", file=str(path))
    header = set(rows[0])
    if "skill" in header and "required" in header:
        skill_col, req_cols = "skill", ["required"]
    elif "queue" in header and ("agents_scheduled" in header or "agents" in header):
        skill_col, req_cols = "queue", [c for c in ("agents_scheduled", "agents") if c in header]
    else:
        raise InvalidInput(
            "need columns queue,period_start,agents_scheduled (or agents) or skill,period_start,required",
            file=str(path), row=1,
        )
    entries: list[tuple[str, datetime, int, int]] = []
    for line_no, row in enumerate(rows, start=2):
        skill = row[skill_col]
        if not skill:
            raise InvalidInput("empty skill", file=str(path), row=line_no, field=skill_col)
        start = parse_cell(row["period_start"], lambda v: parse_moment(v, tz), path=path, row=line_no,
                           column="period_start")
        col = next((c for c in req_cols if row.get(c, "") != ""), req_cols[0])
        value = parse_cell(row[col], float, path=path, row=line_no, column=col)
        if not np.isfinite(value) or value < 0:
            raise InvalidInput(f"required agents must be >= 0, got {row[col]!r}", file=str(path), row=line_no,
                               field=col)
        entries.append((skill, start, int(np.ceil(value - 1e-9)), line_no))
    try:
        return Requirements.from_entries(entries)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, file=str(path), row=exc.row, field=exc.field) from exc


def _parse_hhmm(text: str) -> timedelta:
    hours, _, minutes = text.partition(":")
    value = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if not timedelta(0) <= value <= timedelta(hours=24):
        raise ValueError(f"time of day out of range: {text!r}")
    return value


def read_availability(path: Path, agents: Sequence[Agent]) -> dict[str, dict[date, Availability]]:
    """Per agent and date: ``None`` for off, else the (from, to) window a shift must fit in."""
    rows = read_rows(path, ["agent_id", "date", "available_from"])
    known = {a.id for a in agents}
    out: dict[str, dict[date, Availability]] = {}
    first_row: dict[tuple[str, date], int] = {}
    for line_no, row in enumerate(rows, start=2):
        agent_id = row["agent_id"]
        if agent_id not in known:
            raise InvalidInput(f"unknown agent id {agent_id!r}", file=str(path), row=line_no, field="agent_id")
        day = parse_cell(row["date"], date.fromisoformat, path=path, row=line_no, column="date")
        if (agent_id, day) in first_row:
            raise InvalidInput(
                f"agent {agent_id} on {day}: overlaps row {first_row[agent_id, day]} (one row per agent and date)",
                file=str(path), row=line_no, field="date",
            )
        first_row[agent_id, day] = line_no
        frm = row["available_from"].lower()
        if frm == "off":
            out.setdefault(agent_id, {})[day] = None
            continue
        start = parse_cell(row["available_from"], _parse_hhmm, path=path, row=line_no, column="available_from")
        end = parse_cell(row.get("available_to", "") or "24:00", _parse_hhmm, path=path, row=line_no,
                         column="available_to")
        if end <= start:
            raise InvalidInput("available_to must be after available_from", file=str(path), row=line_no,
                               field="available_to")
        out.setdefault(agent_id, {})[day] = (start, end)
    return out


def read_preferences(path: Path, agents: Sequence[Agent]) -> list[Preference]:
    rows = read_rows(path, ["agent_id", "day", "kind"])
    known = {a.id for a in agents}
    prefs: list[Preference] = []
    for line_no, row in enumerate(rows, start=2):
        if row["agent_id"] not in known:
            raise InvalidInput(f"unknown agent id {row['agent_id']!r}", file=str(path), row=line_no,
                               field="agent_id")
        day_text = row["day"].strip().lower()
        weekday: int | None = None
        on: date | None = None
        if day_text[:3] in WEEKDAYS and not day_text[:1].isdigit():
            weekday = WEEKDAYS.index(day_text[:3])
        elif day_text != "*":
            on = parse_cell(row["day"], date.fromisoformat, path=path, row=line_no, column="day")
        kind = row["kind"].lower()
        if kind not in ("off", "shift"):
            raise InvalidInput(f"kind must be 'off' or 'shift', got {row['kind']!r}", file=str(path),
                               row=line_no, field="kind")
        value = row.get("value", "")
        if kind == "shift" and not value:
            raise InvalidInput("kind 'shift' needs a template name in 'value'", file=str(path), row=line_no,
                               field="value")
        prefs.append(Preference(agent_id=row["agent_id"], kind=kind, template=value, on=on, weekday=weekday))
    return prefs


def _parse_intervals(text: str, tz: tzinfo | None) -> list[tuple[datetime, datetime]]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        a, sep, b = part.partition("/")
        if not sep:
            raise ValueError(f"expected START/END, got {part!r}")
        out.append((parse_moment(a, tz), parse_moment(b, tz)))
    return out


def _parse_skills(text: str, start: datetime, end: datetime, tz: tzinfo | None) -> tuple[SkillBlock, ...]:
    blocks = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        skill, sep, span = part.partition("@")
        if not sep:
            blocks.append(SkillBlock(start, end, skill.strip()))
            continue
        ((a, b),) = _parse_intervals(span, tz)
        blocks.append(SkillBlock(a, b, skill.strip()))
    return tuple(blocks)


def read_roster(path: Path, agents: Iterable[Agent], tz: tzinfo | None = None) -> Roster:
    """roster.csv → Roster; every row names a known agent and well-formed times (errors name the row)."""
    shifts = [shift for _, shift in roster_shifts(read_rows(path, ROSTER_COLUMNS[:4]), agents, tz, path)]
    if not shifts:
        return Roster(week_start=date.today(), shifts=())
    return Roster(week_start=week_monday(min(s.start.date() for s in shifts)), shifts=tuple(shifts))


def roster_shifts(rows: Sequence[dict[str, str]], agents: Iterable[Agent], tz: tzinfo | None,
                  path: Path) -> list[tuple[int, Shift]]:
    """Rows of roster.csv (header = row 1) → (row number, Shift); ``path`` names the source in errors."""
    by_id = {a.id: a for a in agents}
    shifts: list[tuple[int, Shift]] = []
    for line_no, row in enumerate(rows, start=2):
        agent = by_id.get(row["agent_id"])
        if agent is None:
            raise InvalidInput(f"unknown agent id {row['agent_id']!r}", file=str(path), row=line_no,
                               field="agent_id")
        day = parse_cell(row["date"], date.fromisoformat, path=path, row=line_no, column="date")
        start = parse_cell(row["start"], lambda v: parse_moment(v, tz), path=path, row=line_no, column="start")
        end = parse_cell(row["end"], lambda v: parse_moment(v, tz), path=path, row=line_no, column="end")
        if start.date() != day:
            raise InvalidInput(f"start {start.isoformat()} is not on date {day}", file=str(path), row=line_no,
                               field="date")
        pairs = parse_cell(row.get("breaks", ""), partial(_parse_intervals, tz=tz), path=path, row=line_no,
                           column="breaks")
        plan = parse_cell(row.get("skills", ""), partial(_parse_skills, start=start, end=end, tz=tz), path=path,
                          row=line_no, column="skills")
        for block in plan:
            if not agent.has_skill(block.skill):
                raise InvalidInput(f"agent {agent.id} lacks skill {block.skill!r}", file=str(path), row=line_no,
                                   field="skills")
        try:
            breaks = tuple(Interval(a, b) for a, b in pairs)
            shifts.append((line_no, Shift(agent.id, start, end, breaks, plan)))
        except InvalidInput as exc:
            raise InvalidInput(exc.message, file=str(path), row=line_no, field=exc.field) from exc
    return shifts


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def format_skill_plan(shift: Shift) -> str:
    skills = {b.skill for b in shift.skill_plan}
    if len(skills) == 1 and shift.skill_plan[0].start <= shift.start and shift.skill_plan[-1].end >= shift.end:
        return next(iter(skills))
    return ";".join(f"{b.skill}@{_iso(b.start)}/{_iso(b.end)}" for b in shift.skill_plan)


def write_roster(path: Path, roster: Roster) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(ROSTER_COLUMNS)
        for s in sorted(roster.shifts, key=lambda s: (s.agent_id, s.start)):
            writer.writerow([
                s.agent_id, s.start.date().isoformat(), _iso(s.start), _iso(s.end),
                ";".join(f"{_iso(b.start)}/{_iso(b.end)}" for b in s.breaks), format_skill_plan(s),
            ])


def write_coverage(path: Path, result: RosterResult) -> None:
    cov = result.coverage
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COVERAGE_COLUMNS)
        for si, skill in enumerate(cov.skills):
            for p in np.flatnonzero((cov.required[si] > 0) | (cov.scheduled[si] > 0)):
                req, sched = int(cov.required[si, p]), int(cov.scheduled[si, p])
                writer.writerow([skill, _iso(cov.period_start(int(p))), req, sched, sched - req])


def write_plot(path: Path, result: RosterResult) -> None:
    """Coverage vs requirement per skill, and a Gantt of the agents' shifts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cov = result.coverage
    n_skills = len(cov.skills)
    fig, axes = plt.subplots(n_skills + 1, 1, figsize=(14, 2.4 * n_skills + 6),
                             gridspec_kw={"height_ratios": [1] * n_skills + [3]})
    times = [cov.period_start(p) for p in range(cov.required.shape[1])]
    for si, skill in enumerate(cov.skills):
        ax = axes[si]
        ax.step(times, cov.required[si], where="post", label="required", color="black", linewidth=1)
        ax.step(times, cov.scheduled[si], where="post", label="scheduled", color="tab:blue", linewidth=1)
        ax.fill_between(times, cov.required[si], cov.scheduled[si], step="post",
                        where=cov.scheduled[si] < cov.required[si], color="tab:red", alpha=0.3)
        ax.set_ylabel(skill)
        ax.legend(loc="upper right", fontsize=7)
    gantt = axes[-1]
    by_agent = result.roster.by_agent()
    colors = {s: f"C{i}" for i, s in enumerate(cov.skills)}
    for row, agent_id in enumerate(sorted(by_agent)):
        for shift in by_agent[agent_id]:
            for block in shift.skill_plan or (SkillBlock(shift.start, shift.end, ""),):
                gantt.barh(row, block.end - block.start, left=block.start, height=0.8,
                           color=colors.get(block.skill, "grey"))
            for brk in shift.breaks:
                gantt.barh(row, brk.end - brk.start, left=brk.start, height=0.8, color="white")
    gantt.set_yticks(range(len(by_agent)))
    gantt.set_yticklabels(sorted(by_agent), fontsize=5)
    gantt.set_title("shifts (colour = skill, white = break)")
    save_figure(fig, path)
