"""Liveness, readiness and Prometheus metrics (no auth)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from api.service.deps import QueueDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(queue: QueueDep) -> JSONResponse:
    try:
        ok = await queue.ping()
    except Exception as exc:  # any Redis failure means not ready
        return JSONResponse({"status": "unavailable", "detail": f"redis: {exc}"}, status_code=503)
    return JSONResponse({"status": "ready" if ok else "unavailable"}, status_code=200 if ok else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(queue: QueueDep) -> PlainTextResponse:
    rows = await queue.queue_rows()
    agents = await queue.agent_hashes()
    counters = await queue.counters()
    offers, alerts, audit = counters["pending_offers"], counters["alerts"], counters["audit_events"]
    lines = [
        "# HELP dispatchwise_queue_depth Queued tasks per skill.",
        "# TYPE dispatchwise_queue_depth gauge",
        *(f'dispatchwise_queue_depth{{skill="{s}"}} {len(v)}' for s, v in sorted(rows.items())),
        "# HELP dispatchwise_agents Agents per status.",
        "# TYPE dispatchwise_agents gauge",
    ]
    by_status: dict[str, int] = {}
    for a in agents:
        by_status[a.get("status", "offline")] = by_status.get(a.get("status", "offline"), 0) + 1
    lines += [f'dispatchwise_agents{{status="{s}"}} {n}' for s, n in sorted(by_status.items())]
    lines += [
        "# HELP dispatchwise_agent_active_tasks Tasks held (offered or assigned) by all agents.",
        "# TYPE dispatchwise_agent_active_tasks gauge",
        f"dispatchwise_agent_active_tasks {sum(int(a.get('active') or 0) for a in agents)}",
        "# HELP dispatchwise_pending_offers Offers waiting for an answer.",
        "# TYPE dispatchwise_pending_offers gauge",
        f"dispatchwise_pending_offers {offers}",
        "# HELP dispatchwise_alerts_total SLA warnings, alerts and escalations raised.",
        "# TYPE dispatchwise_alerts_total counter",
        f"dispatchwise_alerts_total {alerts}",
        "# HELP dispatchwise_audit_events_total Events in the audit stream.",
        "# TYPE dispatchwise_audit_events_total counter",
        f"dispatchwise_audit_events_total {audit}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
