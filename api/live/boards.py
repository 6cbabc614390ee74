"""Supervisor boards computed from queue snapshots: depth, age and predicted breach per skill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.domain import DEFAULT_HANDLE_S

QUADRANTS = ("Q1", "Q2", "Q3", "Q4")


def queue_board(
    queued: Mapping[str, Sequence[tuple[str, float]]],
    fields: Mapping[str, Sequence[str | None]],
    servers: Mapping[str, int],
    now_ms: int,
) -> list[dict[str, Any]]:
    """One row per skill.

    ``queued``: skill -> [(task id, response due ms)] in queue order; ``fields``: task id ->
    (created_ms, quadrant, expected_handle_s); ``servers``: skill -> task slots of available
    agents holding that skill. Predicted breach: a task's predicted start is ``now`` plus its
    queue position divided by the slots times the mean expected handling time, and it breaches if
    that is after its response due time.
    """
    rows = []
    for skill in sorted(queued):
        items = queued[skill]
        per_quadrant = dict.fromkeys(QUADRANTS, 0)
        oldest_ms: int | None = None
        handle = []
        for task_id, _due in items:
            created, quadrant, expected = fields.get(task_id, (None, None, None))
            if quadrant in per_quadrant:
                per_quadrant[str(quadrant)] += 1
            if created:
                oldest_ms = int(created) if oldest_ms is None else min(oldest_ms, int(created))
            handle.append(float(expected or DEFAULT_HANDLE_S))
        slots = servers.get(skill, 0)
        mean_handle_ms = 1000 * sum(handle) / len(handle) if handle else 0.0
        breach = 0
        for position, (_task_id, due) in enumerate(items):
            if slots == 0:
                predicted_start = float("inf")
            else:
                predicted_start = now_ms + (position // slots) * mean_handle_ms
            if predicted_start > due:
                breach += 1
        overdue = sum(1 for _t, due in items if due < now_ms)
        rows.append({
            "skill": skill,
            "depth": len(items),
            "by_quadrant": per_quadrant,
            "oldest_age_s": round((now_ms - oldest_ms) / 1000, 3) if oldest_ms is not None else None,
            "overdue": overdue,
            "predicted_breach": breach,
            "available_slots": slots,
        })
    return rows
