"""Per-task outcomes read from the event log: response, SLA, abandonment, completion, FCR, satisfaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from dispatcher import kpis
from dispatcher.errors import InvalidInput
from dispatcher.scorecard.events import EventKind, EventLog


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
    ``sla_decided``/``sla_met`` are the service level's flags of :mod:`dispatcher.kpis` (threshold:
    ``response_due_at``), with cancelled tasks left out.
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
    abandoned = kpis.abandonment_flags(answered, flag(EventKind.ABANDONED))  # an answer before the abandon wins
    abandoned_at = pick(at, first_row(rows(EventKind.ABANDONED)), nat)
    end = pd.Timestamp(as_of).tz_convert("UTC") if as_of is not None else log.end
    measured_at = np.datetime64(end.tz_convert("UTC").tz_localize(None), "ns") if end is not None else nat
    # how long each task waited: until its answer, its abandonment, or (still waiting) the measurement
    waited_until = np.where(answered, response_at, np.where(abandoned, abandoned_at, measured_at))
    second = np.timedelta64(1, "s")
    sla_counted, sla_met = kpis.service_level_flags(
        (waited_until - created_at) / second, answered, (due_at - created_at) / second)
    completions = np.bincount(codes[completed_rows], minlength=n).astype(np.int64)
    done_at = pick(at, first_done, nat)
    reopen_rows = rows(EventKind.REOPENED)
    reopen_at, reopen_done = at[reopen_rows], done_at[codes[reopen_rows]]
    window = np.timedelta64(int(cfg.reopen_window_s * 1e9), "ns")
    in_window = (reopen_at > reopen_done) & (reopen_at <= reopen_done + window)
    reopened = np.zeros(n, dtype=bool)
    reopened[codes[reopen_rows[in_window]]] = True
    stated = ev["first_contact_resolved"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    first_contact = kpis.first_contact_outcome(pick(stated, first_done, np.nan), reopened, reopens_tracked=True)
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
        "sla_decided": ~cancelled & sla_counted,
        "sla_met": sla_met,
        "completions": completions,
        "completer": pick(agent, first_done, ""),
        "completer_team": pick(team, first_done, ""),
        "reopened": reopened,
        "fcr": np.where(completions > 0, first_contact, np.nan),
        "complaint": np.where(completions > 0, complaint.astype(float), np.nan),
        "satisfaction": satisfaction,
        "satisfied": np.where(np.isnan(satisfaction), np.nan, (satisfaction >= cfg.satisfied_min).astype(float)),
        "satisfaction_agent": pick(agent, last_done, ""),
        "satisfaction_team": pick(team, last_done, ""),
    }, index=pd.Index(np.asarray(task_ids, dtype=object), name="task_id"))
    return tasks
