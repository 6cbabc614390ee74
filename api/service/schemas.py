"""Pydantic request/response models: the JSON shapes of the HTTP API (used at the edge only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from dispatcher.domain import DEFAULT_HANDLE_S

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("timestamp must lie between 1970-01-01 and 9000-01-01 (UTC)")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
"""A timezone-aware time in a range every part of the service can store and print."""

NAME_PATTERN = r"^[^\s:][^:]*$"
"""Sources, skills and agent ids: non-empty, no colon (it separates Redis key parts)."""


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    skill: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    urgent: bool = False
    important: bool = False
    due_at: Timestamp | None = None
    expected_handle_s: float = Field(default=DEFAULT_HANDLE_S, gt=0, le=604_800)
    payload: dict[str, Any] = Field(default_factory=dict)
    customer_id: str | None = Field(default=None, max_length=200)


class TaskPatch(BaseModel):
    urgent: bool | None = None
    important: bool | None = None
    due_at: Timestamp | None = None


class TaskOut(BaseModel):
    id: str
    external_id: str
    source: str
    skill: str
    urgent: bool
    important: bool
    quadrant: str
    status: Literal["queued", "offered", "assigned", "completed", "cancelled"]
    created_at: str | None
    due_at: str | None = Field(description="first-response due time: the SLA target or the task's deadline")
    deadline: str | None
    resolve_by: str | None
    expected_handle_s: float
    payload: dict[str, Any]
    customer_id: str | None
    agent_id: str | None
    offer_id: str | None
    previous_agent: str | None
    escalated: bool
    accepted_at: str | None
    completed_at: str | None
    cancelled_at: str | None
    outcome: dict[str, Any] | None
    satisfaction: int | None


class ReasonBody(BaseModel):
    reason: str = Field(default="", max_length=1000)


class TransferBody(BaseModel):
    """Back to the queue (optionally of another ``skill``), or straight to a named ``agent_id``."""

    skill: str | None = Field(default=None, min_length=1, max_length=100, pattern=NAME_PATTERN)
    agent_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=NAME_PATTERN)
    reason: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def one_target(self) -> TransferBody:
        if self.skill is not None and self.agent_id is not None:
            raise ValueError("give skill (back to a queue) or agent_id (to a person), not both")
        return self


class CompleteBody(BaseModel):
    resolution_code: str | None = Field(default=None, max_length=200)
    first_contact_resolved: bool | None = None
    complaint: bool | None = None


class SatisfactionBody(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class HistoryEvent(BaseModel):
    id: str
    task_id: str
    event: str
    actor: str
    agent_id: str | None
    skill: str
    at: str | None
    at_ms: int
    data: Any = None


class AgentPut(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    skills: dict[str, int] = Field(min_length=1)
    primary_skills: list[str] = Field(default_factory=list)
    capacity: int = Field(default=1, ge=1, le=100)
    team: str = Field(default="", max_length=200)
    supervisor: str = Field(default="", max_length=200)


class AgentOut(BaseModel):
    id: str
    name: str
    skills: dict[str, int]
    primary_skills: list[str]
    capacity: int
    team: str
    supervisor: str
    status: str
    status_since: str | None
    active_tasks: int
    load: float
    misses: int
    handled_s: float
    tasks: list[str]


class StatusPut(BaseModel):
    status: Literal["available", "break", "offline"]


class OfferOut(BaseModel):
    offer_id: str
    task: TaskOut
    expires_at: str | None


class AlertOut(BaseModel):
    id: str
    task_id: str
    level: str
    kind: str
    owner: str
    message: str
    skill: str
    agent_id: str | None
    raised_at: str | None


class KeyCreate(BaseModel):
    role: Literal["integration", "agent", "supervisor"]
    agent_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)


class KeyOut(BaseModel):
    key: str = Field(description="shown once; only its SHA-256 is stored")
    role: str
    agent_id: str | None


class Problem(BaseModel):
    error: str
    detail: str
    message: str
    field: str | None = None
