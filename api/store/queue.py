"""The live queue on Redis: the only module that talks to Redis for the service.

Every state change is one Lua script (api/store/lua/*.lua) run atomically with the time passed in, so
tests can drive the clock; a script's refusal comes back as NotFound, Conflict or Forbidden.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from api.store.keys import Keys
from api.store.outage import close_within
from api.store.records import agent_from_hash, handle_s_from_hash
from dispatcher.domain import DEFAULT_HANDLE_S, Quadrant, SlaPolicy
from dispatcher.errors import Conflict, DispatchwiseError, Forbidden, InvalidInput, NotFound

TASK_STATES = ("queued", "offered", "assigned", "completed", "cancelled")
AGENT_STATUSES = ("available", "break", "offline")
"""Statuses an agent or supervisor may set; the queue itself may set ``unavailable`` after misses."""

def request_digest(skill: str, urgent: bool, important: bool, deadline_ms: int | None, handle_s: float,
                   payload_json: str, customer_id: str | None) -> str:
    """What a create request asked for, so a repeat of its external_id can be told apart from a clash."""
    text = orjson.dumps([skill, urgent, important, deadline_ms, float(handle_s), payload_json, customer_id or ""])
    return hashlib.sha256(text).hexdigest()[:32]


def now_ms_from(clock: Callable[[], float]) -> int:
    return int(clock() * 1000)


def iso_from_ms(value: str | int | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return None  # outside what datetime can print; inputs are range-checked at the edge


def ms_from_datetime(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def flat_to_dict(flat: Sequence[Any]) -> dict[str, str]:
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}


def task_view(h: Mapping[str, str]) -> dict[str, Any]:
    """The public JSON shape of a stored task hash."""
    outcome = orjson.loads(h["outcome"]) if h.get("outcome") else None
    return {
        "id": h["id"],
        "external_id": h.get("external_id", ""),
        "source": h.get("source", ""),
        "skill": h.get("skill", ""),
        "urgent": h.get("urgent") == "1",
        "important": h.get("important") == "1",
        "quadrant": h.get("quadrant", ""),
        "status": h.get("status", ""),
        "created_at": iso_from_ms(h.get("created_ms")),
        "due_at": iso_from_ms(h.get("due_ms")),
        "deadline": iso_from_ms(h.get("deadline_ms")),
        "resolve_by": iso_from_ms(h.get("resolve_by_ms")),
        "expected_handle_s": handle_s_from_hash(h),
        "payload": orjson.loads(h["payload"]) if h.get("payload") else {},
        "customer_id": h.get("customer_id") or None,
        "agent_id": h.get("agent") or None,
        "offer_id": h.get("offer_id") or None,
        "previous_agent": h.get("previous_agent") or None,
        "escalated": h.get("escalated") == "1",
        "accepted_at": iso_from_ms(h.get("accepted_ms")),
        "completed_at": iso_from_ms(h.get("completed_ms")),
        "cancelled_at": iso_from_ms(h.get("cancelled_ms")),
        "outcome": outcome,
        "satisfaction": int(h["satisfaction"]) if h.get("satisfaction") else None,
    }


def agent_view(h: Mapping[str, str], task_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The public JSON shape of a stored agent hash."""
    agent = agent_from_hash(h)
    active = int(h.get("active", "0") or 0)
    return {
        "id": agent.id,
        "name": h.get("name", ""),
        "skills": dict(agent.skills),
        "primary_skills": sorted(agent.primary_skills),
        "capacity": agent.capacity,
        "team": agent.team,
        "supervisor": agent.supervisor,
        "status": h.get("status", "offline"),
        "status_since": iso_from_ms(h.get("status_ms")),
        "active_tasks": active,
        "load": round(active / agent.capacity, 3),
        "misses": int(h.get("misses", "0") or 0),
        "handled_s": round(float(h.get("handled_s", "0") or 0), 3),
        "tasks": sorted(task_ids),
    }


def _raise_refusal(reply: Sequence[Any]) -> None:
    code = reply[0]
    message = str(reply[1]) if len(reply) > 1 else code
    if code == "NOTFOUND":
        raise NotFound(message)
    if code == "CONFLICT":
        raise Conflict(message)
    if code == "FORBIDDEN":
        raise Forbidden(message)
    if code == "INVALID":
        raise InvalidInput(message, field="skill")
    raise DispatchwiseError(f"unexpected reply from Redis script: {reply!r}")


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    expires_ms: int
    task: dict[str, str]


