"""GET /v1/events: Server-Sent Events of task and alert events from the audit stream."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from api.service.deps import QueueDep, SupervisorDep
from dispatcher.errors import InvalidInput

router = APIRouter(prefix="/v1/events", tags=["boards"])

ALERT_EVENTS = frozenset({"sla_warning", "sla_alert", "escalated", "adherence_alert", "staffing_alert"})
HEARTBEAT_S = 15.0


@router.get("", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}})
async def events(
    request: Request, queue: QueueDep, principal: SupervisorDep,
    since: Annotated[str, Query(description="stream id to start after; '$' = only new, '0' = all")] = "$",
    max_events: Annotated[int | None, Query(ge=1, le=100_000, description="close after this many")] = None,
    timeout_s: Annotated[float | None, Query(gt=0, le=86_400, description="close after this long")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    start = last_event_id or since
    if start not in ("$", "0") and not _is_stream_id(start):
        raise InvalidInput(f"'since' must be '$', '0' or a stream id like 1700000000000-0, got {start!r}",
                           field="since")

    async def stream() -> AsyncIterator[bytes]:
        last = start
        if last == "$":
            last = await queue.newest_audit_id()
        sent = 0
        deadline = time.monotonic() + timeout_s if timeout_s else None
        quiet_since = time.monotonic()
        yield b": connected\n\n"
        while True:
            if await request.is_disconnected():
                return
            remaining = deadline - time.monotonic() if deadline else 1.0
            if remaining <= 0:
                return
            batch = await queue.read_events(last, block_ms=int(max(1, min(remaining, 1.0) * 1000)))
            for event in batch:
                last = event["id"]
                kind = "alert" if event["event"] in ALERT_EVENTS else "task"
                head = f"id: {last}\nevent: {kind}\ndata: ".encode()
                yield head + orjson.dumps(event) + b"\n\n"
                sent += 1
                if max_events is not None and sent >= max_events:
                    return
            if batch:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > HEARTBEAT_S:
                quiet_since = time.monotonic()
                yield b": heartbeat\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _is_stream_id(value: str) -> bool:
    head, _, tail = value.partition("-")
    return head.isdigit() and (tail == "" or tail.isdigit())
