"""Targets, improvement plans and proficiency changes as JSON, and the moment/pair options that name them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from typing import Any

from dispatcher.errors import InvalidInput
from dispatcher.feedback import ProficiencyChange
from dispatcher.targets import Action, ImprovementPlan, Target


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(value: Any, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"not an ISO 8601 timestamp: {value!r}", field=field) from exc
    if parsed.tzinfo is None:
        raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=field)
    return parsed


def parse_moment(value: str | None, field: str, *, end_of_day: bool = False) -> datetime | None:
    """ISO timestamp with offset, or a plain date (start of day UTC, or end of day for deadlines)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(23, 59, 59) if end_of_day else time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"not an ISO 8601 date or timestamp: {value!r}", field=field) from exc
    if moment.tzinfo is None:
        raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=field)
    return moment


def parse_pairs(text: str | None, field: str) -> dict[str, float]:
    """``sla:0.3,fcr:0.2`` (or ``=``) -> {"sla": 0.3, "fcr": 0.2}."""
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, number = part.replace("=", ":").partition(":")
        try:
            if not sep:
                raise ValueError(part)
            out[name.strip()] = float(number)
        except ValueError as exc:
            raise InvalidInput(f"expected name:number pairs separated by commas, got {part!r}", field=field) from exc
    return out


def target_to_dict(target: Target) -> dict[str, Any]:
    return {"id": target.id, "kpi": target.kpi, "level": target.level, "scope": target.scope,
            "value": target.value, "owner": target.owner, "deadline": iso_or_none(target.deadline),
            "start": iso_or_none(target.start), "baseline": target.baseline, "description": target.description}


def target_from_dict(data: Mapping[str, Any]) -> Target:
    return Target(
        id=str(data["id"]), kpi=str(data["kpi"]), level=data["level"], scope=str(data["scope"]),
        value=float(data["value"]), owner=str(data["owner"]), deadline=_moment(data["deadline"], "deadline"),
        start=_moment(data["start"], "start") if data.get("start") else None,
        baseline=float(data["baseline"]) if data.get("baseline") is not None else None,
        description=str(data.get("description") or ""),
    )


def plan_to_dict(plan: ImprovementPlan) -> dict[str, Any]:
    return {"id": plan.id, "target_id": plan.target_id, "title": plan.title, "owner": plan.owner,
            "actions": [{"id": a.id, "description": a.description, "owner": a.owner, "due": iso_or_none(a.due),
                         "done_at": iso_or_none(a.done_at)} for a in plan.actions]}


def plan_from_dict(data: Mapping[str, Any]) -> ImprovementPlan:
    actions = tuple(
        Action(id=str(a["id"]), description=str(a["description"]), owner=str(a["owner"]),
               due=_moment(a["due"], "due"), done_at=_moment(a["done_at"], "done_at") if a.get("done_at") else None)
        for a in data.get("actions", ())
    )
    return ImprovementPlan(id=str(data["id"]), target_id=str(data["target_id"]), title=str(data["title"]),
                           owner=str(data["owner"]), actions=actions)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def change_to_dict(change: ProficiencyChange) -> dict[str, Any]:
    return {k: (_finite(v) if isinstance(v, float) else v) for k, v in asdict(change).items()}


def change_from_dict(data: Mapping[str, Any]) -> ProficiencyChange:
    values: dict[str, Any] = {k: (math.nan if v is None else v) for k, v in data.items()}
    return ProficiencyChange(**values)
