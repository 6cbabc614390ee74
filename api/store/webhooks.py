"""Webhook subscriptions and their deliveries in Redis.

Keys (``{w}`` = ``<prefix>:wh``)
- ``{w}:subs`` set of webhook ids · ``{w}:sub:{id}`` hash url, events (JSON list), secret, created_ms
- ``{w}:cursor:{id}`` the last audit-stream id fanned out to this webhook
- ``{w}:d:{id}:{event}`` hash of one delivery (body, task, type, attempts, first_try_ms, next_ms)
- ``{w}:q:{id}:{task}`` list of a task's pending delivery ids, oldest first: only the head is tried,
  so deliveries of one task arrive in order
- ``{w}:ready:{id}`` sorted set task -> when its head delivery is due (ms)
- ``{w}:log:{id}`` capped stream of attempts · ``{w}:dead:{id}`` list of dead-lettered delivery ids
- ``{w}:lease`` the delivery worker's lease (one worker delivers at a time)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from api.store.queue import LiveQueue, event_view
from dispatcher.errors import NotFound

LOG_LENGTH = 10_000
"""Attempts kept in a webhook's delivery log."""

LEASE_LUA = """
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
"""


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_ms: int = 0

    def view(self) -> dict[str, Any]:
        """The public shape: never the secret."""
        return {"id": self.id, "url": self.url, "events": list(self.events), "created_ms": self.created_ms}


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    """The audit event id: unique, and the order of events."""
    webhook_id: str
    task_id: str
    type: str
    body: bytes
    attempts: int
    first_try_ms: int


