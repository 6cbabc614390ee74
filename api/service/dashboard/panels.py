"""The dashboard's file-fed panels: schemas of the JSON files the demo writes into ``<data_dir>/report/``.

Forecast, roster and simulation results are not live state, so they reach the dashboard as four small
JSON files. Build them with the models below and :func:`write_panel`; the dashboard reads them with
:func:`read_panel` and shows "no data yet" when a file is absent. Times are ISO 8601 with an offset.

``forecast_today.json`` — forecast vs actual volume of today, one shared time axis::

    {"date": "2026-11-23", "timezone": "America/New_York", "period_minutes": 15,
     "period_start": ["2026-11-23T07:00:00-05:00", ...],
     "queues": {"billing": {"forecast": [12.5, ...], "actual": [11, null, ...],
                            "lower": [9.1, ...], "upper": [16.0, ...],
                            "reforecast": [null, ..., 14.2, ...]}}}

  ``actual`` holds ``null`` for periods not yet observed; ``lower``/``upper`` (an 80 % interval) and
  ``reforecast`` (the rest of the day re-estimated from actual so far, ``null`` where actual is known)
  may be omitted. Every array has the length of ``period_start``.

``coverage_today.json`` — roster coverage vs requirement (agents on the floor per period)::

    {"date": "2026-11-23", "timezone": "America/New_York", "period_minutes": 15,
     "period_start": [...], "required": [14, ...], "scheduled": [15, ...]}

``shifts_today.json`` — today's shifts, drawn as a Gantt chart::

    {"date": "2026-11-23", "timezone": "America/New_York",
     "shifts": [{"agent_id": "a001", "agent_name": "Ada", "start": "...T07:00:00-05:00",
                 "end": "...T15:30:00-05:00", "breaks": [{"start": "...", "end": "..."}],
                 "skills": ["billing"],
                 "adherence": {"scheduled": "work", "status": "offline", "in_adherence": false,
                               "out_since": "...T09:12:00-05:00"}}]}

  ``adherence`` (optional) is the agent's real-time adherence now, as ``GET /v1/adherence`` gives it.

``simulation.json`` — what-if results, one row per scenario (fractions are 0..1, times in seconds)::

    {"generated_at": "...", "replications": 20, "baseline": "base",
     "scenarios": [{"name": "base", "service_level": 0.82, "asa_s": 14.2, "abandonment": 0.03,
                    "occupancy": 0.86, "ci95": {"service_level": [0.80, 0.84]}}]}

Unknown keys are rejected so that a typo in the writer shows up as a clear error, not an empty chart.
"""

from __future__ import annotations

import json
import math
import os
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from dispatcher.errors import InvalidInput

PanelName = Literal["forecast_today", "coverage_today", "shifts_today", "simulation"]
PANEL_NAMES: tuple[PanelName, ...] = ("forecast_today", "coverage_today", "shifts_today", "simulation")


def _as_list(value: Any) -> Any:
    """Accept numpy arrays and pandas series/indexes as well as lists; NaN becomes null."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [None if isinstance(v, float) and math.isnan(v) else v for v in value]
    return value


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must carry a UTC offset, got {value.isoformat()}")
    return value


Numbers = Annotated[list[Annotated[float, Field(ge=0)]], BeforeValidator(_as_list)]
MaybeNumbers = Annotated[list[Annotated[float, Field(ge=0)] | None], BeforeValidator(_as_list)]
Times = Annotated[list[datetime], BeforeValidator(_as_list)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TimeAxis(_Strict):
    date: date
    timezone: str = "UTC"
    period_minutes: int = Field(default=15, gt=0, le=1440)
    period_start: Times

    @model_validator(mode="after")
    def _axis_is_aware_and_increasing(self) -> _TimeAxis:
        for i, t in enumerate(self.period_start):
            _aware(t, f"period_start[{i}]")
            if i and t <= self.period_start[i - 1]:
                raise ValueError(f"period_start must increase: item {i} ({t.isoformat()}) is not after item {i - 1}")
        return self

    def _check_length(self, name: str, values: list[Any]) -> None:
        if len(values) != len(self.period_start):
            raise ValueError(f"{name} has {len(values)} values but period_start has {len(self.period_start)}")


class QueueSeries(_Strict):
    forecast: Numbers
    actual: MaybeNumbers | None = None
    lower: Numbers | None = None
    upper: Numbers | None = None
    reforecast: MaybeNumbers | None = None


class ForecastToday(_TimeAxis):
    """Forecast vs actual contacts per period and queue for today."""

    queues: dict[str, QueueSeries]

    @model_validator(mode="after")
    def _series_match_axis(self) -> ForecastToday:
        for queue, series in self.queues.items():
            for name in ("forecast", "actual", "lower", "upper", "reforecast"):
                values = getattr(series, name)
                if values is not None:
                    self._check_length(f"queues.{queue}.{name}", values)
        return self


class CoverageToday(_TimeAxis):
    """Agents required (staffing) vs scheduled (roster) per period for today."""

    required: Numbers
    scheduled: Numbers

    @model_validator(mode="after")
    def _series_match_axis(self) -> CoverageToday:
        self._check_length("required", self.required)
        self._check_length("scheduled", self.scheduled)
        return self


class TimeSpan(_Strict):
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> TimeSpan:
        _aware(self.start, "start")
        _aware(self.end, "end")
        if self.end <= self.start:
            raise ValueError(f"end ({self.end.isoformat()}) must be after start ({self.start.isoformat()})")
        return self


class BarAdherence(_Strict):
    """The agent's real-time adherence now (``GET /v1/adherence``)."""

    scheduled: Literal["work", "break", "off"]
    status: Literal["available", "busy", "break", "offline"]
    in_adherence: bool
    out_since: datetime | None = None