@dataclass(frozen=True, slots=True)
class PullResult:
    offer: Offer | None
    why: str
    """``offer``, or why there is none: ``busy`` (agent not available or full), ``schedule`` (on a
    scheduled break), ``batch``, ``guard`` (no queued task fits before the next break or shift end), ``empty``."""
    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PullSchedule:
    """What the pull path needs of an agent's published shift (see api/live/pull.py)."""

    working: bool
    """Scheduled to work now; False = on a scheduled break: no new offer."""
    time_left_s: float
    """Seconds until the next break or shift end: only tasks expected to be handled within it."""
    shift_term: Mapping[str, Any]
    """The offer explanation's ``shift`` term."""
    guard_note: str
    """printf-style text of the term's ``guard`` from (expected handling s, seconds to interruption)."""

    def to_json(self) -> str:
        return orjson.dumps({"working": self.working, "time_left_s": self.time_left_s, "shift": dict(self.shift_term),
                             "guard_note": self.guard_note, "default_handle_s": DEFAULT_HANDLE_S}).decode()


def lua_key_table(keys: Keys) -> str:
    """The ``K`` table every script starts from: key prefixes and fixed keys from api/store/keys.py."""
    prefixes = {
        "task": keys.task(""),
        "hist": keys.history(""),
        "queue": keys.queue(""),
        "ext": keys.external(""),
        "agent": keys.agent(""),
        "aoffers": keys.agent_offers(""),
        "atasks": keys.agent_tasks(""),
        "wake": keys.wake(""),
        "offer": keys.offer(""),
        "alert": keys.alert(""),
        "agents": keys.agents,
        "skills": keys.skills,
        "offer_expiry": keys.offer_expiry,
        "sla": keys.sla,
        "alerts": keys.alerts,
        "audit": keys.audit,
        "seq": keys.seq,
        "lease": keys.lease,
        "batch": keys.batch,
        "kick": keys.kick,
        "notify": keys.notify,
        "available": keys.available,
    }
    body = ", ".join(f"{name} = {orjson.dumps(value).decode()}" for name, value in prefixes.items())
    return f"local K = {{{body}}}\n"


def load_script_source(name: str, keys: Keys) -> str:
    lua = resources.files("api.store") / "lua"
    return lua_key_table(keys) + (lua / "_lib.lua").read_text() + (lua / f"{name}.lua").read_text()


SCRIPT_NAMES = (
    "create", "offer", "pull", "accept", "reject", "expire", "complete", "cancel",
    "transfer", "handoff", "update", "note", "status", "alert", "lease", "retire", "prune",
    "reindex",
)


