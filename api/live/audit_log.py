"""The live service's audit events mapped onto the canonical event log of the pure core (dispatcher.scorecard)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from dispatcher.scorecard import EVENT_COLUMNS, EventKind

_CANONICAL = frozenset(k.value for k in EventKind)


def audit_events_to_frame(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Map the live service's audit events (``LiveQueue.audit_events`` views, oldest first) onto the
    canonical event table; events the scorecard does not use (started, transferred, alerts) are dropped.

    ``created`` carries ``data.quadrant`` and ``data.due_ms``; ``completed`` carries the outcome in
    ``data`` (``resolution_code``, ``first_contact_resolved``, ``complaint``, optional ``handle_s``,
    else the time since the task's last ``accepted``); ``satisfaction`` carries ``data.score``. A
    ``cancelled`` whose reason mentions "abandon" before anyone accepted becomes ``abandoned``. A
    ``policy`` in the created event's data (the A/B arm the router used) becomes the ``policy`` column.
    """
    rows: list[dict[str, str]] = []
    queue_of: dict[str, str] = {}
    last_accept: dict[str, int] = {}
    for e in events:
        kind = str(e.get("event", ""))
        if kind not in _CANONICAL:
            continue
        task_id, at_ms = str(e.get("task_id", "")), int(e.get("at_ms", 0))
        raw_data = e.get("data")
        data: Mapping[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        row = dict.fromkeys((*EVENT_COLUMNS, "policy"), "")
        if kind == EventKind.CANCELLED and task_id not in last_accept and "abandon" in str(e.get("data") or "").lower():
            kind = EventKind.ABANDONED.value
        row.update(task_id=task_id, event=kind, at=_iso_ms(at_ms), agent_id=str(e.get("agent_id") or ""))
        if kind == EventKind.CREATED:
            queue_of[task_id] = str(e.get("skill", ""))
            row["queue"] = queue_of[task_id]
            row["quadrant"] = str(data.get("quadrant", ""))
            row["policy"] = str(data.get("policy") or "")
            if data.get("due_ms") is not None:
                row["response_due_at"] = _iso_ms(int(data["due_ms"]))
        elif kind == EventKind.ACCEPTED:
            last_accept[task_id] = at_ms
        elif kind == EventKind.COMPLETED:
            handle = data.get("handle_s")
            if handle is None:
                handle = max(at_ms - last_accept.get(task_id, at_ms), 0) / 1000
            row["handle_s"] = str(handle)
            row["resolution_code"] = str(data.get("resolution_code") or "")
            for flag in ("first_contact_resolved", "complaint"):
                if data.get(flag) is not None:
                    row[flag] = str(bool(data[flag])).lower()
        elif kind == EventKind.SATISFACTION:
            row["satisfaction"] = str(data.get("score", ""))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*EVENT_COLUMNS, "policy"])


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
