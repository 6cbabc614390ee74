"""``POST /staffing/requirements``: forecast periods and targets in, required agents per period out.

Mounted under /v1 with supervisor auth by api/app.py. Pure computation; no Redis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.formats.staffing import build_policy, validate_forecast
from dispatcher.requirements import REQUIREMENT_COLUMNS, requirements_table

router = APIRouter(tags=["staffing"])


class PeriodIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    queue: str = Field(min_length=1, description="Queue (skill) name.")
    period_start: str = Field(description="ISO timestamp with offset.")
    volume: float = Field(description="Contacts expected in the period.")
    aht_s: float | None = Field(default=None, description="Mean handle time, seconds; may be empty when volume is 0.")


class StaffingRequest(BaseModel):
    """Targets use the policy-file keys, e.g. {"service_level": "80/20", "patience": "120s"}."""

    model_config = ConfigDict(extra="forbid")

    periods: list[PeriodIn] = Field(min_length=1, max_length=200_000)
    targets: dict[str, Any] = Field(default_factory=dict, description="Targets for every queue.")
    queues: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-queue overrides.")
    period_minutes: float | None = Field(default=None, gt=0, le=1440,
                                         description="Period length; default: spacing of period_start.")


class RequirementRow(BaseModel):
    queue: str
    period_start: str
    volume: float
    aht_s: float | None
    agents: int
    agents_scheduled: int
    service_level: float | None
    asa_s: float | None
    occupancy: float | None
    abandon_rate: float | None


class QueueTotals(BaseModel):
    queue: str
    model: str
    period_s: float
    peak_scheduled: int
    agent_hours: float
    scheduled_hours: float
    erlang_c_hours: float
    rounding_hours: float
    over_max: list[str]


class StaffingResponse(BaseModel):
    rows: list[RequirementRow]
    queues: list[QueueTotals]


def _number(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


@router.post("/staffing/requirements", response_model=StaffingResponse)
def staffing_requirements(body: StaffingRequest) -> StaffingResponse:
    """Required agents per queue and period (Erlang C, or Erlang A when a patience is given)."""
    policy = build_policy({"default": body.targets, "queues": body.queues}, default_label="targets")
    frame = validate_forecast(pd.DataFrame([p.model_dump() for p in body.periods]), first_row=0)
    period_s = body.period_minutes * 60.0 if body.period_minutes is not None else None
    table, summaries = requirements_table(frame, policy, period_s=period_s)
    rows = [
        RequirementRow(
            queue=str(r["queue"]), period_start=str(r["period_start"]), volume=float(r["volume"]),
            aht_s=_number(r["aht_s"]), agents=int(r["agents"]), agents_scheduled=int(r["agents_scheduled"]),
            service_level=_number(r["service_level"]), asa_s=_number(r["asa_s"]),
            occupancy=_number(r["occupancy"]), abandon_rate=_number(r["abandon_rate"]),
        )
        for r in table[REQUIREMENT_COLUMNS].to_dict("records")
    ]
    totals = [QueueTotals(queue=s.queue, model=s.model, period_s=s.period_s, peak_scheduled=s.peak_agents,
                          agent_hours=s.agent_hours, scheduled_hours=s.scheduled_hours,
                          erlang_c_hours=s.erlang_c_hours, rounding_hours=s.rounding_hours, over_max=s.over_max)
              for s in summaries]
    return StaffingResponse(rows=rows, queues=totals)
