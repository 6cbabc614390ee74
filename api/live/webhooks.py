"""Webhook delivery: audit events -> signed HTTP POSTs to subscribers, in order per task, at least once.

The audit stream is the event source. Each tick, for every subscription, the events after its cursor
that it subscribed to are queued per task (api/store/webhooks.py); then the due head delivery of each
task is POSTed. A 2xx answer delivers it; anything else (error status, refused connection, timeout)
retries it with exponential backoff and jitter until ``max_age_s`` after its first try, then it is
dead-lettered (replayable) and the task's next event goes next. Deliveries run in their own asyncio
task with a short timeout, so a slow or dead receiver never slows intake or dispatch.

Signature: header ``Dispatchwise-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from api.store.webhooks import Delivery, Webhook, WebhookStore

log = logging.getLogger("dispatchwise.webhooks")

EVENT_TYPES = {
    "created": "task.created",
    "offered": "task.offered",
    "accepted": "task.assigned",
    "rejected": "task.rejected",
    "expired": "task.expired",
    "withdrawn": "task.withdrawn",
    "started": "task.started",
    "transferred": "task.transferred",
    "completed": "task.completed",
    "cancelled": "task.cancelled",
    "sla_warning": "alert.warning",
    "sla_alert": "alert.raised",
    "escalated": "alert.escalated",
}
"""Audit event -> webhook event type; audit events not listed here are not sent."""

SIGNATURE_HEADER = "Dispatchwise-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None, tolerance_s: float = 300) -> bool:
    """What a receiver runs: the signature matches and is recent (replays older than ``tolerance_s`` fail)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def payload(event: dict[str, Any]) -> bytes:
    return orjson.dumps({
        "id": event["id"], "type": EVENT_TYPES[event["event"]], "created_at": event["at"],
        "task_id": event["task_id"], "agent_id": event["agent_id"], "skill": event["skill"],
        "actor": event["actor"], "data": event["data"],
    })


@dataclass(slots=True)
class DeliveryStats:
    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0


class WebhookDeliverer:
    def __init__(
        self,
        store: WebhookStore,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 3600.0,
        max_age_s: float = 86_400.0,
        concurrency: int = 16,
        batch: int = 500,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.client = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self.timeout_s = timeout_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_age_ms = int(max_age_s * 1000)
        self.batch = batch
        self.clock = clock
        self.owner = uuid.uuid4().hex
        self._limit = asyncio.Semaphore(concurrency)
        self.stats = DeliveryStats()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def backoff_ms(self, attempts: int) -> int:
        """Exponential in the attempts made, capped, with full jitter in its upper half."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** min(attempts, 30))
        return int(1000 * ceiling * (0.5 + random.random() / 2))

    async def fan_out(self, webhook: Webhook) -> int:
        events = await self.store.new_events(webhook.id, self.batch)
        if not events:
            return 0
        wanted = set(webhook.events)
        deliveries = [
            (e["id"], e["task_id"], EVENT_TYPES[e["event"]], payload(e)) for e in events
            if e["event"] in EVENT_TYPES and EVENT_TYPES[e["event"]] in wanted
        ]
        await self.store.enqueue(webhook.id, deliveries, events[-1]["id"], self.now_ms())
        self.stats.queued += len(deliveries)
        return len(deliveries)

    async def attempt(self, webhook: Webhook, delivery: Delivery) -> None:
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json", "Dispatchwise-Event-Id": delivery.id,
            "Dispatchwise-Event-Type": delivery.type, SIGNATURE_HEADER: sign(webhook.secret, timestamp, delivery.body),
        }
        started = time.monotonic()
        try:
            async with self._limit:
                response = await self.client.post(webhook.url, content=delivery.body, headers=headers,
                                                  timeout=self.timeout_s)
            detail: dict[str, Any] = {"status": response.status_code}
            ok = 200 <= response.status_code < 300
        except httpx.HTTPError as exc:
            detail, ok = {"error": type(exc).__name__}, False
        detail["ms"] = round((time.monotonic() - started) * 1000, 1)
        now = self.now_ms()
        if ok:
            await self.store.delivered(delivery, now, detail)
            self.stats.delivered += 1
        elif delivery.first_try_ms and now - delivery.first_try_ms >= self.max_age_ms:
            await self.store.dead_letter(delivery, now, detail)
            self.stats.dead_lettered += 1
        else:
            await self.store.retry_later(delivery, now, now + self.backoff_ms(delivery.attempts), detail)
            self.stats.failed += 1

    async def tick(self) -> int:
        """Fan out new events and make every due attempt once; returns the attempts made."""
        attempts = 0
        for webhook in await self.store.all():
            await self.fan_out(webhook)
            heads = await self.store.due_heads(webhook.id, self.now_ms(), self.batch)
            await asyncio.gather(*(self.attempt(webhook, d) for d in heads))
            attempts += len(heads)
        return attempts

    async def run(self, stop: asyncio.Event, interval_s: float = 0.5) -> None:
        """Deliver until ``stop`` is set; only the lease holder delivers (several processes may run this)."""
        try:
            while not stop.is_set():
                busy = 0
                try:
                    if await self.store.take_lease(self.owner, int(max(10.0, self.timeout_s * 3) * 1000)):
                        busy = await self.tick()
                except Exception:  # a Redis hiccup must not end delivery for good
                    log.exception("webhook delivery tick failed")
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), interval_s)
        finally:
            await self.client.aclose()
