"""One-row-per-task tables (the simulator's export) mapped onto canonical events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from dispatcher.errors import InvalidInput
from dispatcher.scorecard._cells import _booleans, _numbers, _text
from dispatcher.scorecard.events import EVENT_COLUMNS

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
