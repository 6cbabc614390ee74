"""Published plan bodies: forecast.csv and roster.csv text checked against the live agents, grouped by day.

A publish is all or nothing, so everything is checked here before anything is stored: every row
well formed (the forecast and roster readers' own checks), every roster agent known, every forecast
queue a skill some agent holds, no agent with two overlapping shifts. Errors name the row (header = row 1).
Days are local dates in the site timezone: a forecast period's start day, a shift's start day.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from api.formats.csv_rows import csv_rows
from api.formats.roster import ROSTER_COLUMNS, format_skill_plan, roster_shifts
from api.formats.staffing import validate_forecast
from dispatcher.domain import Agent, Interval, Shift, SkillBlock
from dispatcher.errors import DispatchwiseError, InvalidInput

FORECAST_SOURCE = "forecast.csv body"
ROSTER_SOURCE = "roster.csv body"


@dataclass(frozen=True, slots=True)
class DayForecast:
    """One queue's forecast on one day: period starts (ISO text as published and epoch ms), volume, AHT."""

    period_start: list[str] = field(default_factory=list)
    start_ms: list[int] = field(default_factory=list)
    volume: list[float] = field(default_factory=list)
    aht_s: list[float | None] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"period_start": self.period_start, "start_ms": self.start_ms, "volume": self.volume,
                "aht_s": self.aht_s}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DayForecast:
        return cls(list(data["period_start"]), [int(v) for v in data["start_ms"]],
                   [float(v) for v in data["volume"]], list(data["aht_s"]))


@dataclass(frozen=True, slots=True)
class PlanBody:
    """A checked publish: per local day, per key (queue or agent id), the JSON-ready records to store."""

    kind: str
    rows: int
    days: dict[date, dict[str, Any]]

    @property
    def first(self) -> date:
        return min(self.days)

    @property
    def last(self) -> date:
        return max(self.days)


def _text_error(exc: DispatchwiseError, source: str) -> InvalidInput:
    return InvalidInput(exc.message, file=source, row=exc.row, field=exc.field)


def parse_forecast(text: str, known_skills: Iterable[str], tz: tzinfo) -> PlanBody:
    """forecast.csv text (``queue,period_start,volume,aht_s[,...]``) → volumes per day and queue."""
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={"queue": str, "period_start": str}, keep_default_na=False,
                            na_values=[""], skipinitialspace=True)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput(f"cannot read CSV: {exc}", file=FORECAST_SOURCE) from exc
    try:
        checked = validate_forecast(frame)
    except DispatchwiseError as exc:
        raise _text_error(exc, FORECAST_SOURCE) from exc
    skills = set(known_skills)
    days: dict[date, dict[str, Any]] = {}
    for i, (queue, text_start, start, volume, aht) in enumerate(zip(
            checked["queue"], checked["period_start"], checked["start"], checked["volume"], checked["aht_s"],
            strict=True), start=2):
        if queue not in skills:
            raise InvalidInput(f"queue {queue!r} is a skill no agent holds (known: {sorted(skills)})",
                               file=FORECAST_SOURCE, row=i, field="queue")
        moment = start.to_pydatetime()
        day = days.setdefault(moment.astimezone(tz).date(), {})
        part: DayForecast = day.setdefault(queue, DayForecast())
        part.period_start.append(text_start)
        part.start_ms.append(int(moment.timestamp() * 1000))
        part.volume.append(float(volume))
        part.aht_s.append(None if pd.isna(aht) else float(aht))
    return PlanBody("forecast", len(checked), {d: {q: f.to_json() for q, f in qs.items()} for d, qs in days.items()})


def shift_to_json(shift: Shift) -> dict[str, Any]:
    return {
        "start": shift.start.isoformat(), "end": shift.end.isoformat(),
        "breaks": [[b.start.isoformat(), b.end.isoformat()] for b in shift.breaks],
        "plan": [[b.skill, b.start.isoformat(), b.end.isoformat()] for b in shift.skill_plan],
    }


def shift_from_json(agent_id: str, data: Mapping[str, Any]) -> Shift:
    moment = datetime.fromisoformat
    return Shift(
        agent_id, moment(data["start"]), moment(data["end"]),
        tuple(Interval(moment(a), moment(b)) for a, b in data["breaks"]),
        tuple(SkillBlock(moment(a), moment(b), skill) for skill, a, b in data["plan"]),
    )


def shift_row(shift: Shift) -> dict[str, str]:
    """A shift in the roster.csv columns."""
    def iso(moment: datetime) -> str:
        return moment.isoformat(timespec="seconds")

    return dict(zip(ROSTER_COLUMNS, [
        shift.agent_id, shift.start.date().isoformat(), iso(shift.start), iso(shift.end),
        ";".join(f"{iso(b.start)}/{iso(b.end)}" for b in shift.breaks),
        format_skill_plan(shift) if shift.skill_plan else "",
    ], strict=True))


def parse_roster(text: str, agents: Iterable[Agent], tz: tzinfo) -> PlanBody:
    """roster.csv text → shifts per day and agent; unknown agents and overlapping shifts name their row."""
    rows = csv_rows(io.StringIO(text), ROSTER_COLUMNS[:4], ROSTER_SOURCE)
    if not rows:
        raise InvalidInput("no shifts in the roster", file=ROSTER_SOURCE, row=2)
    shifts = roster_shifts(rows, agents, tz, Path(ROSTER_SOURCE))
    by_agent: dict[str, list[tuple[int, Shift]]] = {}
    for line_no, shift in shifts:
        by_agent.setdefault(shift.agent_id, []).append((line_no, shift))
    for agent_id, own in by_agent.items():
        own.sort(key=lambda item: item[1].start)
        for (prev_row, prev), (line_no, shift) in pairwise(own):
            if shift.start < prev.end:
                raise InvalidInput(
                    f"agent {agent_id}: shift {shift.start.isoformat()}–{shift.end.isoformat()} overlaps "
                    f"the shift of row {prev_row} ({prev.start.isoformat()}–{prev.end.isoformat()})",
                    file=ROSTER_SOURCE, row=max(line_no, prev_row), field="start",
                )
    days: dict[date, dict[str, Any]] = {}
    for _, shift in shifts:
        day = days.setdefault(shift.start.astimezone(tz).date(), {})
        day.setdefault(shift.agent_id, []).append(shift_to_json(shift))
    return PlanBody("roster", len(shifts), days)
