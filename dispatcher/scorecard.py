"""Scorecards per agent, team or queue from one canonical event log; composite scores shown with their parts.

The canonical event log is the one table both the live service (audit stream) and the simulator map
onto. One row per event, columns (extra columns are ignored, missing optional ones read as empty):

========================  ==========================================================================
``task_id``               required, non-empty
``event``                 required: created, offered, accepted, rejected, expired, completed,
                          abandoned, cancelled, reopened, satisfaction
``at``                    required, timezone-aware ISO 8601 (``Z`` or an offset)
``queue``                 required on ``created`` (the skill the task needs)
``quadrant``              Q1..Q4, required on ``created``
``agent_id``              required on ``accepted`` and ``completed``, may be empty elsewhere
``team``                  the agent's team; may be empty (then taken from ``agent_teams``)
``created_at``            optional on ``created`` (defaults to ``at``)
``response_due_at``       optional on ``created`` (defaults to the SLA policy's response target)
``handle_s``              required on ``completed``: seconds of handling, >= 0
``resolution_code``       optional text on ``completed``
``first_contact_resolved`` optional boolean on ``completed`` (empty: resolved unless reopened)
``complaint``             optional boolean on ``completed``
``satisfaction``          integer 1..5, required on ``satisfaction`` events
========================  ==========================================================================

Metric definitions (the cohort is the tasks *created* in ``[start, end)``):
volume handled = completions; ASA = first ``accepted`` minus ``created_at``; SLA attainment = answered
by ``response_due_at`` (abandoned or overdue-unanswered tasks are misses, cancelled and still-pending
ones are excluded); AHT = mean ``handle_s``; FCR = first completion resolved and not reopened within
``reopen_window_s``; abandonment = abandoned / (created - cancelled); satisfaction = share of scores
>= 4 with its sample size; occupancy = handled seconds / on-shift seconds; adherence = on-shift
seconds / scheduled seconds (from the optional agent-time table, ``agent_id, scheduled_s, on_shift_s``).

Composite: each scored dimension is normalised against its target (value/target, or target/value when
lower is better, capped), weighted, and summed into points; every card keeps its parts so the
composite is reproducible by hand. :func:`events_from_task_rows` maps the simulator's one-row-per-task
export onto this log.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from dispatcher.domain import Quadrant, SlaPolicy
from dispatcher.errors import InvalidInput, NotFound

Level = Literal["agent", "team", "queue"]
LEVELS: tuple[Level, ...] = ("agent", "team", "queue")


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

_TZ_SUFFIX = re.compile(r"[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|z|[+-]\d\d(?::?\d\d)?)$")
"""A timestamp with a time of day and an offset (a bare date or a time without offset is naive)."""
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


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


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text (pandas' Arrow-backed ``str`` dtype), missing values as ''."""
    if series.isna().all():
        return pd.Series("", index=series.index, dtype="str")
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(object)
    if not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        series = series.astype("str")
    return series.str.strip().fillna("")


def _fail(message: str, *, column: str, position: int, row_offset: int) -> InvalidInput:
    return InvalidInput(message, field=column, row=position + row_offset)


