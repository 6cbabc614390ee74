"""The dispatch loop: queued tasks + available agents -> the live-assignment optimizer -> offers.

Runs inside ``dispatchwise serve`` (unless --no-dispatch) or as ``dispatchwise worker`` processes;
a lease in Redis lets only one loop run a batch at a time. Each optimizer pair becomes an offer
through offer.lua, which re-checks that the task is still queued and the agent still has room, so
a pair made stale by the pull path or a status change is skipped, never double-offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

from api.live.floor import Floor
from api.live.sla import SlaMonitor
from api.store.perf import PerfStore
from api.store.queue import LiveQueue
from api.store.records import datetime_from_ms, task_from_hash
from dispatcher.errors import Conflict, DispatchwiseError, NotFound
from dispatcher.policy import assign

log = logging.getLogger("dispatchwise.dispatch")


@dataclass(frozen=True, slots=True)
class TickReport:
    leader: bool
    expired: int = 0
    alerts: int = 0
    tasks: int = 0
    agents: int = 0
    offered: int = 0
    stale: int = 0


class Dispatcher:
    """One dispatch loop. Several may run; the lease makes their batches take turns."""

    def __init__(
        self,
        queue: LiveQueue,
        *,
        interval_s: float = 0.2,
        lease_ms: int = 3000,
        owner: str | None = None,
        batch_factor: int = 3,
        max_batch: int = 500,
        sweep_every_s: float = 0.1,
        sla_every_s: float = 1.0,
        plans_every_s: float = 60.0,
        floor: Floor | None = None,
    ) -> None:
        self.queue = queue
        self.interval_s = interval_s
        self.lease_ms = lease_ms
        self.owner = owner or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.batch_factor = batch_factor
        self.max_batch = max_batch
        """At most this many queued tasks per skill (earliest due first) go to one optimizer call."""
        self.monitor = SlaMonitor(queue)
        self.sweep_every_s = sweep_every_s
        """Expired offers are swept at most this often (ticks can come back to back under load)."""
        self.sla_every_s = sla_every_s
        self.plans_every_s = plans_every_s
        """Overdue improvement-plan actions alert their owners at most this often."""
        self.plans = PerfStore.beside(queue)
        self._last_sweep = self._last_sla = self._last_plans = float("-inf")
        self.floor = floor or Floor(queue)
        """The published plan: shifts for the shift/break guard, adherence and staffing alerts (these run
        in their own loop beside the ticks, so a dispatch round never waits for them)."""

    async def tick(self) -> TickReport:
        queue = self.queue
        if not await queue.take_lease(self.owner, self.lease_ms):
            return TickReport(leader=False)
        expired = alerts = 0
        now = time.monotonic()
        if now - self._last_sweep >= self.sweep_every_s:
            self._last_sweep = now
            expired = await queue.expire_offers()
        if now - self._last_sla >= self.sla_every_s:
            self._last_sla = now
            alerts = await self.monitor.tick()
        if now - self._last_plans >= self.plans_every_s:
            self._last_plans = now
            alerts += len(await self.plans.raise_overdue_alerts(datetime_from_ms(queue.now_ms())))
        free = [a for a in await queue.agent_hashes()
                if a.get("status") == "available" and int(a.get("active") or 0) < int(a.get("capacity") or 1)]
        if not free:
            return TickReport(True, expired, alerts)
        spare = sum(int(a.get("capacity") or 1) - int(a.get("active") or 0) for a in free)
        rows = await queue.queued_hashes(per_skill=min(self.max_batch, max(20, self.batch_factor * spare)))
        if not rows:
            return TickReport(True, expired, alerts, agents=len(free))
        await queue.mark_batch(True, ttl_ms=self.lease_ms)
        try:
            tasks = [task_from_hash(h) for h in rows]
            at = datetime_from_ms(queue.now_ms())
            states, shifts = await self.floor.agent_states(free, at)
            result = await asyncio.to_thread(assign, tasks, states, at)
            handle = {t.id: t.expected_handle_s for t in tasks}
            replies = await queue.offer_many([
                (task_id, agent_id, self.floor.explain(result.explain(task_id), shifts.get(agent_id), at,
                                                       handle[task_id]))
                for task_id, agent_id in result.pairs
            ])
            stale = sum(1 for r in replies if isinstance(r, (Conflict, NotFound)))
            offered = len(replies) - stale
        finally:
            await queue.mark_batch(False)
        return TickReport(True, expired, alerts, len(tasks), len(states), offered, stale)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set: the lease holder again as soon as work or capacity appears (or
        after ``interval_s``), the others every ``interval_s``; errors are logged, never fatal."""
        floor = asyncio.create_task(self.run_floor(stop))
        try:
            while not stop.is_set():
                report = TickReport(leader=False)
                try:
                    report = await self.tick()
                except DispatchwiseError as exc:
                    log.warning("dispatch tick refused: %s", exc)
                except (ConnectionError, OSError) as exc:
                    log.warning("dispatch tick lost Redis: %s", exc)
                except Exception:
                    log.exception("dispatch tick failed")
                if report.leader:
                    # the lease holder sleeps until work or capacity appears (or one interval)
                    with contextlib.suppress(Exception):
                        await self.queue.wait_for_kick(self.interval_s)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
        finally:
            floor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await floor
            await self.queue.release_lease(self.owner)

    async def run_floor(self, stop: asyncio.Event, every_s: float = 1.0) -> None:
        """The floor's alerts and adherence samples (throttled inside :class:`Floor`), off the offer path."""
        while not stop.is_set():
            try:
                await self.floor.tick(datetime_from_ms(self.queue.now_ms()))
            except (ConnectionError, OSError) as exc:
                log.warning("floor tick lost Redis: %s", exc)
            except Exception:
                log.exception("floor tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
