"""Reading and writing the product's CSV files (agents, shift templates); errors name file, row, column.

Formats
- agents.csv: ``id,name,skills,primary_skills,capacity,max_hours_week,min_hours_week,max_days_week,
  min_rest_hours,max_consecutive_days,team,supervisor`` where ``skills`` is ``billing:4;tech:2`` and
  ``primary_skills`` is ``billing`` (several separated by ``;``).
- shift_templates.csv: ``name,start,length_min,breaks`` where ``breaks`` is
  ``15@90-150/paid;30@180-300`` (length @ earliest-latest start minute into the shift).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from datetime import time, timedelta
from pathlib import Path
from typing import TypeVar

from dispatcher.domain import Agent, BreakRule, Contract, ShiftTemplate
from dispatcher.errors import DispatchwiseError, InvalidInput

T = TypeVar("T")

AGENT_COLUMNS = [
    "id", "name", "skills", "primary_skills", "capacity", "max_hours_week", "min_hours_week",
    "max_days_week", "min_rest_hours", "max_consecutive_days", "team", "supervisor",
]
TEMPLATE_COLUMNS = ["name", "start", "length_min", "breaks"]


def read_rows(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return csv_rows(fh, required, str(path))
    except UnicodeDecodeError as exc:
        raise InvalidInput("not UTF-8 text", file=str(path)) from exc


def csv_rows(lines: Iterable[str], required: Iterable[str], source: str) -> list[dict[str, str]]:
    """CSV lines (a file or ``text.splitlines()``) → rows of stripped strings; errors name ``source`` and the row."""
    try:
        reader = csv.DictReader(lines)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise InvalidInput(f"missing columns {missing}; found {header}", file=source, row=1)
        rows = []
        for line_no, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                raise InvalidInput("wrong number of fields", file=source, row=line_no)
            rows.append({k: (v or "").strip() for k, v in row.items()})
        return rows
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}", file=source) from exc


def parse_cell(value: str, convert: Callable[[str], T], *, path: Path, row: int, column: str) -> T:
    try:
        return convert(value)
    except DispatchwiseError as exc:
        raise InvalidInput(exc.message, file=str(path), row=row, field=column) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"cannot read {value!r}: {exc}", file=str(path), row=row, field=column) from exc


def parse_skills(text: str) -> dict[str, int]:
    skills: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, level = part.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"expected skill:level, got {part!r}")
        skills[name.strip()] = int(level)
    if not skills:
        raise ValueError("no skills given")
    return skills


def format_skills(skills: dict[str, int]) -> str:
    return ";".join(f"{k}:{v}" for k, v in skills.items())


def read_agents(path: Path, known_skills: Iterable[str] | None = None) -> list[Agent]:
    rows = read_rows(path, ["id", "skills"])
    known = set(known_skills) if known_skills is not None else None
    agents: list[Agent] = []
    seen: set[str] = set()
    for line_no, row in enumerate(rows, start=2):
        def cell(column: str, convert: Callable[[str], T], default: T, row: dict[str, str] = row,
                 line_no: int = line_no) -> T:
            raw = row.get(column, "")
            return default if raw == "" else parse_cell(raw, convert, path=path, row=line_no, column=column)

        skills = cell("skills", parse_skills, {})
        if known is not None:
            unknown = sorted(set(skills) - known)
            if unknown:
                raise InvalidInput(f"unknown skills {unknown}", file=str(path), row=line_no, field="skills")
        base = Contract()
        try:
            contract = Contract(
                max_hours_week=cell("max_hours_week", float, base.max_hours_week),
                min_hours_week=cell("min_hours_week", float, base.min_hours_week),
                max_days_week=cell("max_days_week", int, base.max_days_week),
                min_rest_hours=cell("min_rest_hours", float, base.min_rest_hours),
                max_consecutive_days=cell("max_consecutive_days", int, base.max_consecutive_days),
            )
            agent = Agent(
                id=row["id"],
                name=row.get("name") or row["id"],
                skills=skills,
                primary_skills=frozenset(filter(None, (s.strip() for s in row.get("primary_skills", "").split(";")))),
                capacity=cell("capacity", int, 1),
                contract=contract,
                team=row.get("team", ""),
                supervisor=row.get("supervisor", ""),
            )
        except InvalidInput as exc:
            if exc.file is not None:
                raise
            raise InvalidInput(exc.message, file=str(path), row=line_no, field=exc.field) from exc
        if agent.id in seen:
            raise InvalidInput(f"duplicate agent id {agent.id!r}", file=str(path), row=line_no, field="id")
        seen.add(agent.id)
        agents.append(agent)
    if not agents:
        raise InvalidInput("no agents", file=str(path))
    return agents


def write_agents(path: Path, agents: Iterable[Agent]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(AGENT_COLUMNS)
        for a in agents:
            c = a.contract
            writer.writerow([
                a.id, a.name, format_skills(dict(a.skills)), ";".join(sorted(a.primary_skills)), a.capacity,
                c.max_hours_week, c.min_hours_week, c.max_days_week, c.min_rest_hours,
                c.max_consecutive_days, a.team, a.supervisor,
            ])


def parse_breaks(text: str) -> tuple[BreakRule, ...]:
    rules = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        spec, _, flag = part.partition("/")
        length, sep, window = spec.partition("@")
        earliest, sep2, latest = window.partition("-")
        if not sep or not sep2:
            raise ValueError(f"expected LEN@EARLIEST-LATEST[/paid], got {part!r}")
        rules.append(BreakRule(int(length), int(earliest), int(latest), paid=flag.strip().lower() == "paid"))
    return tuple(rules)


def format_breaks(rules: Iterable[BreakRule]) -> str:
    return ";".join(
        f"{r.length_min}@{r.earliest_start_min}-{r.latest_start_min}{'/paid' if r.paid else ''}" for r in rules
    )


def read_templates(path: Path) -> list[ShiftTemplate]:
    rows = read_rows(path, TEMPLATE_COLUMNS[:3])
    templates = []
    for line_no, row in enumerate(rows, start=2):
        start = parse_cell(row["start"], time.fromisoformat, path=path, row=line_no, column="start")
        length = parse_cell(row["length_min"], lambda v: timedelta(minutes=float(v)), path=path, row=line_no,
                            column="length_min")
        breaks = parse_cell(row.get("breaks", ""), parse_breaks, path=path, row=line_no, column="breaks")
        try:
            templates.append(ShiftTemplate(row["name"], start, length, breaks))
        except InvalidInput as exc:
            raise InvalidInput(exc.message, file=str(path), row=line_no, field=exc.field) from exc
    if not templates:
        raise InvalidInput("no shift templates", file=str(path))
    return templates


def write_templates(path: Path, templates: Iterable[ShiftTemplate]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(TEMPLATE_COLUMNS)
        for t in templates:
            writer.writerow([t.name, t.start.strftime("%H:%M"), int(t.length.total_seconds() // 60),
                             format_breaks(t.breaks)])