def _timestamps(series: pd.Series, column: str, *, row_offset: int, required: pd.Series) -> pd.Series:
    """Tz-aware UTC timestamps; empty where allowed, InvalidInput naming the row otherwise."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        parsed = series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(series.dtype) and series.notna().any():
        raise InvalidInput("timestamps must be timezone-aware (give an offset or Z)", field=column)
    elif series.isna().all() or (_text(series) == "").all():
        parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    else:
        text = _text(series)
        present = text != ""
        naive = present & ~text.str.contains(_TZ_SUFFIX.pattern, regex=True)
        if naive.any():
            pos = int(np.flatnonzero(naive.to_numpy())[0])
            raise _fail(f"timestamp {text.iloc[pos]!r} has no timezone (give an offset or Z)",
                        column=column, position=pos, row_offset=row_offset)
        parsed = pd.to_datetime(text.where(present, None), utc=True, errors="coerce", format="ISO8601")
        bad = present & parsed.isna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(f"not an ISO 8601 timestamp: {text.iloc[pos]!r}", column=column, position=pos,
                        row_offset=row_offset)
    missing = required & parsed.isna()
    if missing.any():
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        raise _fail("timestamp is required here", column=column, position=pos, row_offset=row_offset)
    try:
        result: pd.Series = parsed.astype("datetime64[ns, UTC]")
    except pd.errors.OutOfBoundsDatetime as exc:
        raise _fail(f"timestamp outside 1677-2262: {exc}", column=column, position=0, row_offset=row_offset) from exc
    return result


def _numbers(series: pd.Series, column: str, *, row_offset: int, required: pd.Series,
             low: float, high: float) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype(float)
        present = values.notna()
        text = series
    else:
        text = _text(series)
        present = text != ""
        values = pd.to_numeric(text.where(present, None), errors="coerce").astype(float)
    bad = present & ~(values.between(low, high) & np.isfinite(values))
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(f"expected a number in [{low:g}, {high:g}], got {str(text.iloc[pos])!r}", column=column,
                    position=pos, row_offset=row_offset)
    missing = required & ~present
    if missing.any():
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        raise _fail("a number is required here", column=column, position=pos, row_offset=row_offset)
    return values


def _booleans(series: pd.Series, column: str, *, row_offset: int) -> pd.Series:
    """Nullable booleans: true/false/1/0/yes/no, empty = unknown."""
    text = _text(series).str.lower()
    bad = (text != "") & ~text.isin(_TRUE | _FALSE)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(f"expected true/false, got {str(text.iloc[pos])!r}", column=column, position=pos,
                    row_offset=row_offset)
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    return out


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


# ---------------------------------------------------------------------------------------------------
# Per-task outcomes


@dataclass(frozen=True, slots=True)
class OutcomeConfig:
    """How outcomes are read from events."""

    reopen_window_s: float = 7 * 86400.0
    """A reopen within this many seconds after the first completion marks it not first-contact resolved."""
    satisfied_min: int = 4
    """Scores at or above this count as satisfied."""

    def __post_init__(self) -> None:
        if not self.reopen_window_s >= 0:
            raise InvalidInput(f"reopen_window_s must be >= 0, got {self.reopen_window_s}", field="reopen_window_s")
        if not 1 <= self.satisfied_min <= 5:
            raise InvalidInput(f"satisfied_min must be 1..5, got {self.satisfied_min}", field="satisfied_min")


def task_outcomes(
    log: EventLog,
    *,
    config: OutcomeConfig | None = None,
    agent_teams: Mapping[str, str] | None = None,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """One row per task (index ``task_id``, in order of first appearance in the log, as ``pd.factorize``):
    cohort keys, response, SLA, completion and outcome flags.

    Columns: queue, quadrant, created_at, response_due_at, response_at, responder, responder_team,
    wait_s, sla_decided, sla_met, abandoned, cancelled, completions, completer, completer_team,
    fcr, reopened, complaint, satisfaction, satisfied, satisfaction_agent, satisfaction_team.
    ``as_of`` (default: the last event) decides whether an unanswered task has already missed its SLA.
    """
    cfg = config or OutcomeConfig()
    ev = log.frame
    codes, task_ids = pd.factorize(ev["task_id"])
    n = len(task_ids)
    kind = ev["event"]
    at = ev["at"].to_numpy(dtype="datetime64[ns]")
    agent = ev["agent_id"].to_numpy(dtype=object)
    team = ev["team"].to_numpy(dtype=object)
    if agent_teams:
        blank = team == ""
        if blank.any():
            team = team.copy()
            team[blank] = pd.Series(agent[blank]).map(dict(agent_teams)).fillna("").to_numpy(dtype=object)

    def rows(event: EventKind) -> npt.NDArray[np.intp]:
        return np.flatnonzero((kind == event.value).to_numpy(dtype=bool))

    def first_row(event_rows: npt.NDArray[np.intp], *, last: bool = False) -> npt.NDArray[np.intp]:
        """Per task, the row of its first (or last) event among ``event_rows`` (time order); -1 if none."""
        out = np.full(n, -1, dtype=np.intp)
        ordered = event_rows[::-1] if last else event_rows
        task = codes[ordered]
        _, where = np.unique(task, return_index=True)
        out[task[where]] = ordered[where]
        return out

    def pick(values: npt.NDArray[Any], at_rows: npt.NDArray[np.intp], empty: Any) -> npt.NDArray[Any]:
        out = np.full(n, empty, dtype=values.dtype) if values.dtype != object else np.full(n, empty, dtype=object)
        has = at_rows >= 0
        out[has] = values[at_rows[has]]
        return out

    nat = np.datetime64("NaT", "ns")
    created = first_row(rows(EventKind.CREATED))
    accepted = first_row(rows(EventKind.ACCEPTED))
    completed_rows = rows(EventKind.COMPLETED)
    first_done = first_row(completed_rows)
    last_done = first_row(completed_rows, last=True)

    def flag(event: EventKind, mask: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.bool_]:
        out = np.zeros(n, dtype=bool)
        found = rows(event)
        if mask is not None:
            found = found[mask[found]]
        out[codes[found]] = True
        return out

    created_at = pick(ev["created_at"].to_numpy(dtype="datetime64[ns]"), created, nat)
    due_at = pick(ev["response_due_at"].to_numpy(dtype="datetime64[ns]"), created, nat)
    response_at = pick(at, accepted, nat)
    answered = accepted >= 0
    cancelled = flag(EventKind.CANCELLED)
    abandoned = flag(EventKind.ABANDONED) & ~answered  # answered before any abandon event counts
    end = pd.Timestamp(as_of).tz_convert("UTC") if as_of is not None else log.end
    overdue = due_at < np.datetime64(end.tz_convert("UTC").tz_localize(None)) if end is not None else np.zeros(n, bool)
    completions = np.bincount(codes[completed_rows], minlength=n).astype(np.int64)
    done_at = pick(at, first_done, nat)
    reopen_rows = rows(EventKind.REOPENED)
    reopen_at, reopen_done = at[reopen_rows], done_at[codes[reopen_rows]]
    window = np.timedelta64(int(cfg.reopen_window_s * 1e9), "ns")
    in_window = (reopen_at > reopen_done) & (reopen_at <= reopen_done + window)
    reopened = np.zeros(n, dtype=bool)
    reopened[codes[reopen_rows[in_window]]] = True
    stated_false = ev["first_contact_resolved"].eq(False).fillna(False).to_numpy(dtype=bool)
    resolved = ~(pick(stated_false, first_done, False).astype(bool)) & ~reopened
    complaint_true = ev["complaint"].fillna(False).to_numpy(dtype=bool)
    complaint = flag(EventKind.COMPLETED, complaint_true)
    sat_last = first_row(rows(EventKind.SATISFACTION), last=True)
    satisfaction = pick(ev["satisfaction"].to_numpy(dtype=float), sat_last, np.nan)

    tasks = pd.DataFrame({
        "queue": pick(ev["queue"].to_numpy(dtype=object), created, ""),
        "quadrant": pick(ev["quadrant"].to_numpy(dtype=object), created, ""),
        "created_at": pd.to_datetime(created_at).tz_localize("UTC"),
        "response_due_at": pd.to_datetime(due_at).tz_localize("UTC"),
        "response_at": pd.to_datetime(response_at).tz_localize("UTC"),
        "responder": pick(agent, accepted, ""),
        "responder_team": pick(team, accepted, ""),
        "wait_s": (response_at - created_at) / np.timedelta64(1, "s"),
        "abandoned": abandoned,
        "cancelled": cancelled,
        "sla_decided": ~cancelled & (answered | abandoned | overdue),
        "sla_met": answered & (response_at <= due_at),
        "completions": completions,
        "completer": pick(agent, first_done, ""),
        "completer_team": pick(team, first_done, ""),
        "reopened": reopened,
        "fcr": np.where(completions > 0, resolved.astype(float), np.nan),
        "complaint": np.where(completions > 0, complaint.astype(float), np.nan),
        "satisfaction": satisfaction,
        "satisfied": np.where(np.isnan(satisfaction), np.nan, (satisfaction >= cfg.satisfied_min).astype(float)),
        "satisfaction_agent": pick(agent, last_done, ""),
        "satisfaction_team": pick(team, last_done, ""),
    }, index=pd.Index(np.asarray(task_ids, dtype=object), name="task_id"))
    return tasks


# ---------------------------------------------------------------------------------------------------
# Scorecards


@dataclass(frozen=True, slots=True)
class Dimension:
    """One scored KPI: its metric column, whether higher is better, the target and the weight."""

    metric: str
    higher_is_better: bool
    target: float
    weight: float

    def __post_init__(self) -> None:
        if not self.target > 0 or not math.isfinite(self.target):
            raise InvalidInput(f"target of {self.metric} must be a positive number, got {self.target}",
                               field="target")
        if not self.weight >= 0 or not math.isfinite(self.weight):
            raise InvalidInput(f"weight of {self.metric} must be >= 0, got {self.weight}", field="weights")

    def normalise(self, value: float, cap: float) -> float:
        """Attainment against target: value/target (or target/value when lower is better), capped."""
        if self.higher_is_better:
            return min(value / self.target, cap)
        return cap if value <= 0 else min(self.target / value, cap)


DEFAULT_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("sla", True, 0.80, 0.25),
    Dimension("fcr", True, 0.75, 0.20),
    Dimension("satisfaction", True, 0.90, 0.15),
    Dimension("asa_s", False, 300.0, 0.10),
    Dimension("aht_vs_forecast", False, 1.0, 0.10),
    Dimension("abandonment", False, 0.05, 0.05),
    Dimension("complaint_rate", False, 0.02, 0.05),
    Dimension("adherence", True, 0.95, 0.05),
    Dimension("occupancy", True, 0.80, 0.05),
)

SAMPLE_OF: Mapping[str, str] = MappingProxyType({
    "sla": "sla_n", "sla_Q1": "sla_n", "sla_Q2": "sla_n", "sla_Q3": "sla_n", "sla_Q4": "sla_n",
    "fcr": "fcr_n", "complaint_rate": "fcr_n", "satisfaction": "satisfaction_n", "satisfaction_mean": "satisfaction_n",
    "asa_s": "answered", "abandonment": "tasks", "abandoned": "tasks", "aht_s": "handled",
    "aht_vs_forecast": "handled", "occupancy": "handled", "adherence": "handled",
})
"""The count a metric rests on (its sample size)."""

METRIC_COLUMNS: tuple[str, ...] = (
    "tasks", "handled", "answered", "asa_s", "sla", "sla_n", "sla_Q1", "sla_Q2", "sla_Q3", "sla_Q4",
    "aht_s", "forecast_aht_s", "aht_vs_forecast", "fcr", "fcr_n", "abandonment", "abandoned",
    "complaint_rate", "satisfaction", "satisfaction_mean", "satisfaction_n", "handled_s", "occupancy",
    "adherence",
)


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    dimensions: tuple[Dimension, ...] = DEFAULT_DIMENSIONS
    cap: float = 1.0
    """Highest normalised score of one dimension (1.0: meeting the target earns full marks)."""
    min_sample: int = 0
    """A dimension resting on fewer observations (``SAMPLE_OF``) is shown but left out of the composite."""

    def __post_init__(self) -> None:
        if self.min_sample < 0:
            raise InvalidInput(f"min_sample must be >= 0, got {self.min_sample}", field="min_sample")
        names = [d.metric for d in self.dimensions]
        unknown = [m for m in names if m not in METRIC_COLUMNS]
        if unknown:
            raise InvalidInput(f"unknown scorecard metrics {unknown}; known: {list(METRIC_COLUMNS)}",
                               field="weights")
        if len(set(names)) != len(names):
            raise InvalidInput("a metric is scored twice", field="weights")
        if not self.cap >= 1.0:
            raise InvalidInput(f"cap must be >= 1, got {self.cap}", field="cap")
        if not any(d.weight > 0 for d in self.dimensions):
            raise InvalidInput("at least one weight must be > 0", field="weights")

    def with_weights(self, weights: Mapping[str, float]) -> ScoringConfig:
        """The same dimensions with some weights replaced; unknown names are InvalidInput."""
        by_name = {d.metric: d for d in self.dimensions}
        unknown = sorted(set(weights) - set(by_name))
        if unknown:
            raise InvalidInput(f"no scored dimension {unknown}; scored: {sorted(by_name)}", field="weights")
        dims = tuple(Dimension(d.metric, d.higher_is_better, d.target, float(weights.get(d.metric, d.weight)))
                     for d in self.dimensions)
        return ScoringConfig(dimensions=dims, cap=self.cap, min_sample=self.min_sample)

    def with_targets(self, targets: Mapping[str, float]) -> ScoringConfig:
        by_name = {d.metric: d for d in self.dimensions}
        unknown = sorted(set(targets) - set(by_name))
        if unknown:
            raise InvalidInput(f"no scored dimension {unknown}; scored: {sorted(by_name)}", field="targets")
        dims = tuple(Dimension(d.metric, d.higher_is_better, float(targets.get(d.metric, d.target)), d.weight)
                     for d in self.dimensions)
        return ScoringConfig(dimensions=dims, cap=self.cap, min_sample=self.min_sample)


@dataclass(frozen=True, slots=True)
class ScoreComponent:
    """One dimension of a composite: the value, its target, the normalised score and its share."""

    metric: str
    value: float
    target: float
    higher_is_better: bool
    weight: float
    score: float
    """value normalised against target (NaN when the value is unavailable)."""
    contribution: float
    """Points this dimension adds to the composite: 100 * (weight / sum of counted weights) * score."""
    sample: float = math.nan
    counted: bool = True
    """False when the value is missing or rests on fewer than ``min_sample`` observations."""


@dataclass(frozen=True, slots=True)
class Scorecard:
    level: Level
    key: str
    metrics: Mapping[str, float]
    components: tuple[ScoreComponent, ...]
    composite: float
    """0..100*cap; NaN when no weighted dimension has a value."""

    def explain(self) -> str:
        parts = [f"{c.metric} {c.value:.3g} vs {c.target:g} -> {c.score:.2f} x w{c.weight:g} = {c.contribution:.1f}"
                 for c in self.components if c.counted and c.weight > 0]
        return f"{self.level} {self.key}: {self.composite:.1f} = " + " + ".join(parts)


@dataclass(frozen=True, slots=True)
class ScorecardTable:
    level: Level
    start: datetime | None
    end: datetime | None
    cards: tuple[Scorecard, ...]
    config: ScoringConfig = field(default_factory=ScoringConfig)

    def card(self, key: str) -> Scorecard:
        for card in self.cards:
            if card.key == key:
                return card
        raise NotFound(f"no {self.level} {key!r} in this scorecard", field=self.level)

    def to_frame(self) -> pd.DataFrame:
        """One row per entity: metrics, then score_<metric> and points_<metric> per dimension, composite."""
        rows = []
        for card in self.cards:
            row: dict[str, Any] = {self.level: card.key, **card.metrics}
            for comp in card.components:
                row[f"score_{comp.metric}"] = comp.score
                row[f"points_{comp.metric}"] = comp.contribution
            row["composite"] = card.composite
            rows.append(row)
        columns = [self.level, *METRIC_COLUMNS,
                   *(f"{p}_{d.metric}" for d in self.config.dimensions for p in ("score", "points")), "composite"]
        return pd.DataFrame(rows, columns=columns)


def composite_score(metrics: Mapping[str, float], config: ScoringConfig) -> tuple[tuple[ScoreComponent, ...], float]:
    """Weighted mean of target-normalised dimensions, in points (100 = every target met)."""
    raw: list[tuple[Dimension, float, float, float, bool]] = []
    for dim in config.dimensions:
        value = float(metrics.get(dim.metric, math.nan))
        sample = float(metrics.get(SAMPLE_OF.get(dim.metric, ""), math.nan))
        score = dim.normalise(value, config.cap) if not math.isnan(value) else math.nan
        counted = not math.isnan(value) and not (config.min_sample > 0 and sample < config.min_sample)
        raw.append((dim, value, score, sample, counted))
    total_weight = sum(d.weight for d, _, _, _, counted in raw if counted)
    components = tuple(
        ScoreComponent(
            metric=d.metric, value=v, target=d.target, higher_is_better=d.higher_is_better, weight=d.weight,
            score=s, contribution=(100.0 * (d.weight / total_weight) * s) if total_weight > 0 and counted else 0.0,
            sample=n, counted=counted,
        )
        for d, v, s, n, counted in raw
    )
    composite = sum(c.contribution for c in components) if total_weight > 0 else math.nan
    return components, composite


def _safe_div(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


def _keys(level: Level) -> dict[str, str]:
    """Which task column attributes each metric family to an entity of ``level``."""
    if level == "queue":
        return dict.fromkeys(("cohort", "response", "fcr", "satisfaction", "handled"), "queue")
    if level == "team":
        return {"cohort": "", "response": "responder_team", "fcr": "completer_team",
                "satisfaction": "satisfaction_team", "handled": "team"}
    return {"cohort": "", "response": "responder", "fcr": "completer", "satisfaction": "satisfaction_agent",
            "handled": "agent_id"}


def scorecard_metrics(
    log: EventLog,
    *,
    level: Level = "agent",
    start: datetime | None = None,
    end: datetime | None = None,
    outcome: OutcomeConfig | None = None,
    forecast_aht_s: Mapping[str, float] | None = None,
    agent_time: pd.DataFrame | None = None,
    agent_teams: Mapping[str, str] | None = None,
    outcomes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The raw KPI table (index: entity key, columns ``METRIC_COLUMNS``) for tasks created in [start, end).

    ``outcomes``: this log's :func:`task_outcomes` computed once, to measure many windows cheaply.
    """
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {list(LEVELS)}, got {level!r}", field="level")
    for name, moment in (("from", start), ("to", end)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=name)
    if start is not None and end is not None and end <= start:
        raise InvalidInput(f"'to' ({end}) must be after 'from' ({start})", field="to")
    tasks = outcomes if outcomes is not None else task_outcomes(log, config=outcome, agent_teams=agent_teams)
    codes, _ = pd.factorize(log.frame["task_id"])  # the same order as the rows of ``tasks``
    queue_by_code = tasks["queue"].to_numpy(dtype=object)
    cohort = pd.Series(True, index=tasks.index)
    if start is not None:
        cohort &= tasks["created_at"] >= pd.Timestamp(start)
    if end is not None:
        cohort &= tasks["created_at"] < pd.Timestamp(end)
    in_cohort = cohort.to_numpy(dtype=bool)
    tasks = tasks.loc[cohort]
    keys = _keys(level)
    ev = log.frame
    done_rows = np.flatnonzero((ev["event"] == EventKind.COMPLETED).to_numpy(dtype=bool) & in_cohort[codes])
    done = ev.iloc[done_rows].assign(queue=queue_by_code[codes[done_rows]])
    if level == "team" and agent_teams:
        done = done.assign(team=done["team"].where(done["team"] != "", done["agent_id"].map(agent_teams)).fillna(""))

    def by(frame: pd.DataFrame, key: str) -> Any:
        return frame.loc[frame[key] != ""].groupby(key, sort=True)

    resp = by(tasks, keys["response"])
    decided = tasks.loc[tasks["sla_decided"]]
    sla_groups = by(decided, keys["response"])
    out = pd.DataFrame({
        "answered": resp["wait_s"].count(),
        "asa_s": resp["wait_s"].mean(),
        "sla": sla_groups["sla_met"].mean(),
        "sla_n": sla_groups["sla_met"].size(),
    })
    for quadrant in Quadrant:
        part = decided.loc[decided["quadrant"] == quadrant.value]
        out[f"sla_{quadrant.value}"] = by(part, keys["response"])["sla_met"].mean()
    handled = by(done, keys["handled"])
    out = out.join(pd.DataFrame({"handled": handled.size(), "handled_s": handled["handle_s"].sum(),
                                 "aht_s": handled["handle_s"].mean()}), how="outer")
    if forecast_aht_s:
        expected = done["queue"].map(dict(forecast_aht_s)).astype(float)
        out["forecast_aht_s"] = by(done.assign(expected=expected), keys["handled"])["expected"].mean()
    else:
        out["forecast_aht_s"] = np.nan
    fcr = by(tasks.loc[tasks["fcr"].notna()], keys["fcr"])
    out = out.join(pd.DataFrame({"fcr": fcr["fcr"].mean(), "fcr_n": fcr["fcr"].size(),
                                 "complaint_rate": fcr["complaint"].mean()}), how="outer")
    rated = by(tasks.loc[tasks["satisfaction"].notna()], keys["satisfaction"])
    out = out.join(pd.DataFrame({"satisfaction": rated["satisfied"].mean(),
                                 "satisfaction_mean": rated["satisfaction"].mean(),
                                 "satisfaction_n": rated["satisfaction"].size()}), how="outer")
    if level == "queue":
        live = tasks.loc[~tasks["cancelled"]].groupby("queue", sort=True)
        out = out.join(pd.DataFrame({"tasks": tasks.groupby("queue").size(), "abandoned": live["abandoned"].sum(),
                                     "abandonment": live["abandoned"].mean()}), how="outer")
    else:
        out["tasks"] = out["answered"]
        out["abandoned"] = np.nan
        out["abandonment"] = np.nan
    out["occupancy"] = np.nan
    out["adherence"] = np.nan
    if agent_time is not None and level != "queue":
        at = agent_time
        if level == "team":
            team_of = pd.Series(dict(agent_teams or {}))
            if team_of.empty:
                seen = done.loc[done["team"] != "", ["agent_id", "team"]].drop_duplicates("agent_id")
                team_of = seen.set_index("agent_id")["team"]
            at = agent_time.assign(team=team_of.reindex(agent_time.index)).dropna(subset=["team"])
            at = at.groupby("team", sort=True)[["scheduled_s", "on_shift_s"]].sum()
        out = out.join(at[["scheduled_s", "on_shift_s"]], how="outer")
        out["occupancy"] = _safe_div(out["handled_s"].fillna(0.0), out["on_shift_s"])
        out["adherence"] = _safe_div(out["on_shift_s"], out["scheduled_s"]).clip(upper=1.0)
    for count in ("answered", "sla_n", "handled", "fcr_n", "satisfaction_n", "tasks"):
        out[count] = out[count].fillna(0).astype(np.int64)
    out["handled_s"] = out["handled_s"].fillna(0.0)
    out["aht_vs_forecast"] = _safe_div(out["aht_s"], out["forecast_aht_s"])
    out.index.name = level
    return out[list(METRIC_COLUMNS)].sort_index()


