"""Stored Redis hashes decoded into the core's types: the one place that knows the agent and task records' fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

from dispatcher.domain import DEFAULT_HANDLE_S, Agent, Shift, Task
from dispatcher.policy import AgentState


def datetime_from_ms(ms: str | int) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def handle_s_from_hash(h: Mapping[str, str]) -> float:
    return float(h.get("expected_handle_s") or DEFAULT_HANDLE_S)


def agent_from_hash(h: Mapping[str, str]) -> Agent:
    """An :class:`Agent` from the stored agent hash (skills and primary skills are JSON)."""
    return Agent(
        id=h["id"], name=h.get("name", "") or h["id"], skills=orjson.loads(h.get("skills") or "{}"),
        primary_skills=frozenset(orjson.loads(h.get("primary") or "[]")), capacity=int(h.get("capacity") or 1),
        team=h.get("team", ""), supervisor=h.get("supervisor", ""),
    )


def agent_state_from_hash(h: Mapping[str, str], shift: Shift | None = None) -> AgentState:
    """The dispatcher's view of a stored agent: its profile, availability, load, work done today, since
    when it is free (its last status change or finished task) and, when a roster is published, its shift."""
    free_ms = max(int(h.get("status_ms") or 0), int(h.get("free_ms") or 0))
    return AgentState(
        agent=agent_from_hash(h), available=h.get("status") == "available",
        active_tasks=max(0, int(h.get("active") or 0)), handled_today_s=max(0.0, float(h.get("handled_s") or 0.0)),
        shift=shift, idle_since=datetime_from_ms(free_ms) if free_ms else None,
    )


def task_from_hash(h: Mapping[str, str]) -> Task:
    """A :class:`Task` from the stored task hash (times in epoch ms)."""
    created = datetime_from_ms(h["created_ms"])
    deadline = max(datetime_from_ms(h["deadline_ms"]), created) if h.get("deadline_ms") else None
    return Task(
        id=h["id"], skill=h["skill"], urgent=h.get("urgent") == "1", important=h.get("important") == "1",
        created_at=created, due_at=deadline, expected_handle_s=handle_s_from_hash(h),
        source=h.get("source", ""), customer_id=h.get("customer_id") or None,
        previous_agent=h.get("previous_agent") or None,
    )
