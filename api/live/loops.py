"""The background loops of a dispatch process (``serve`` without --no-dispatch, or ``worker``)."""

from __future__ import annotations

import asyncio

from api.live.dispatch import Dispatcher
from api.live.floor import Floor
from api.live.webhooks import WebhookDeliverer
from api.store.queue import LiveQueue
from api.store.webhooks import WebhookStore


async def run_background_loops(queue: LiveQueue, stop: asyncio.Event, *, dispatch_interval_s: float,
                               webhook_timeout_s: float = 5.0, floor: Floor | None = None) -> None:
    """Dispatch and webhook delivery side by side until ``stop`` is set; each takes turns with other
    processes through its own lease, and a slow webhook receiver never holds up a dispatch round."""
    await asyncio.gather(
        Dispatcher(queue, interval_s=dispatch_interval_s, floor=floor).run(stop),
        WebhookDeliverer(WebhookStore(queue), timeout_s=webhook_timeout_s).run(stop),
    )