def scorecards(
    log: EventLog,
    *,
    level: Level = "agent",
    start: datetime | None = None,
    end: datetime | None = None,
    scoring: ScoringConfig | None = None,
    outcome: OutcomeConfig | None = None,
    forecast_aht_s: Mapping[str, float] | None = None,
    agent_time: pd.DataFrame | None = None,
    agent_teams: Mapping[str, str] | None = None,
) -> ScorecardTable:
    """Scorecards of every agent, team or queue active in the window, each with its composite and parts."""
    config = scoring or ScoringConfig()
    metrics = scorecard_metrics(log, level=level, start=start, end=end, outcome=outcome,
                                forecast_aht_s=forecast_aht_s, agent_time=agent_time, agent_teams=agent_teams)
    cards = []
    for key, row in zip(metrics.index, metrics.to_dict("records"), strict=True):
        values = MappingProxyType({str(k): float(v) for k, v in row.items()})
        components, composite = composite_score(values, config)
        cards.append(Scorecard(level=level, key=str(key), metrics=values, components=components,
                               composite=composite))
    return ScorecardTable(level=level, start=start, end=end, cards=tuple(cards), config=config)


# ---------------------------------------------------------------------------------------------------
# One-row-per-task tables (the simulator's export) -> events

TASK_ROW_COLUMNS: tuple[str, ...] = ("task", "queue", "quadrant", "arrival_s", "start_s", "end_s", "abandoned", "agent")


