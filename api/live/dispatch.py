"""The dispatch loop: queued tasks + available agents -> the routing policy -> offers.

Runs inside ``dispatchwise serve`` (unless --no-dispatch) or as ``dispatchwise worker`` processes;
a lease in Redis lets only one loop run a batch at a time. The routing policy
(:class:`dispatcher.policy.RoutingPolicy`, the same object the what-if simulator runs) decides at
every tick whether to dispatch now (a batch is due on its grid, or there is no contention) or to wait
for the next grid point. During an A/B experiment each task (or agent) is routed by its arm's policy
and every offer names the arm. Each pair becomes an offer through offer.lua, which re-checks that the
task is still queued and the agent still has room, so a stale pair is skipped, never double-offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from api.live.floor import Floor
from api.live.sla import SlaMonitor
from api.store.experiments import ExperimentStore
from api.store.outage import STORE_DOWN_ERRORS, StoreStatus
from api.store.perf import PerfStore
from api.store.queue import LiveQueue
from api.store.records import datetime_from_ms, task_from_hash
from dispatcher.abtest import Experiment, first_arm
from dispatcher.domain import Shift, Task
from dispatcher.errors import Conflict, DispatchwiseError, NotFound
from dispatcher.policy import LIVE, AgentState, RoutingPolicy

log = logging.getLogger("dispatchwise.dispatch")

MAX_BACKOFF_S = 5.0
"""While Redis is down the loop retries after interval_s, doubling up to this."""


@dataclass(frozen=True, slots=True)
class TickReport:
    leader: bool
    expired: int = 0
    alerts: int = 0
    tasks: int = 0
    agents: int = 0
    offered: int = 0
    stale: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    """The tasks and agents one policy decides for in a tick (the whole batch, or one A/B arm's share)."""

    arm: str
    policy: RoutingPolicy
    tasks: tuple[Task, ...]
    agents: tuple[AgentState, ...]


def routes(experiment: Experiment | None, policy: RoutingPolicy, tasks: Sequence[Task],
           agents: Sequence[AgentState], now_ms: int) -> list[Route]:
    """Who decides for what this tick: ``policy`` for everything, or each arm for its tasks (unit task)
    or its agents (unit agent). The arm going first alternates by batch slot (``first_arm``), so
    neither always has the first pick of the shared agents (or tasks)."""
    if experiment is None:
        return [Route("", policy, tuple(tasks), tuple(agents))]
    if experiment.unit == "task":
        split = [Route(arm, experiment.policy(arm), tuple(t for t in tasks if experiment.arm(t.id) == arm),
                       tuple(agents)) for arm in ("A", "B")]
    else:
        split = [Route(arm, experiment.policy(arm), tuple(tasks),
                       tuple(s for s in agents if experiment.arm(s.agent.id) == arm)) for arm in ("A", "B")]
    first = first_arm(now_ms, [experiment.policy_a.batch_interval_s, experiment.policy_b.batch_interval_s])
    return split if first == 0 else split[::-1]


class Dispatcher:
    """One dispatch loop. Several may run; the lease makes their batches take turns.

    The policy's shift guard sees each agent's published shift (``floor``); ``shifts`` (agent id ->
    shift) overrides it, e.g. for a worker handed today's roster or a test."""

    def __init__(
        self,
        queue: LiveQueue,
        *,
        interval_s: float = 0.2,
        lease_ms: int = 3000,
        owner: str | None = None,
        sweep_every_s: float = 0.1,
        sla_every_s: float = 1.0,
        plans_every_s: float = 60.0,
        policy: RoutingPolicy = LIVE,
        shifts: Mapping[str, Shift] | None = None,
        batch_at_start: bool = True,
        floor: Floor | None = None,
    ) -> None:
        self.queue = queue
        self.policy = policy
        self.shifts = dict(shifts or {})
        self.experiments = ExperimentStore(queue)
        self._due_ms: dict[str, int | None] = {}
        """Per route, when its next grid batch is due (None: none scheduled; a route never seen: at once
        if ``batch_at_start`` — a restart with a backlog need not wait — else it waits like any other)."""
        self._first_due_ms: int | None = 0 if batch_at_start else None
        self.interval_s = interval_s
        self.lease_ms = lease_ms
        self.owner = owner or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
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
        free = [a for a in await queue.available_agent_hashes()
                if int(a.get("active") or 0) < int(a.get("capacity") or 1)]
        now_ms = queue.now_ms()
        experiment = await self.experiments.active()
        if not free:
            return TickReport(True, expired, alerts)
        spare = sum(int(a.get("capacity") or 1) - int(a.get("active") or 0) for a in free)
        widest = max((self.policy, *(() if experiment is None else (experiment.policy_a, experiment.policy_b))),
                     key=lambda p: p.batch_size(spare))
        rows = await queue.queued_hashes(per_skill=widest.batch_size(spare))
        if not rows:
            return TickReport(True, expired, alerts, agents=len(free))
        await queue.mark_batch(True, ttl_ms=self.lease_ms)
        try:
            tasks = [task_from_hash(h) for h in rows]
            at = datetime_from_ms(now_ms)
            states, shifts = await self.floor.agent_states(free, at)
            states = [self._with_shift(s) for s in states]
            shifts = {**shifts, **self.shifts}
            offers = await asyncio.to_thread(self._decide, experiment, tasks, states, at, now_ms, shifts)
            replies = await queue.offer_many(offers)
            stale = sum(1 for r in replies if isinstance(r, (Conflict, NotFound)))
            offered = len(replies) - stale
        finally:
            await queue.mark_batch(False)
        return TickReport(True, expired, alerts, len(tasks), len(states), offered, stale)

    def _with_shift(self, state: AgentState) -> AgentState:
        shift = self.shifts.get(state.agent.id)
        return state if shift is None else replace(state, shift=shift)

    def _decide(self, experiment: Experiment | None, tasks: list[Task], states: list[AgentState], now: datetime,
                now_ms: int, shifts: Mapping[str, Shift]) -> list[tuple[str, str, dict[str, Any]]]:
        """The offers of this tick: each route's policy decides now or schedules its next grid batch;
        agents (or tasks) a route took are gone for the routes after it."""
        offers: list[tuple[str, str, dict[str, Any]]] = []
        taken_tasks: set[str] = set()
        load: dict[str, int] = {}
        for route in routes(experiment, self.policy, tasks, states, now_ms):
            key = f"{route.arm}:{route.policy.name}"
            due_ms = self._due_ms.get(key, self._first_due_ms)
            batch_due = due_ms is not None and now_ms >= due_ms
            if batch_due:
                self._due_ms[key] = None
            agents = [replace(s, active_tasks=s.active_tasks + load[s.agent.id]) if s.agent.id in load else s
                      for s in route.agents]
            pending = [t for t in route.tasks if t.id not in taken_tasks]
            result = route.policy.plan(pending, [s for s in agents if s.spare > 0], now, batch_due=batch_due)
            if result is None:  # wait for the grid
                if self._due_ms.get(key) is None:
                    self._due_ms[key] = round(route.policy.next_batch_s(now_ms / 1000) * 1000)
                continue
            handle = {t.id: t.expected_handle_s for t in route.tasks}
            for task_id, agent_id in result.pairs:
                explanation = self.floor.explain(result.explain(task_id), shifts.get(agent_id), now, handle[task_id])
                explanation["policy"] = route.policy.name
                if experiment is not None:
                    explanation.update(experiment=experiment.name, arm=route.arm)
                offers.append((task_id, agent_id, explanation))
                taken_tasks.add(task_id)
                load[agent_id] = load.get(agent_id, 0) + 1
        return offers

    @property
    def next_batch_ms(self) -> int | None:
        """When the earliest scheduled grid batch is due (None when none waits)."""
        waiting = [due for due in self._due_ms.values() if due is not None]
        return min(waiting) if waiting else None

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set: the lease holder again as soon as work or capacity appears (or
        after ``interval_s``), the others every ``interval_s``; errors are logged, never fatal."""
        store = StoreStatus("the dispatch loop backs off and retries")
        backoff = self.interval_s
        floor = asyncio.create_task(self.run_floor(stop))
        try:
            while not stop.is_set():
                report = TickReport(leader=False)
                try:
                    report = await self.tick()
                    store.recovered()
                    backoff = self.interval_s
                except STORE_DOWN_ERRORS as exc:  # one log line per outage, then quieter and quieter retries
                    store.failed(exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    continue
                except DispatchwiseError as exc:
                    log.warning("dispatch tick refused: %s", exc)
                except (ConnectionError, OSError) as exc:
                    log.warning("dispatch tick lost Redis: %s", exc)
                except Exception:
                    log.exception("dispatch tick failed")
                if report.leader:
                    # the lease holder sleeps until work or capacity appears, its next grid batch
                    # or one interval
                    wait_s = self.interval_s
                    if self.next_batch_ms is not None:
                        wait_s = min(wait_s, max(0.0, (self.next_batch_ms - self.queue.now_ms()) / 1000))
                    with contextlib.suppress(Exception):
                        await self.queue.wait_for_kick(wait_s)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
        finally:
            floor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await floor
            with contextlib.suppress(*STORE_DOWN_ERRORS):
                await self.queue.release_lease(self.owner)

    async def run_floor(self, stop: asyncio.Event) -> None:
        """The floor's alerts and adherence samples (throttled inside :class:`Floor`), off the offer path."""
        while not stop.is_set():
            try:
                await self.floor.tick(datetime_from_ms(self.queue.now_ms()))
            except STORE_DOWN_ERRORS:
                pass  # the dispatch loop logs the outage once and backs off; the floor just waits for Redis
            except (ConnectionError, OSError) as exc:
                log.warning("floor tick lost Redis: %s", exc)
            except Exception:
                log.exception("floor tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.floor.tick_every_s)