class WebhookStore:
    def __init__(self, queue: LiveQueue) -> None:
        self.queue = queue
        self.redis: Any = queue.redis
        self.keys = queue.keys
        self._lease = self.redis.register_script(LEASE_LUA)

    def _k(self, *parts: str) -> str:
        return self.keys.webhook(*parts)

    async def put(self, webhook: Webhook) -> bool:
        """Create or replace; a new subscription starts after the newest audit event. True when created."""
        created = not await self.redis.exists(self._k("sub", webhook.id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("sub", webhook.id), mapping={
                "url": webhook.url, "events": orjson.dumps(list(webhook.events)).decode(), "secret": webhook.secret,
                "created_ms": webhook.created_ms,
            })
            pipe.sadd(self._k("subs"), webhook.id)
            await pipe.execute()
        if created:
            await self.redis.set(self._k("cursor", webhook.id), await self.queue.newest_audit_id(), nx=True)
        return created

    async def get(self, webhook_id: str) -> Webhook:
        h = await self.redis.hgetall(self._k("sub", webhook_id))
        if not h:
            raise NotFound(f"webhook {webhook_id!r} not found", field="id")
        return Webhook(webhook_id, h["url"], tuple(orjson.loads(h["events"])), h["secret"],
                       int(h.get("created_ms") or 0))

    async def all(self) -> list[Webhook]:
        ids = sorted(await self.redis.smembers(self._k("subs")))
        return [await self.get(i) for i in ids]

    async def delete(self, webhook_id: str) -> None:
        await self.get(webhook_id)
        tasks = await self.redis.zrange(self._k("ready", webhook_id), 0, -1)
        doomed = [self._k("sub", webhook_id), self._k("cursor", webhook_id), self._k("ready", webhook_id),
                  self._k("log", webhook_id), self._k("dead", webhook_id)]
        for task in tasks:
            for delivery_id in await self.redis.lrange(self._k("q", webhook_id, task), 0, -1):
                doomed.append(self._k("d", webhook_id, delivery_id))
            doomed.append(self._k("q", webhook_id, task))
        for delivery_id in await self.redis.lrange(self._k("dead", webhook_id), 0, -1):
            doomed.append(self._k("d", webhook_id, delivery_id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(self._k("subs"), webhook_id)
            pipe.delete(*doomed)
            await pipe.execute()

    async def take_lease(self, owner: str, ttl_ms: int) -> bool:
        return bool(await self._lease(keys=[self._k("lease")], args=[owner, ttl_ms]))

    async def new_events(self, webhook_id: str, count: int) -> list[dict[str, Any]]:
        """Audit events after this webhook's cursor, oldest first."""
        cursor = await self.redis.get(self._k("cursor", webhook_id)) or "0"
        entries = await self.redis.xrange(self.keys.audit, f"({cursor}", "+", count=count)
        return [event_view(entry_id, fields) for entry_id, fields in entries]

    async def enqueue(self, webhook_id: str, deliveries: Sequence[tuple[str, str, str, bytes]], cursor: str,
                      now_ms: int) -> None:
        """Queue (event id, task id, type, body) deliveries behind each task's earlier ones and move the
        cursor past them, in one transaction."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for event_id, task_id, kind, body in deliveries:
                pipe.hset(self._k("d", webhook_id, event_id), mapping={
                    "task": task_id, "type": kind, "body": body, "attempts": 0, "first_try_ms": 0,
                })
                pipe.rpush(self._k("q", webhook_id, task_id), event_id)
                pipe.zadd(self._k("ready", webhook_id), {task_id: now_ms}, nx=True)
            pipe.set(self._k("cursor", webhook_id), cursor)
            await pipe.execute()

    async def due_heads(self, webhook_id: str, now_ms: int, limit: int) -> list[Delivery]:
        """The first pending delivery of each task whose next attempt is due."""
        tasks = await self.redis.zrangebyscore(self._k("ready", webhook_id), "-inf", now_ms, start=0, num=limit)
        heads = []
        for task in tasks:
            head = await self.redis.lindex(self._k("q", webhook_id, task), 0)
            if head is None:
                await self.redis.zrem(self._k("ready", webhook_id), task)
                continue
            h = await self.redis.hgetall(self._k("d", webhook_id, head))
            heads.append(Delivery(head, webhook_id, task, h.get("type", ""), h.get("body", "").encode(),
                                  int(h.get("attempts") or 0), int(h.get("first_try_ms") or 0)))
        return heads

    async def _log(self, pipe: Any, delivery: Delivery, outcome: str, at_ms: int, detail: Mapping[str, Any]) -> None:
        pipe.xadd(self._k("log", delivery.webhook_id), {
            "event_id": delivery.id, "task": delivery.task_id, "type": delivery.type, "outcome": outcome,
            "attempt": delivery.attempts + 1, "at": at_ms, **{k: str(v) for k, v in detail.items()},
        }, maxlen=LOG_LENGTH, approximate=True)

    async def _pop_head(self, pipe: Any, delivery: Delivery, now_ms: int) -> None:
        pipe.lpop(self._k("q", delivery.webhook_id, delivery.task_id))
        pipe.zadd(self._k("ready", delivery.webhook_id), {delivery.task_id: now_ms})

    async def delivered(self, delivery: Delivery, now_ms: int, detail: Mapping[str, Any]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            await self._pop_head(pipe, delivery, now_ms)
            pipe.delete(self._k("d", delivery.webhook_id, delivery.id))
            await self._log(pipe, delivery, "delivered", now_ms, detail)
            await pipe.execute()
        await self._forget_if_empty(delivery)

    async def retry_later(self, delivery: Delivery, now_ms: int, next_ms: int, detail: Mapping[str, Any]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._k("d", delivery.webhook_id, delivery.id), mapping={
                "attempts": delivery.attempts + 1, "first_try_ms": delivery.first_try_ms or now_ms,
            })
            pipe.zadd(self._k("ready", delivery.webhook_id), {delivery.task_id: next_ms})
            await self._log(pipe, delivery, "failed", now_ms, {**detail, "retry_at": next_ms})
            await pipe.execute()

    async def dead_letter(self, delivery: Delivery, now_ms: int, detail: Mapping[str, Any]) -> None:
        """Give up on the head delivery (kept for replay); the task's next delivery goes next."""
        async with self.redis.pipeline(transaction=True) as pipe:
            await self._pop_head(pipe, delivery, now_ms)
            pipe.hset(self._k("d", delivery.webhook_id, delivery.id), "attempts", delivery.attempts + 1)
            pipe.rpush(self._k("dead", delivery.webhook_id), delivery.id)
            await self._log(pipe, delivery, "dead-lettered", now_ms, detail)
            await pipe.execute()
        await self._forget_if_empty(delivery)

    async def _forget_if_empty(self, delivery: Delivery) -> None:
        if not await self.redis.llen(self._k("q", delivery.webhook_id, delivery.task_id)):
            await self.redis.zrem(self._k("ready", delivery.webhook_id), delivery.task_id)

    async def log(self, webhook_id: str, count: int = 100) -> list[dict[str, Any]]:
        """The newest attempts first."""
        await self.get(webhook_id)
        entries = await self.redis.xrevrange(self._k("log", webhook_id), count=count)
        return [{"id": entry_id, **fields} for entry_id, fields in entries]

    async def dead_letters(self, webhook_id: str) -> list[dict[str, Any]]:
        await self.get(webhook_id)
        out = []
        for delivery_id in await self.redis.lrange(self._k("dead", webhook_id), 0, -1):
            h = await self.redis.hgetall(self._k("d", webhook_id, delivery_id))
            out.append({"event_id": delivery_id, "task_id": h.get("task", ""), "type": h.get("type", ""),
                        "attempts": int(h.get("attempts") or 0)})
        return out

    async def replay_dead_letters(self, webhook_id: str, now_ms: int) -> int:
        """Queue every dead letter again (behind what its task has pending); returns how many."""
        await self.get(webhook_id)
        ids = await self.redis.lrange(self._k("dead", webhook_id), 0, -1)
        async with self.redis.pipeline(transaction=True) as pipe:
            for delivery_id in ids:
                task = await self.redis.hget(self._k("d", webhook_id, delivery_id), "task")
                pipe.hset(self._k("d", webhook_id, delivery_id), mapping={"attempts": 0, "first_try_ms": 0})
                pipe.rpush(self._k("q", webhook_id, task), delivery_id)
                pipe.zadd(self._k("ready", webhook_id), {task: now_ms}, nx=True)
            pipe.delete(self._k("dead", webhook_id))
            await pipe.execute()
        return len(ids)

    async def pending(self, webhook_id: str) -> int:
        """Tasks with deliveries still to make."""
        return int(await self.redis.zcard(self._k("ready", webhook_id)))