class LiveQueue:
    """Tasks, agents, offers, alerts and the audit trail on one Redis database."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "dw",
        policy: SlaPolicy | None = None,
        offer_ttl_s: float = 30.0,
        max_misses: int = 3,
        max_payload_bytes: int = 64 << 10,
        allow_new_skills: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis: Any = client  # decode_responses=True: replies are str (the stubs say bytes | str)
        self.keys = Keys(prefix)
        self.policy = policy or SlaPolicy()
        self.offer_ttl_ms = int(offer_ttl_s * 1000)
        self.max_misses = max_misses
        self.max_payload_bytes = max_payload_bytes
        self.allow_new_skills = allow_new_skills
        """False: a task (or transfer) for a skill no agent has and no queue holds is refused (422)."""
        self.clock = clock
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(load_script_source(name, self.keys)) for name in SCRIPT_NAMES
        }

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 64, **kwargs: Any) -> LiveQueue:
        # long-polls hold no connection while waiting (api/store/notifier.py), so a small pool serves a
        # process; when it is busy, callers wait for a connection (up to 5 s) instead of failing at once
        # one retry on a fresh connection: after a Redis restart the pooled connections are stale, and the
        # first command on each would fail although the server is back (the scripts re-check state, so the
        # rare retry of a command the server did run is refused or answered as a repeat)
        pool = aioredis.BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=max_connections, timeout=5, retry=Retry(NoBackoff(), 1)
        )
        return cls(aioredis.Redis(connection_pool=pool), **kwargs)

    def now_ms(self) -> int:
        return now_ms_from(self.clock)

    async def close(self) -> None:
        await close_within(self.redis.aclose(close_connection_pool=True))

    async def _run(self, name: str, *args: Any) -> list[Any]:
        reply: list[Any] = await self._scripts[name](args=[self.now_ms(), *args])
        if reply[0] in ("NOTFOUND", "CONFLICT", "FORBIDDEN", "INVALID"):
            _raise_refusal(reply)
        return reply

    # ---- tasks -------------------------------------------------------------------------------
    def _sla_times(self, created_ms: int, quadrant: Quadrant, deadline_ms: int | None) -> tuple[int, int]:
        target = self.policy.target(quadrant)
        due = created_ms + int(target.response_s * 1000)
        if deadline_ms is not None:
            due = min(due, deadline_ms)
        resolve_by = created_ms + int(target.resolution_s * 1000)
        if deadline_ms is not None:
            resolve_by = max(min(resolve_by, deadline_ms), due)
        return due, resolve_by

    async def create_task(
        self,
        *,
        external_id: str,
        source: str,
        skill: str,
        urgent: bool,
        important: bool,
        deadline: datetime | None = None,
        expected_handle_s: float = DEFAULT_HANDLE_S,
        payload: Mapping[str, Any] | None = None,
        customer_id: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Create a task once per (source, external_id). Returns (task view, created?)."""
        now = self.now_ms()
        quadrant = Quadrant.from_flags(urgent, important)
        deadline_ms = ms_from_datetime(deadline) if deadline is not None else None
        due, resolve_by = self._sla_times(now, quadrant, deadline_ms)
        try:
            payload_json = orjson.dumps(dict(payload or {}), option=orjson.OPT_SORT_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise InvalidInput(f"payload cannot be stored as JSON: {exc}", field="payload") from exc
        if len(payload_json) > self.max_payload_bytes:
            raise InvalidInput(f"payload is {len(payload_json)} bytes as JSON; at most {self.max_payload_bytes} "
                               "(DISPATCHWISE_MAX_PAYLOAD_BYTES)", field="payload")
        sla_first = due - int(self.policy.warn_before_s * 1000)
        data = f'{{"quadrant":"{quadrant.value}","due_ms":{due}}}'
        digest = request_digest(skill, urgent, important, deadline_ms, expected_handle_s, payload_json, customer_id)
        reply: list[Any] = await self._scripts["create"](
            args=[
                now, source, external_id, skill, due, sla_first, data, "1" if self.allow_new_skills else "0",
                "request_digest", digest, "urgent", int(urgent), "important", int(important),
                "quadrant", quadrant.value,
                "deadline_ms", deadline_ms if deadline_ms is not None else "",
                "resolve_by_ms", resolve_by, "expected_handle_s", expected_handle_s,
                "payload", payload_json, "customer_id", customer_id or "",
                "sla_stage", 0, "sla_kind", "response",
            ]
        )
        if reply[0] == "EXISTS":
            stored_task = flat_to_dict(reply[2])
            if stored_task.get("request_digest", digest) != digest:
                raise Conflict(f"task {reply[1]} was created from {source}/{external_id} with different content; "
                               "a repeat must be identical (or use a new external_id)", field="external_id")
            return task_view(stored_task), False
        if reply[0] == "INVALID":
            raise InvalidInput(str(reply[1]), field="skill")
        stored = {
            "id": reply[1], "external_id": external_id, "source": source, "skill": skill,
            "urgent": str(int(urgent)), "important": str(int(important)), "quadrant": quadrant.value,
            "status": "queued", "created_ms": str(now), "due_ms": str(due),
            "deadline_ms": str(deadline_ms) if deadline_ms is not None else "",
            "resolve_by_ms": str(resolve_by), "expected_handle_s": str(expected_handle_s),
            "payload": payload_json, "customer_id": customer_id or "",
        }
        return task_view(stored), True

    async def task_hash(self, task_id: str) -> dict[str, str]:
        h: dict[str, str] = await self.redis.hgetall(self.keys.task(task_id))
        if not h:
            raise NotFound(f"task {task_id} not found", field="task_id")
        return h

    async def get_task(self, task_id: str) -> dict[str, Any]:
        return task_view(await self.task_hash(task_id))

    async def history(self, task_id: str) -> list[dict[str, Any]]:
        await self.task_hash(task_id)
        entries = await self.redis.xrange(self.keys.history(task_id))
        return [event_view(entry_id, fields) for entry_id, fields in entries]

    async def complete(
        self, task_id: str, *, actor: str, acting_agent: str | None = None, outcome: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        data = orjson.dumps(dict(outcome or {})).decode()
        reply = await self._run("complete", task_id, acting_agent or "", actor, data)
        return task_view(flat_to_dict(reply[1]))

    async def cancel(self, task_id: str, *, actor: str, reason: str = "") -> dict[str, Any]:
        reply = await self._run("cancel", task_id, actor, reason)
        return task_view(flat_to_dict(reply[1]))

    async def transfer(
        self, task_id: str, *, actor: str, acting_agent: str | None = None, skill: str | None = None, reason: str = ""
    ) -> dict[str, Any]:
        if skill and not self.allow_new_skills and not await self.redis.sismember(self.keys.skills, skill):
            raise InvalidInput(f"unknown skill {skill}: no agent has it (set DISPATCHWISE_ALLOW_NEW_SKILLS=1 to "
                               "accept new skills)", field="skill")
        reply = await self._run("transfer", task_id, acting_agent or "", actor, skill or "", reason)
        return task_view(flat_to_dict(reply[1]))

    async def transfer_to_agent(
        self, task_id: str, agent_id: str, *, actor: str, acting_agent: str | None = None, reason: str = ""
    ) -> Offer:
        """Offer an open task to a named agent at once (handoff.lua); the SLA clock keeps running."""
        reply = await self._run("handoff", task_id, acting_agent or "", actor, agent_id, self.offer_ttl_ms, reason)
        return Offer(reply[1], int(reply[2]), flat_to_dict(reply[3]))

    async def reprioritize(
        self,
        task_id: str,
        *,
        actor: str,
        acting_agent: str | None = None,
        urgent: bool | None = None,
        important: bool | None = None,
        deadline: datetime | None = None,
        escalate: bool = False,
        reason: str = "",
    ) -> dict[str, Any]:
        """PATCH priority/due time, or escalate (urgent from now on): re-computes the SLA times."""
        h = await self.task_hash(task_id)
        new_urgent = True if escalate else (h.get("urgent") == "1" if urgent is None else urgent)
        new_important = h.get("important") == "1" if important is None else important
        quadrant = Quadrant.from_flags(new_urgent, new_important)
        deadline_ms = ms_from_datetime(deadline) if deadline is not None else (
            int(h["deadline_ms"]) if h.get("deadline_ms") else None
        )
        due, resolve_by = self._sla_times(int(h["created_ms"]), quadrant, deadline_ms)
        fields: list[Any] = [
            "urgent", int(new_urgent), "important", int(new_important), "quadrant", quadrant.value,
            "deadline_ms", deadline_ms if deadline_ms is not None else "", "resolve_by_ms", resolve_by,
        ]
        warn_ms = int(self.policy.warn_before_s * 1000)
        accepted = bool(h.get("accepted_ms"))
        sla_trigger: int | str = ""
        if h.get("status") in ("queued", "offered", "assigned"):
            sla_trigger = (resolve_by if accepted else due) - warn_ms
            fields += ["sla_stage", h.get("sla_stage", "0") if escalate else 0]
        if escalate:
            fields += ["escalated", 1]
        event = "escalated" if escalate else "reprioritized"
        data = orjson.dumps(
            {"urgent": new_urgent, "important": new_important, "quadrant": quadrant.value, "reason": reason}
        ).decode()
        reply = await self._run("update", task_id, acting_agent or "", actor, event, data, due, sla_trigger, *fields)
        return task_view(flat_to_dict(reply[1]))

    async def note(self, task_id: str, *, event: str, actor: str, data: Mapping[str, Any],
                   field: str = "", value: str = "") -> None:
        await self._run("note", task_id, event, actor, orjson.dumps(dict(data)).decode(), field, value)

    # ---- agents ------------------------------------------------------------------------------
    async def put_agent(
        self,
        agent_id: str,
        *,
        name: str,
        skills: Mapping[str, int],
        primary_skills: Sequence[str],
        capacity: int,
        team: str = "",
        supervisor: str = "",
    ) -> dict[str, Any]:
        """Create or update an agent's profile; status and counters are kept (new agents: offline)."""
        key = self.keys.agent(agent_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={
                "id": agent_id, "name": name, "skills": orjson.dumps(dict(skills)).decode(),
                "primary": orjson.dumps(sorted(primary_skills)).decode(), "capacity": capacity,
                "team": team, "supervisor": supervisor,
            })
            pipe.hsetnx(key, "status", "offline")
            pipe.hsetnx(key, "status_ms", self.now_ms())
            pipe.hsetnx(key, "active", 0)
            pipe.hsetnx(key, "misses", 0)
            pipe.sadd(self.keys.agents, agent_id)
            pipe.sadd(self.keys.skills, *skills.keys())
            await pipe.execute()
        await self.prune_skills()  # a skill this agent no longer has may be needed by nobody now
        return await self.get_agent(agent_id)

    async def retire_agent(self, agent_id: str, *, actor: str) -> int:
        """Delete an agent holding no assigned task (pending offers withdrawn); returns skills dropped."""
        reply = await self._run("retire", agent_id, actor)
        return int(reply[2])

    async def prune_skills(self) -> int:
        """Drop skills that no agent has and no queued task needs; returns how many."""
        return int((await self._run("prune"))[1])

    async def get_agent(self, agent_id: str) -> dict[str, Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.agent(agent_id))
            pipe.smembers(self.keys.agent_tasks(agent_id))
            h, tasks = await pipe.execute()
        if not h:
            raise NotFound(f"agent {agent_id} not found", field="agent_id")
        return agent_view(h, sorted(tasks))

    async def set_status(self, agent_id: str, status: str, *, actor: str) -> dict[str, Any]:
        await self._run("status", agent_id, status, actor)
        return await self.get_agent(agent_id)

    async def _agent_hashes_in(self, index_key: str) -> list[dict[str, str]]:
        ids = sorted(await self.redis.smembers(index_key))
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for agent_id in ids:
                pipe.hgetall(self.keys.agent(agent_id))
            rows: list[dict[str, str]] = await pipe.execute()
        return [row for row in rows if row]

    async def agent_hashes(self) -> list[dict[str, str]]:
        return await self._agent_hashes_in(self.keys.agents)

    async def available_agent_hashes(self) -> list[dict[str, str]]:
        """Agents whose status is ``available``, read through the index the status scripts keep: a dispatch
        round costs the available agents, not every agent ever registered."""
        return [row for row in await self._agent_hashes_in(self.keys.available) if row.get("status") == "available"]

    async def rebuild_available_index(self) -> int:
        """Build the available-agents index from the agent hashes (data written before the index existed)."""
        return int((await self._run("reindex"))[1])

    async def agents_board(self) -> list[dict[str, Any]]:
        rows = await self.agent_hashes()
        async with self.redis.pipeline(transaction=False) as pipe:
            for row in rows:
                pipe.smembers(self.keys.agent_tasks(row["id"]))
            held = await pipe.execute()
        return [agent_view(row, sorted(tasks)) for row, tasks in zip(rows, held, strict=True)]

    # ---- offers ------------------------------------------------------------------------------
    async def offer(self, task_id: str, agent_id: str, *, explanation: Mapping[str, Any],
                    actor: str = "dispatcher") -> Offer:
        reply = await self._run(
            "offer", task_id, agent_id, self.offer_ttl_ms, orjson.dumps(dict(explanation)).decode(), actor
        )
        return Offer(reply[1], int(reply[2]), flat_to_dict(reply[3]))

    async def offer_many(
        self, pairs: Sequence[tuple[str, str, Mapping[str, Any]]], *, actor: str = "dispatcher"
    ) -> list[Offer | DispatchwiseError]:
        """Offer many (task, agent, explanation) pairs in one pipelined round trip; each offer is
        its own atomic script, so a stale pair comes back as Conflict/NotFound, the rest succeed."""
        if not pairs:
            return []
        script = self._scripts["offer"]
        now = self.now_ms()
        async with self.redis.pipeline(transaction=False) as pipe:
            for task_id, agent_id, explanation in pairs:
                await script(args=[now, task_id, agent_id, self.offer_ttl_ms,
                                   orjson.dumps(dict(explanation)).decode(), actor], client=pipe)
            replies = await pipe.execute()
        out: list[Offer | DispatchwiseError] = []
        for reply in replies:
            if reply[0] == "OK":
                out.append(Offer(reply[1], int(reply[2]), flat_to_dict(reply[3])))
            else:
                try:
                    _raise_refusal(reply)
                except DispatchwiseError as exc:
                    out.append(exc)
        return out

    async def pull(self, agent_id: str, *, scan_depth: int = 20) -> Offer | None:
        """The agent's pending offer, or a new one from the pull path; None when nothing fits."""
        return (await self.pull_or_why(agent_id, scan_depth=scan_depth)).offer

    async def pull_or_why(self, agent_id: str, *, scan_depth: int = 20,
                          schedule: PullSchedule | None = None) -> PullResult:
        """Like :meth:`pull`, and when nothing fits, why (:attr:`PullResult.why`) and the agent's skills.
        With ``schedule`` (the agent's published shift now) no offer during a break, and only tasks that fit
        before the next break or shift end."""
        reply = await self._run("pull", agent_id, self.offer_ttl_ms, scan_depth,
                                "" if schedule is None else schedule.to_json())
        if reply[0] == "NONE":
            skills = tuple(orjson.loads(reply[2])) if len(reply) > 2 and reply[2] else ()
            return PullResult(None, str(reply[1]) if len(reply) > 1 else "empty", skills)
        return PullResult(Offer(reply[1], int(reply[2]), flat_to_dict(reply[3])), "offer", ())

    async def wait_for_kick(self, timeout_s: float) -> None:
        """Block until new work or free capacity is signalled (or the timeout), then clear the signal."""
        if await self.redis.blpop([self.keys.kick], timeout=max(timeout_s, 0.01)):
            await self.redis.delete(self.keys.kick)

    async def wait_for_wake(self, agent_id: str, timeout_s: float) -> None:
        await self.redis.blpop([self.keys.wake(agent_id)], timeout=max(timeout_s, 0.01))

    async def offer_hash(self, offer_id: str) -> dict[str, str]:
        h: dict[str, str] = await self.redis.hgetall(self.keys.offer(offer_id))
        if not h:
            raise NotFound(f"offer {offer_id} not found", field="offer_id")
        return h

    async def accept(self, offer_id: str, *, actor: str, acting_agent: str | None = None) -> dict[str, Any]:
        warn_ms = int(self.policy.warn_before_s * 1000)
        reply = await self._run("accept", offer_id, acting_agent or "", actor, -warn_ms)
        return task_view(flat_to_dict(reply[1]))

    async def reject(self, offer_id: str, *, actor: str, acting_agent: str | None = None,
                     reason: str = "") -> dict[str, Any]:
        reply = await self._run("reject", offer_id, acting_agent or "", actor, self.max_misses, reason)
        return task_view(flat_to_dict(reply[1]))

    async def expire_offers(self, limit: int = 1000) -> int:
        """Re-queue every task whose offer has expired; also the recovery step on start-up."""
        reply = await self._run("expire", self.max_misses, limit)
        return int(reply[1])

    # ---- dispatch support --------------------------------------------------------------------
    async def take_lease(self, owner: str, lease_ms: int) -> bool:
        reply = await self._run("lease", owner, lease_ms)
        return int(reply[1]) == 1

    async def release_lease(self, owner: str) -> None:
        value = await self.redis.get(self.keys.lease)
        if value and value.split("|", 1)[0] == owner:
            await self.redis.delete(self.keys.lease)

    async def mark_batch(self, on: bool, ttl_ms: int = 5000) -> None:
        if on:
            await self.redis.set(self.keys.batch, "1", px=ttl_ms)
        else:
            await self.redis.delete(self.keys.batch)

    async def skills(self) -> list[str]:
        return sorted(await self.redis.smembers(self.keys.skills))

    async def queued_hashes(self, per_skill: int = 500) -> list[dict[str, str]]:
        """The most pressing queued tasks of every skill (earliest response due first)."""
        skills = await self.skills()
        async with self.redis.pipeline(transaction=False) as pipe:
            for skill in skills:
                pipe.zrange(self.keys.queue(skill), 0, per_skill - 1)
            id_lists = await pipe.execute()
        ids = [task_id for ids in id_lists for task_id in ids]
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hgetall(self.keys.task(task_id))
            rows: list[dict[str, str]] = await pipe.execute()
        return [row for row in rows if row and row.get("status") == "queued"]

    # ---- SLA and alerts ----------------------------------------------------------------------
    async def sla_due(self, until_ms: int, limit: int = 500) -> list[dict[str, str]]:
        ids = await self.redis.zrangebyscore(self.keys.sla, "-inf", until_ms, start=0, num=limit)
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hgetall(self.keys.task(task_id))
            rows = await pipe.execute()
        out = []
        for task_id, row in zip(ids, rows, strict=True):
            if row:
                out.append(row)
            else:
                await self.redis.zrem(self.keys.sla, task_id)
        return out

    async def reschedule_sla(self, task_id: str, trigger_ms: int | None) -> None:
        if trigger_ms is None:
            await self.redis.zrem(self.keys.sla, task_id)
        else:
            await self.redis.zadd(self.keys.sla, {task_id: trigger_ms}, xx=True)

    async def raise_stage(self, task_id: str, *, stage: int, kind: str, owner: str, message: str,
                          next_trigger_ms: int | None) -> str | None:
        reply = await self._run(
            "alert", task_id, stage, kind, owner, message, "" if next_trigger_ms is None else next_trigger_ms
        )
        return str(reply[1]) if reply[0] == "OK" else None

    async def alerts(self, since_ms: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        ids = await self.redis.zrevrangebyscore(self.keys.alerts, "+inf", since_ms, start=0, num=limit)
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for alert_id in ids:
                pipe.hgetall(self.keys.alert(alert_id))
            rows = await pipe.execute()
        return [
            {
                "id": r["id"], "task_id": r["task"], "level": r["level"], "kind": r["kind"],
                "owner": r["owner"], "message": r["message"], "skill": r.get("skill", ""),
                "agent_id": r.get("agent") or None, "raised_at": iso_from_ms(r["raised_ms"]),
            }
            for r in rows if r
        ]

    # ---- boards, audit and keys --------------------------------------------------------------
    async def queue_rows(self) -> dict[str, list[tuple[str, float]]]:
        skills = await self.skills()
        async with self.redis.pipeline(transaction=False) as pipe:
            for skill in skills:
                pipe.zrange(self.keys.queue(skill), 0, -1, withscores=True)
            lists = await pipe.execute()
        return {skill: [(m, float(s)) for m, s in rows] for skill, rows in zip(skills, lists, strict=True)}

    async def queue_heads(self, per_skill: int) -> tuple[dict[str, list[tuple[str, float]]], dict[str, int]]:
        """The ``per_skill`` most pressing queued tasks of every skill (id, due ms) and every queue's depth."""
        skills = await self.skills()
        async with self.redis.pipeline(transaction=False) as pipe:
            for skill in skills:
                pipe.zrange(self.keys.queue(skill), 0, per_skill - 1, withscores=True)
                pipe.zcard(self.keys.queue(skill))
            replies = await pipe.execute()
        heads = {skill: [(m, float(sc)) for m, sc in replies[2 * i]] for i, skill in enumerate(skills)}
        depths = {skill: int(replies[2 * i + 1]) for i, skill in enumerate(skills)}
        return heads, depths

    async def queued_page(self, skill: str, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """One page of a skill's queue, most pressing first: (depth, task views)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.queue(skill))
            pipe.zrange(self.keys.queue(skill), offset, offset + limit - 1)
            depth, ids = await pipe.execute()
        if not ids:
            return int(depth), []
        async with self.redis.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hgetall(self.keys.task(task_id))
            rows: list[dict[str, str]] = await pipe.execute()
        return int(depth), [task_view(row) for row in rows if row]

    async def queue_depths(self) -> dict[str, int]:
        """Queued tasks per skill (ZCARD each: no task is read)."""
        skills = await self.skills()
        async with self.redis.pipeline(transaction=False) as pipe:
            for skill in skills:
                pipe.zcard(self.keys.queue(skill))
            counts = await pipe.execute()
        return dict(zip(skills, (int(c) for c in counts), strict=True))

    async def hashes(self, task_ids: Sequence[str], fields: Sequence[str]) -> list[list[str | None]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for task_id in task_ids:
                pipe.hmget(self.keys.task(task_id), list(fields))
            rows: list[list[str | None]] = await pipe.execute()
        return rows

    async def audit_events(self, start: str = "-", end: str = "+", count: int = 10_000) -> list[dict[str, Any]]:
        entries = await self.redis.xrange(self.keys.audit, start, end, count=count)
        return [event_view(entry_id, fields) for entry_id, fields in entries]

    async def all_audit_events(self, page: int = 10_000) -> list[dict[str, Any]]:
        """The whole audit trail, oldest first, read in pages so no single reply grows unbounded."""
        events: list[dict[str, Any]] = []
        start = "-"
        while True:
            chunk = await self.audit_events(start, "+", page)
            events.extend(chunk)
            if len(chunk) < page:
                return events
            start = "(" + chunk[-1]["id"]

    async def read_events(self, last_id: str, block_ms: int, count: int = 100) -> list[dict[str, Any]]:
        reply = await self.redis.xread({self.keys.audit: last_id}, count=count, block=block_ms)
        if not reply:
            return []
        return [event_view(entry_id, fields) for entry_id, fields in reply[0][1]]

    async def store_key(self, digest: str, role: str, agent_id: str | None, expires_ms: int | None = None) -> str:
        """Store a key digest; returns its id (``K<n>``), by which it is listed and revoked."""
        key_id = f"K{await self.redis.hincrby(self.keys.seq, 'key', 1)}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.api_key(digest), mapping={
                "id": key_id, "role": role, "agent": agent_id or "", "created_ms": self.now_ms(),
                "expires_ms": expires_ms if expires_ms is not None else "",
            })
            pipe.hset(self.keys.api_keys, key_id, digest)
            await pipe.execute()
        return key_id

    async def lookup_key(self, digest: str) -> tuple[str, str | None, int | None] | None:
        """The (role, agent id, expiry ms or None) a stored key digest was issued for, or None."""
        h = await self.redis.hgetall(self.keys.api_key(digest))
        if not h:
            return None
        expires = int(h["expires_ms"]) if h.get("expires_ms") else None
        return h["role"], h.get("agent") or None, expires

    async def list_keys(self) -> list[dict[str, Any]]:
        index: dict[str, str] = await self.redis.hgetall(self.keys.api_keys)
        ids = sorted(index, key=lambda k: int(k[1:]) if k[1:].isdigit() else 0)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key_id in ids:
                pipe.hgetall(self.keys.api_key(index[key_id]))
            rows: list[dict[str, str]] = await pipe.execute()
        return [self._key_view(row) for row in rows if row]

    async def get_key(self, key_id: str) -> dict[str, Any]:
        digest = await self.redis.hget(self.keys.api_keys, key_id)
        h = await self.redis.hgetall(self.keys.api_key(digest)) if digest else {}
        if not h:
            raise NotFound(f"key {key_id} not found", field="key_id")
        return self._key_view(h)

    async def revoke_key(self, key_id: str) -> str:
        """Delete a key at once and tell every API process to drop it from its cache; returns its digest."""
        digest = await self.redis.hget(self.keys.api_keys, key_id)
        if not digest:
            raise NotFound(f"key {key_id} not found", field="key_id")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.api_key(digest))
            pipe.hdel(self.keys.api_keys, key_id)
            pipe.publish(self.keys.notify, f"k:{digest}")
            await pipe.execute()
        return str(digest)

    async def store_session(self, token_digest: str, key_digest: str, ttl_ms: int) -> None:
        """A dashboard session: the digest of the key that opened it, expiring after ``ttl_ms``."""
        await self.redis.set(self.keys.session(token_digest), key_digest, px=ttl_ms)

    async def session_key_digest(self, token_digest: str) -> str | None:
        value: str | None = await self.redis.get(self.keys.session(token_digest))
        return value

    async def drop_session(self, token_digest: str) -> None:
        await self.redis.delete(self.keys.session(token_digest))

    def _key_view(self, h: Mapping[str, str]) -> dict[str, Any]:
        expires = h.get("expires_ms") or None
        return {
            "id": h.get("id", ""), "role": h.get("role", ""), "agent_id": h.get("agent") or None,
            "created_at": iso_from_ms(h.get("created_ms")), "expires_at": iso_from_ms(expires),
            "expired": expires is not None and int(expires) <= self.now_ms(),
        }

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def newest_audit_id(self) -> str:
        """The id of the newest audit event, or "0" when there is none."""
        newest = await self.redis.xrevrange(self.keys.audit, count=1)
        return str(newest[0][0]) if newest else "0"

    async def counters(self) -> dict[str, int]:
        """Pending offers, raised alerts and audit events: the gauges and counters of ``/metrics``."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.offer_expiry)
            pipe.zcard(self.keys.alerts)
            pipe.xlen(self.keys.audit)
            offers, alerts, audit = await pipe.execute()
        return {"pending_offers": int(offers), "alerts": int(alerts), "audit_events": int(audit)}

    async def server_info(self) -> dict[str, str]:
        """Redis version and persistence settings, for ``dispatchwise doctor``."""
        info = await self.redis.info("server")
        appendonly = (await self.redis.config_get("appendonly")).get("appendonly", "unknown")
        appendfsync = (await self.redis.config_get("appendfsync")).get("appendfsync", "unknown")
        return {"redis_version": str(info.get("redis_version", "unknown")), "appendonly": str(appendonly),
                "appendfsync": str(appendfsync)}


def event_view(entry_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    data_text = fields.get("data", "")
    data: Any = data_text
    if data_text[:1] in ("{", "["):
        try:
            data = orjson.loads(data_text)
        except orjson.JSONDecodeError:
            data = data_text
    return {
        "id": entry_id,
        "task_id": fields.get("task", ""),
        "event": fields.get("event", ""),
        "actor": fields.get("actor", ""),
        "agent_id": fields.get("agent") or None,
        "skill": fields.get("skill", ""),
        "at": iso_from_ms(fields.get("at")),
        "at_ms": int(fields.get("at", "0") or 0),
        "data": data if data != "" else None,
    }
