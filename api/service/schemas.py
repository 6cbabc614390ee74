"""Pydantic request/response models: the JSON shapes of the HTTP API (used at the edge only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dispatcher.domain import DEFAULT_HANDLE_S
from dispatcher.errors import InvalidInput

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("timestamp must lie between 1970-01-01 and 9000-01-01 (UTC)")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
"""A timezone-aware time in a range every part of the service can store and print."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$"
"""Sources, skills, queues and agent ids: 1-64 characters, ASCII letters, digits and ``_ . @ + -``, starting
with a letter or digit. No colon (it separates Redis key parts), no spaces, quotes or line breaks (they
would need escaping in every log, metric label and file the name reaches)."""
NAME_MAX = 64

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)]
NAME_RE = re.compile(NAME_PATTERN)


def check_name(value: str, field: str) -> str:
    """The same rule for names that arrive in a path (agent ids)."""
    if not NAME_RE.fullmatch(value):
        raise InvalidInput(f"{field} must be 1-{NAME_MAX} characters of A-Z a-z 0-9 _ . @ + - starting with a "
                           f"letter or digit, got {value[:80]!r}", field=field)
    return value



class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    external_id: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    source: Name
    skill: Name
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

    skill: Name | None = None
    agent_id: Name | None = None
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
    skills: dict[Name, int] = Field(min_length=1)
    primary_skills: list[Name] = Field(default_factory=list)
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
    agent_id: Name | None = None
    expires: str | None = Field(default=None, max_length=20,
                                description="lifetime, e.g. 30d, 12h, 90m; none: no expiry")


class KeyInfo(BaseModel):
    id: str = Field(description="what GET/DELETE /v1/keys/{id} and `dispatchwise keys revoke` take")
    role: str
    agent_id: str | None
    created_at: str | None
    expires_at: str | None
    expired: bool = False


class KeyOut(BaseModel):
    id: str
    key: str = Field(description="shown once; only its SHA-256 is stored")
    role: str
    agent_id: str | None
    created_at: str | None = None
    expires_at: str | None = None


class Problem(BaseModel):
    error: str
    detail: str
    message: str
    field: str | None = None