def events_from_task_rows(frame: pd.DataFrame, *, origin: datetime, row_offset: int = 2) -> pd.DataFrame:
    """Canonical events from one row per task with times in seconds after ``origin``.

    Columns ``TASK_ROW_COLUMNS`` (the simulator's event-log export; extra columns such as ``policy``
    are carried onto every event): created at ``arrival_s``; accepted at ``start_s`` by ``agent``;
    completed at ``end_s`` with ``handle_s = end_s - start_s``; abandoned at ``arrival_s + wait_s``
    (or ``arrival_s``) when ``abandoned`` and never started.
    """
    if origin.tzinfo is None:
        raise InvalidInput("origin must be timezone-aware", field="origin")
    missing = [c for c in TASK_ROW_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"missing columns {missing}; found {list(frame.columns)}", field=missing[0], row=1)
    raw = frame.reset_index(drop=True)
    every = pd.Series(True, index=raw.index)
    never = pd.Series(False, index=raw.index)
    arrival = _numbers(raw["arrival_s"], "arrival_s", row_offset=row_offset, required=every, low=0.0, high=1e10)
    start = _numbers(raw["start_s"], "start_s", row_offset=row_offset, required=never, low=0.0, high=1e10)
    end = _numbers(raw["end_s"], "end_s", row_offset=row_offset, required=never, low=0.0, high=1e10)
    wait = (_numbers(raw["wait_s"], "wait_s", row_offset=row_offset, required=never, low=0.0, high=1e10)
            if "wait_s" in raw.columns else pd.Series(np.nan, index=raw.index))
    abandoned = _booleans(raw["abandoned"], "abandoned", row_offset=row_offset).fillna(False).astype(bool)
    task_id = _text(raw["task"])
    agent = _text(raw["agent"])
    base = pd.Timestamp(origin).tz_convert("UTC")
    extras = [c for c in raw.columns if c not in (*TASK_ROW_COLUMNS, "wait_s", *EVENT_COLUMNS)]

    def block(mask: pd.Series, event: str, seconds: pd.Series, **cols: Any) -> pd.DataFrame:
        part = pd.DataFrame({"task_id": task_id[mask], "event": event,
                             "at": base + pd.to_timedelta(seconds[mask], unit="s")})
        for name, values in cols.items():
            part[name] = values[mask] if isinstance(values, pd.Series) else values
        for name in extras:
            part[name] = raw.loc[mask, name]
        return part

    served = start.notna()
    done = served & end.notna()
    gave_up = abandoned & ~served
    parts = [
        block(every, "created", arrival, queue=_text(raw["queue"]), quadrant=_text(raw["quadrant"])),
        block(served, "accepted", start, agent_id=agent),
        block(done, "completed", end, agent_id=agent, handle_s=end - start),
        block(gave_up, "abandoned", arrival + wait.fillna(0.0)),
    ]
    events = pd.concat(parts, ignore_index=True)
    order = {"created": 0, "accepted": 1, "completed": 2, "abandoned": 1}
    events["_order"] = events["event"].map(order)
    events = events.sort_values(["at", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    return events