class ShiftBar(TimeSpan):
    agent_id: str = Field(min_length=1)
    agent_name: str = ""
    breaks: list[TimeSpan] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    adherence: BarAdherence | None = None


class ShiftsToday(_Strict):
    """Today's shifts, one bar per agent shift, drawn as a Gantt chart."""

    date: date
    timezone: str = "UTC"
    shifts: list[ShiftBar]


class ScenarioResult(_Strict):
    name: str = Field(min_length=1)
    service_level: Fraction | None
    """None: not simulated (missing is not zero)."""
    asa_s: float | None = Field(ge=0)
    abandonment: Fraction | None
    occupancy: Fraction | None
    ci95: dict[str, tuple[float, float]] = Field(default_factory=dict)


class SimulationResults(_Strict):
    """What-if simulation: KPIs per scenario, the first (or ``baseline``) being the reference."""

    generated_at: datetime | None = None
    replications: int | None = Field(default=None, ge=1)
    baseline: str | None = None
    scenarios: list[ScenarioResult]

    @model_validator(mode="after")
    def _baseline_exists(self) -> SimulationResults:
        if self.baseline is not None and self.baseline not in {s.name for s in self.scenarios}:
            raise ValueError(f"baseline {self.baseline!r} is not one of the scenarios")
        return self


PanelModel = ForecastToday | CoverageToday | ShiftsToday | SimulationResults
PANEL_MODELS: dict[PanelName, type[PanelModel]] = {
    "forecast_today": ForecastToday,
    "coverage_today": CoverageToday,
    "shifts_today": ShiftsToday,
    "simulation": SimulationResults,
}


def panel_path(report_dir: Path, name: PanelName) -> Path:
    return Path(report_dir) / f"{name}.json"


def _invalid(exc: ValidationError, file: Path) -> InvalidInput:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if "input" in first and not isinstance(first["input"], dict | list):
        message += f" (got {first['input']!r})"
    return InvalidInput(message, field=where or None, file=str(file))


def parse_panel(name: PanelName, payload: Any, *, file: Path | None = None) -> PanelModel:
    """Validate one panel's payload against its schema; InvalidInput names the file and field at fault."""
    if name not in PANEL_MODELS:
        raise InvalidInput(f"unknown dashboard panel {name!r}; known: {', '.join(PANEL_NAMES)}", field="name")
    try:
        return PANEL_MODELS[name].model_validate(payload)
    except ValidationError as exc:
        raise _invalid(exc, file or Path(f"{name}.json")) from None


def read_panel(report_dir: Path, name: PanelName) -> PanelModel | None:
    """The panel's validated content, or None when the demo has not written it yet."""
    path = panel_path(report_dir, name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}", file=str(path), row=exc.lineno
        ) from None
    return parse_panel(name, payload, file=path)


def write_panel(report_dir: Path, panel: PanelModel) -> Path:
    """Write one panel atomically (tmp file + rename) so the dashboard never reads half a file."""
    name = next(n for n, model in PANEL_MODELS.items() if isinstance(panel, model))
    path = panel_path(report_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(panel.model_dump_json(), encoding="utf-8")
    os.replace(tmp, path)
    return path
