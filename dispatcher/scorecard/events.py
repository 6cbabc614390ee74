"""The canonical event log: event kinds, columns, validation (:func:`event_log_from_frame`), the agent-time table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
import pandas as pd

from dispatcher.domain import Quadrant, SlaPolicy
from dispatcher.errors import InvalidInput, NotFound
from dispatcher.scorecard._cells import _booleans, _fail, _numbers, _text, _timestamps


class EventKind(StrEnum):
    CREATED = "created"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"
    REOPENED = "reopened"
    SATISFACTION = "satisfaction"


EVENT_COLUMNS: tuple[str, ...] = (
    "task_id", "event", "at", "queue", "quadrant", "agent_id", "team", "created_at", "response_due_at",
    "handle_s", "resolution_code", "first_contact_resolved", "complaint", "satisfaction",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("task_id", "event", "at")
AGENT_TIME_COLUMNS: tuple[str, ...] = ("agent_id", "scheduled_s", "on_shift_s")


@dataclass(frozen=True, slots=True)
class EventLog:
    """A validated event log: typed columns (``EVENT_COLUMNS`` + ``row``), sorted by ``at``.

    ``row`` is the source row number of each event (CSV line numbers when read from a file).
    Build it with :func:`event_log_from_frame`; treat ``frame`` as read-only.
    """

    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def task_ids(self) -> frozenset[str]:
        return frozenset(self.frame["task_id"].unique())

    @property
    def end(self) -> pd.Timestamp | None:
        return None if self.frame.empty else pd.Timestamp(self.frame["at"].max())


def event_log_from_frame(
    frame: pd.DataFrame,
    *,
    sla_policy: SlaPolicy | None = None,
    row_offset: int = 2,
    drop_orphans: bool = False,
) -> EventLog:
    """Validate a raw event table (strings or typed columns) into an :class:`EventLog`.

    Tolerant of extra columns (kept) and missing optional ones; strict on values: errors name the
    row (``position + row_offset``, CSV line numbers by default) and the column. Events of a task
    with no ``created`` event are rejected (a satisfaction for an unknown task is :class:`NotFound`)
    unless ``drop_orphans``.
    """
    policy = sla_policy or SlaPolicy()
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"missing columns {missing}; found {list(frame.columns)}", field=missing[0], row=1)
    raw = frame.reset_index(drop=True)
    n = len(raw)
    empty = pd.Series([""] * n, dtype=object)
    col = {c: (raw[c] if c in raw.columns else empty) for c in EVENT_COLUMNS}
    out = pd.DataFrame(index=raw.index)
    for extra in raw.columns:
        if extra not in EVENT_COLUMNS:
            out[extra] = raw[extra]
    out["row"] = np.arange(n, dtype=np.int64) + row_offset

    out["task_id"] = _text(col["task_id"])
    blank = out["task_id"] == ""
    if blank.any():
        raise _fail("task_id must not be empty", column="task_id", position=int(np.flatnonzero(blank)[0]),
                    row_offset=row_offset)
    events = _text(col["event"]).str.lower()
    known = events.isin([k.value for k in EventKind])
    if not known.all():
        pos = int(np.flatnonzero(~known.to_numpy())[0])
        raise _fail(f"unknown event {events.iloc[pos]!r}; expected one of {[k.value for k in EventKind]}",
                    column="event", position=pos, row_offset=row_offset)
    out["event"] = events
    is_created = (events == EventKind.CREATED).to_numpy()
    is_completed = (events == EventKind.COMPLETED).to_numpy()
    is_accepted = (events == EventKind.ACCEPTED).to_numpy()
    is_satisfaction = (events == EventKind.SATISFACTION).to_numpy()
    everywhere = pd.Series(True, index=raw.index)
    nowhere = pd.Series(False, index=raw.index)
    out["at"] = _timestamps(col["at"], "at", row_offset=row_offset, required=everywhere)

    out["queue"] = _text(col["queue"])
    no_queue = is_created & (out["queue"] == "").to_numpy()
    if no_queue.any():
        raise _fail("queue is required on 'created' events", column="queue",
                    position=int(np.flatnonzero(no_queue)[0]), row_offset=row_offset)
    quadrant = _text(col["quadrant"]).str.upper()
    bad_quadrant = ((quadrant != "") | is_created) & ~quadrant.isin([q.value for q in Quadrant])
    if bad_quadrant.any():
        pos = int(np.flatnonzero(bad_quadrant.to_numpy())[0])
        raise _fail(f"quadrant must be Q1..Q4 on 'created' events, got {quadrant.iloc[pos]!r}",
                    column="quadrant", position=pos, row_offset=row_offset)
    out["quadrant"] = quadrant
    out["agent_id"] = _text(col["agent_id"])
    no_agent = (is_completed | is_accepted) & (out["agent_id"] == "").to_numpy()
    if no_agent.any():
        pos = int(np.flatnonzero(no_agent)[0])
        raise _fail(f"agent_id is required on '{events.iloc[pos]}' events", column="agent_id", position=pos,
                    row_offset=row_offset)
    out["team"] = _text(col["team"])
    created_at = _timestamps(col["created_at"], "created_at", row_offset=row_offset, required=nowhere)
    out["created_at"] = created_at.where(created_at.notna() | ~is_created, out["at"])
    due = _timestamps(col["response_due_at"], "response_due_at", row_offset=row_offset, required=nowhere)
    response_s = out["quadrant"].map({q.value: policy.target(q).response_s for q in Quadrant}).astype(float)
    policy_due = out["created_at"] + pd.to_timedelta(response_s, unit="s")
    out["response_due_at"] = due.where(due.notna() | ~is_created, policy_due)
    out["handle_s"] = _numbers(col["handle_s"], "handle_s", row_offset=row_offset,
                               required=pd.Series(is_completed), low=0.0, high=7 * 86400.0)
    out["resolution_code"] = _text(col["resolution_code"])
    out["first_contact_resolved"] = _booleans(col["first_contact_resolved"], "first_contact_resolved",
                                              row_offset=row_offset)
    out["complaint"] = _booleans(col["complaint"], "complaint", row_offset=row_offset)
    score = _numbers(col["satisfaction"], "satisfaction", row_offset=row_offset,
                     required=pd.Series(is_satisfaction), low=1.0, high=5.0)
    fractional = score.notna() & (score != score.round())
    if fractional.any():
        pos = int(np.flatnonzero(fractional.to_numpy())[0])
        raise _fail("satisfaction must be a whole number 1..5", column="satisfaction", position=pos,
                    row_offset=row_offset)
    out["satisfaction"] = score

    codes, _ = pd.factorize(out["task_id"])
    creations = np.bincount(codes[is_created], minlength=int(codes.max()) + 1 if len(codes) else 0)
    created_rows = np.flatnonzero(is_created)
    again = pd.Series(codes[created_rows]).duplicated().to_numpy(dtype=bool)
    if again.any():
        pos = int(created_rows[np.flatnonzero(again)[0]])
        raise _fail(f"task {out.at[pos, 'task_id']!r} is created twice", column="event", position=pos,
                    row_offset=row_offset)
    orphan = pd.Series(creations[codes] == 0, index=out.index) if len(codes) else pd.Series(False, index=out.index)
    if orphan.any():
        if drop_orphans:
            out = out.loc[~orphan]
        else:
            pos = int(np.flatnonzero(orphan.to_numpy())[0])
            task = out.at[pos, "task_id"]
            error = NotFound if out.at[pos, "event"] == EventKind.SATISFACTION else InvalidInput
            raise error(f"{out.at[pos, 'event']!s} event for unknown task {task!r} (no 'created' event)",
                        field="task_id", row=pos + row_offset)
        codes = codes[~orphan.to_numpy()]
    created_at_of = np.full(int(codes.max()) + 1 if len(codes) else 0, np.datetime64("NaT", "ns"))
    created_at_of[codes[is_created[out.index]]] = out.loc[is_created[out.index], "created_at"].to_numpy(
        dtype="datetime64[ns]")
    early = out["at"].to_numpy(dtype="datetime64[ns]") < created_at_of[codes]
    if early.any():
        pos = int(out.index[np.flatnonzero(early)[0]])
        raise _fail(f"{out.at[pos, 'event']!s} event of task {out.at[pos, 'task_id']!r} is before its creation",
                    column="at", position=pos, row_offset=row_offset)
    ordered = out.sort_values(["at", "row"], kind="stable").reset_index(drop=True)
    return EventLog(frame=ordered)


def append_satisfaction(log: EventLog, task_id: str, score: int, at: datetime) -> EventLog:
    """A new log with one satisfaction event added; NotFound (and ``log`` unchanged) for an unknown task."""
    if task_id not in log.task_ids:
        raise NotFound(f"no task {task_id!r} in the event log", field="task_id")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput(f"satisfaction must be an integer 1..5, got {score!r}", field="satisfaction")
    if at.tzinfo is None:
        raise InvalidInput("timestamp must be timezone-aware", field="at")
    frame = log.frame
    added = frame.iloc[[0]].copy()
    for column in added.columns:
        dtype = added[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            added[column] = pd.Series(pd.NaT, index=added.index, dtype=dtype)
        elif pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.BooleanDtype):
            added[column] = pd.Series(pd.NA, index=added.index, dtype="boolean")
        elif pd.api.types.is_float_dtype(dtype):
            added[column] = np.nan
        elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            added[column] = ""
    added["task_id"] = task_id
    added["event"] = EventKind.SATISFACTION.value
    added["at"] = pd.Series(pd.Timestamp(at).tz_convert("UTC"), index=added.index, dtype=frame["at"].dtype)
    added["satisfaction"] = float(score)
    added["row"] = int(frame["row"].max()) + 1
    merged = pd.concat([frame, added], ignore_index=True)
    return EventLog(frame=merged.sort_values(["at", "row"], kind="stable").reset_index(drop=True))


def agent_time_from_frame(frame: pd.DataFrame, *, row_offset: int = 2) -> pd.DataFrame:
    """Validate the agent-time table (``agent_id, scheduled_s, on_shift_s``), summed per agent."""
    missing = [c for c in AGENT_TIME_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"missing columns {missing}; found {list(frame.columns)}", field=missing[0], row=1)
    raw = frame.reset_index(drop=True)
    ids = _text(raw["agent_id"])
    blank = ids == ""
    if blank.any():
        raise _fail("agent_id must not be empty", column="agent_id", position=int(np.flatnonzero(blank)[0]),
                    row_offset=row_offset)
    everywhere = pd.Series(True, index=raw.index)
    table = pd.DataFrame({
        "agent_id": ids,
        "scheduled_s": _numbers(raw["scheduled_s"], "scheduled_s", row_offset=row_offset, required=everywhere,
                                low=0.0, high=1e9),
        "on_shift_s": _numbers(raw["on_shift_s"], "on_shift_s", row_offset=row_offset, required=everywhere,
                               low=0.0, high=1e9),
    })
    return table.groupby("agent_id", sort=True).sum()
