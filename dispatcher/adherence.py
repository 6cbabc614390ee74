"""Real-time schedule adherence: what the roster says an agent should be doing now, and whether they are.

Pure: shifts and a live status in, a verdict out. ``scheduled_state`` reads the roster (work, break or
off, and since when); ``adherence`` compares it with the live status. An agent is in adherence when
working (available or holding tasks) during scheduled work, and not working (on break or offline)
during a scheduled break or time off. Out of adherence counts from the later of the status change and
the schedule change, so a status held across a break start turns out of adherence at the break start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dispatcher.domain import Shift, require_aware

Scheduled = Literal["work", "break", "off"]
LiveStatus = Literal["available", "busy", "break", "offline"]

WORKING: frozenset[str] = frozenset({"available", "busy"})


@dataclass(frozen=True, slots=True)
class ScheduledState:
    state: Scheduled
    since: datetime | None
    """When the roster last changed state (shift start, break start or end, shift end); None if unknown."""
    shift: Shift | None
    """The shift containing the moment, if any."""


@dataclass(frozen=True, slots=True)
class Adherence:
    scheduled: Scheduled
    status: LiveStatus
    in_adherence: bool
    out_since: datetime | None


def scheduled_state(shifts: Iterable[Shift], now: datetime) -> ScheduledState:
    """The roster's state for one agent at ``now`` from its shifts (any order, e.g. yesterday's and today's)."""
    require_aware(now, "now")
    last_change: datetime | None = None
    for shift in shifts:
        if shift.start <= now < shift.end:
            on_break = next((b for b in shift.breaks if b.start <= now < b.end), None)
            if on_break is not None:
                return ScheduledState("break", on_break.start, shift)
            ended = [b.end for b in shift.breaks if b.end <= now]
            return ScheduledState("work", max([shift.start, *ended]), shift)
        if shift.end <= now and (last_change is None or shift.end > last_change):
            last_change = shift.end
    return ScheduledState("off", last_change, None)


def live_status(status: str, active_tasks: int) -> LiveStatus:
    """The adherence view of a stored status: holding tasks is busy whatever the status says; a status
    the agent cannot work in (``unavailable`` after missed offers) counts as offline."""
    if active_tasks > 0:
        return "busy"
    if status == "available":
        return "available"
    if status == "break":
        return "break"
    return "offline"


def adherence(scheduled: ScheduledState, status: LiveStatus, status_since: datetime | None) -> Adherence:
    """Compare the roster's state with the live status; out of adherence since the later of both changes."""
    working = status in WORKING
    in_adherence = working if scheduled.state == "work" else not working
    if in_adherence:
        return Adherence(scheduled.state, status, True, None)
    moments = [m for m in (scheduled.since, status_since) if m is not None]
    return Adherence(scheduled.state, status, False, max(moments) if moments else None)
