"""agents.csv: ``id,name,skills,primary_skills,capacity,max_hours_week,min_hours_week,max_days_week,
min_rest_hours,max_consecutive_days,team,supervisor`` where ``skills`` is ``billing:4;tech:2`` and
``primary_skills`` is ``billing`` (several separated by ``;``). Errors name file, row and column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from api.formats.csv_rows import parse_cell, read_rows, write_rows
from dispatcher.domain import Agent, Contract
from dispatcher.errors import InvalidInput

T = TypeVar("T")

AGENT_COLUMNS = [
    "id", "name", "skills", "primary_skills", "capacity", "max_hours_week", "min_hours_week",
    "max_days_week", "min_rest_hours", "max_consecutive_days", "team", "supervisor",
]


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

        no_skills: dict[str, int] = {}
        skills = cell("skills", parse_skills, no_skills)
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


def agent_row(a: Agent) -> list[object]:
    c = a.contract
    return [
        a.id, a.name, format_skills(dict(a.skills)), ";".join(sorted(a.primary_skills)), a.capacity,
        c.max_hours_week, c.min_hours_week, c.max_days_week, c.min_rest_hours, c.max_consecutive_days,
        a.team, a.supervisor,
    ]


def write_agents(path: Path, agents: Iterable[Agent]) -> None:
    write_rows(path, AGENT_COLUMNS, (agent_row(a) for a in agents))


