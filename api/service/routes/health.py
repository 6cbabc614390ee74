"""Liveness, readiness and Prometheus metrics (no auth)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api.service.deps import QueueDep
from api.store.outage import RETRY_AFTER_S, StoreStatus

router = APIRouter(tags=["health"])


def label(value: str) -> str:
    """A label value escaped per the Prometheus text format: backslash, double quote and line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, queue: QueueDep) -> JSONResponse:
    """200 while Redis answers, else 503 with Retry-After (a load balancer takes the process out)."""
    store: StoreStatus = request.app.state.store_status
    try:
        ok = await queue.ping()
    except Exception as exc:  # any Redis failure means not ready
        store.failed(exc)
        return JSONResponse({"status": "unavailable", "detail": f"redis: {type(exc).__name__}"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_S)})
    if ok:
        store.recovered()
    return JSONResponse({"status": "ready" if ok else "unavailable"}, status_code=200 if ok else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(queue: QueueDep) -> PlainTextResponse:
    depths = await queue.queue_depths()
    agents = await queue.agent_hashes()
    counters = await queue.counters()
    offers, alerts, audit = counters["pending_offers"], counters["alerts"], counters["audit_events"]
    lines = [
        "# HELP dispatchwise_queue_depth Queued tasks per skill.",
        "# TYPE dispatchwise_queue_depth gauge",
        *(f'dispatchwise_queue_depth{{skill="{label(s)}"}} {n}' for s, n in sorted(depths.items())),
        "# HELP dispatchwise_agents Agents per status.",
        "# TYPE dispatchwise_agents gauge",
    ]
    by_status: dict[str, int] = {}
    for a in agents:
        by_status[a.get("status", "offline")] = by_status.get(a.get("status", "offline"), 0) + 1
    lines += [f'dispatchwise_agents{{status="{label(s)}"}} {n}' for s, n in sorted(by_status.items())]
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
