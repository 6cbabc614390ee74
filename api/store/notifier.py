"""One pub/sub subscription per process that wakes every long-poll waiting in it.

A long-poll (``POST /v1/agents/{id}/next?wait=``) holds no Redis connection while it waits: it
registers a :class:`Waiter` here and sleeps on an asyncio event. The Lua scripts publish on the
``notify`` channel (api/store/keys.py): ``a:<agent>`` when an offer is made to the agent or its
status or free slots change, ``s:<skill>`` when a task of that skill is queued; ``k:<digest>``
when an API key is revoked. After a (re)subscription every waiter wakes once, since messages
published while the subscription was down are lost (pub/sub is at most once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from api.store.outage import STORE_DOWN_ERRORS, StoreStatus, TooBusy, close_within
from api.store.queue import LiveQueue

log = logging.getLogger("dispatchwise.store")

RESUBSCRIBE_MAX_S = 1.0
SUBSCRIPTION_DOWN_ERRORS: tuple[type[Exception], ...] = (*STORE_DOWN_ERRORS, OSError, asyncio.IncompleteReadError)


class Waiter:
    """One waiting long-poll: woken by news for its agent, or (when it watches skills) for those skills."""

    __slots__ = ("agent_id", "event", "skills")

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.event = asyncio.Event()
        self.skills: frozenset[str] | None = None
        """Skills whose new work wakes this waiter; None: any skill's (until the first pull says)."""

    def watch(self, skills: Iterable[str]) -> None:
        self.skills = frozenset(skills)

    async def wait(self, timeout_s: float) -> bool:
        """True when woken, False on timeout; either way the next wait needs a new wake."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout=max(timeout_s, 0.0))
            return True
        except TimeoutError:
            return False
        finally:
            self.event.clear()


class Notifier:
    def __init__(
        self,
        client: Any,
        channel: str,
        *,
        per_agent: int = 2,
        total: int = 5000,
        status: StoreStatus | None = None,
        on_key_revoked: Callable[[str], None] | None = None,
    ) -> None:
        self.redis = client
        self.channel = channel
        self.per_agent = per_agent
        self.total = total
        self.status = status or StoreStatus()
        self.on_key_revoked = on_key_revoked
        self._by_agent: dict[str, set[Waiter]] = {}
        self._count = 0
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    @classmethod
    def for_queue(cls, queue: LiveQueue, **options: Any) -> Notifier:
        """The notifier on the live queue's Redis and its notification channel."""
        return cls(queue.redis, queue.keys.notify, **options)

    @property
    def waiting(self) -> int:
        return self._count

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="dispatchwise-notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task  # bounded: the listener's only await on the way out is close_within
            self._task = None

    @contextlib.asynccontextmanager
    async def waiter(self, agent_id: str) -> AsyncIterator[Waiter]:
        """Register a long-poll for ``agent_id``; TooBusy (429) past the per-agent or process cap."""
        mine = self._by_agent.setdefault(agent_id, set())
        if len(mine) >= self.per_agent:
            raise TooBusy(f"agent {agent_id} already has {len(mine)} open long-polls (limit {self.per_agent})",
                          field="wait")
        if self._count >= self.total:
            raise TooBusy(f"this API process already holds {self._count} open long-polls (limit {self.total})",
                          field="wait")
        waiter = Waiter(agent_id)
        mine.add(waiter)
        self._count += 1
        try:
            yield waiter
        finally:
            mine.discard(waiter)
            self._count -= 1
            if not mine:
                self._by_agent.pop(agent_id, None)

    def deliver(self, message: str) -> None:
        """Wake the waiters a published message concerns."""
        kind, _, name = message.partition(":")
        if kind == "a":
            for waiter in self._by_agent.get(name, ()):
                waiter.event.set()
        elif kind == "s":
            for waiters in self._by_agent.values():
                for waiter in waiters:
                    if waiter.skills is None or name in waiter.skills:
                        waiter.event.set()
        elif kind == "k" and self.on_key_revoked is not None:
            self.on_key_revoked(name)

    def wake_all(self) -> None:
        for waiters in self._by_agent.values():
            for waiter in waiters:
                waiter.event.set()

    async def _listen(self) -> None:
        delay = 0.05
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.status.recovered()
                self.subscribed.set()
                self.wake_all()  # news published while we were not subscribed is lost: everyone re-checks
                delay = 0.05
                async for message in pubsub.listen():
                    if message is not None and message.get("type") == "message":
                        self.deliver(str(message["data"]))
            except asyncio.CancelledError:
                raise
            except SUBSCRIPTION_DOWN_ERRORS as exc:
                # the subscription's socket can also fail below redis-py's own error types as the server dies
                self.subscribed.clear()
                self.status.failed(exc)
            except Exception:
                self.subscribed.clear()
                log.exception("notifier subscription failed; resubscribing")
            finally:
                await close_within(pubsub.aclose())
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESUBSCRIBE_MAX_S)
