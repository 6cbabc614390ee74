"""The published plan in Redis: forecast and roster versions, the days each version is in force,
actual volume counted from the audit stream, and floor alerts (adherence, staffing) raised once.

Keys (prefix ``{p}`` = ``<key_prefix>:plan``, built by api.store.keys)
- ``{p}:{kind}:seq`` counter of versions · ``{p}:{kind}:versions`` sorted set version -> published ms
- ``{p}:{kind}:v:{n}`` hash: version, rows, from, to, published_at, actor, days (JSON), csv (the body)
- ``{p}:{kind}:days`` hash local date -> version in force · ``{p}:{kind}:day:{date}`` hash queue or agent -> JSON
- ``{p}:actual:{skill}:{utc day number}`` hash bucket start ms -> tasks created · ``{p}:actual:cursor``
- ``{p}:once:{occasion}`` marks an alerted occasion (expires)

A publish is one MULTI/EXEC under WATCH of the version counter: the new version's days replace those
days whole, other days stay, and a concurrent publish retries rather than interleaving.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from redis.exceptions import WatchError

from api.formats.plan import DayForecast, PlanBody, shift_from_json
from api.store.queue import LiveQueue, iso_from_ms, load_script_source
from dispatcher.domain import Shift
from dispatcher.errors import Conflict, InvalidInput

KINDS = ("forecast", "roster")
ACTUAL_BUCKET_MS = 5 * 60_000
"""Created tasks are counted in 5-minute buckets: they add up to 15-, 30- or 60-minute periods."""
ACTUAL_PAGE = 10_000
MS_PER_DAY = 86_400_000
BOARD_FIELDS = ("id", "status", "status_ms", "active", "skills", "supervisor")


@dataclass(frozen=True, slots=True)
class Published:
    version: int
    rows: int
    first: date
    last: date

    def view(self) -> dict[str, Any]:
        return {"version": self.version, "rows": self.rows, "from": self.first.isoformat(),
                "to": self.last.isoformat()}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"plan kind must be one of {', '.join(KINDS)}, got {kind!r}", field="kind")


class PlanStore:
    """The plan of one deployment, on the live queue's Redis client and clock."""

    def __init__(self, queue: LiveQueue, *, timezone: str = "UTC") -> None:
        self.queue = queue
        self.redis: Any = queue.redis
        self.keys = queue.keys
        self.tz = ZoneInfo(timezone)
        self._roster_cache: dict[date, tuple[int, dict[str, list[Shift]]]] = {}
        self.derived: dict[tuple[Any, ...], Any] = {}
        """Values computed from a roster day version (e.g. duty spans), kept while that version is cached."""
        self._actual = self.redis.register_script(load_script_source("plan_actual", self.keys))
        self._alert = self.redis.register_script(load_script_source("plan_alert", self.keys))
        self._board = self.redis.register_script(load_script_source("plan_board", self.keys))

    def _key(self, *parts: str) -> str:
        return self.keys.plan(*parts)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.queue.now_ms() / 1000, tz=UTC)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The local day as an aware [start, end) (23 or 25 hours on a DST change)."""
        start = datetime.combine(day, datetime.min.time(), tzinfo=self.tz)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=self.tz)
        return start, end

    # ---- publishing ------------------------------------------------------------------------------
    async def publish(self, body: PlanBody, *, actor: str, text: str) -> Published:
        """Store ``body`` as the next version of its kind; its days replace those days, atomically."""
        _check_kind(body.kind)
        kind = body.kind
        now_ms = self.queue.now_ms()
        days = sorted(body.days)
        meta = {"rows": body.rows, "from": body.first.isoformat(), "to": body.last.isoformat(),
                "published_ms": now_ms, "actor": actor, "days": orjson.dumps([d.isoformat() for d in days]).decode()}
        seq = self._key(kind, "seq")
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(seq)
                    version = int(await pipe.get(seq) or 0) + 1
                    pipe.multi()
                    pipe.set(seq, version)
                    pipe.hset(self._key(kind, "v", str(version)), mapping={"version": version, **meta, "csv": text})
                    pipe.zadd(self._key(kind, "versions"), {str(version): now_ms})
                    for day in days:
                        day_key = self._key(kind, "day", day.isoformat())
                        pipe.delete(day_key)
                        pipe.hset(day_key, mapping={k: orjson.dumps(v).decode() for k, v in body.days[day].items()})
                        pipe.hset(self._key(kind, "days"), day.isoformat(), version)
                    data = {"kind": kind, "version": version, "rows": body.rows, "from": meta["from"],
                            "to": meta["to"]}
                    pipe.xadd(self.keys.audit, {"task": "", "event": "plan_published", "actor": actor, "at": now_ms,
                                                "agent": "", "skill": "", "data": orjson.dumps(data).decode()},
                              maxlen=5_000_000, approximate=True)
                    await pipe.execute()
                    return Published(version, body.rows, body.first, body.last)
                except WatchError:
                    continue

    async def versions(self, kind: str) -> list[dict[str, Any]]:
        """Every published version of ``kind``, newest first, with the days it still holds in force."""
        _check_kind(kind)
        numbers = await self.redis.zrevrange(self._key(kind, "versions"), 0, -1)
        fields = ["version", "rows", "from", "to", "published_ms", "actor", "days"]
        async with self.redis.pipeline(transaction=False) as pipe:
            for n in numbers:
                pipe.hmget(self._key(kind, "v", n), fields)
            pipe.hgetall(self._key(kind, "days"))
            *rows, in_force = await pipe.execute()
        out = []
        for row in rows:
            version, n_rows, first, last, published, actor, days = row
            held = sorted(d for d in orjson.loads(days or "[]") if in_force.get(d) == version)
            out.append({"version": int(version), "rows": int(n_rows), "from": first, "to": last,
                        "published_at": iso_from_ms(published), "actor": actor, "days_in_force": held})
        return out

    async def version_text(self, kind: str, version: int) -> str:
        _check_kind(kind)
        text = await self.redis.hget(self._key(kind, "v", str(version)), "csv")
        if text is None:
            raise InvalidInput(f"no {kind} version {version}", field="version")
        return str(text)

    async def days_in_force(self, kind: str) -> dict[date, int]:
        _check_kind(kind)
        raw = await self.redis.hgetall(self._key(kind, "days"))
        return {date.fromisoformat(d): int(v) for d, v in raw.items()}

    async def day_records(self, kind: str, day: date, names: Sequence[str] | None = None) -> dict[str, Any]:
        """Stored records of one day (per queue or agent), all or only ``names``."""
        key = self._key(kind, "day", day.isoformat())
        if names is None:
            raw = await self.redis.hgetall(key)
            return {k: orjson.loads(v) for k, v in raw.items()}
        values = await self.redis.hmget(key, list(names)) if names else []
        return {k: orjson.loads(v) for k, v in zip(names, values, strict=True) if v is not None}

    # ---- the roster in force -----------------------------------------------------------------------
    async def roster_days(self, days: Sequence[date]) -> dict[date, dict[str, list[Shift]]]:
        """Shifts per agent of each day that has a roster in force (parsed once per version, cached)."""
        if not days:
            return {}
        versions = await self.redis.hmget(self._key("roster", "days"), [d.isoformat() for d in days])
        out: dict[date, dict[str, list[Shift]]] = {}
        for day, version in zip(days, versions, strict=True):
            if version is None:
                continue
            cached = self._roster_cache.get(day)
            if cached is None or cached[0] != int(version):
                records = await self.day_records("roster", day)
                parsed = {agent: [shift_from_json(agent, s) for s in shifts] for agent, shifts in records.items()}
                cached = (int(version), parsed)
                self._roster_cache[day] = cached
                if len(self._roster_cache) > 14:
                    self._roster_cache.pop(min(self._roster_cache))
                self.derived = {k: v for k, v in self.derived.items() if self.roster_version(k[1]) == k[2]}
            out[day] = cached[1]
        return out

    def roster_version(self, day: date) -> int | None:
        """The version of ``day`` last read by ``roster_days`` (None if not read or not published)."""
        cached = self._roster_cache.get(day)
        return None if cached is None else cached[0]

    async def shifts_near(self, now: datetime) -> dict[str, list[Shift]] | None:
        """Each agent's shifts starting yesterday or today (local), or None when no roster covers today."""
        today = self.local_day(now)
        rosters = await self.roster_days([today - timedelta(days=1), today])
        if today not in rosters:
            return None
        key = ("near", today, self.roster_version(today), self.roster_version(today - timedelta(days=1)))
        merged: dict[str, list[Shift]] | None = self.derived.get(key)
        if merged is None:  # once per roster version: every dispatch round asks
            merged = {}
            for day in sorted(rosters):
                for agent, shifts in rosters[day].items():
                    merged.setdefault(agent, []).extend(shifts)
            self.derived = {k: v for k, v in self.derived.items() if k[0] != "near"}
            self.derived[key] = merged
        return merged

    async def shifts_for(self, agent_ids: Iterable[str], now: datetime) -> dict[str, Shift]:
        """The published shift containing ``now`` of each agent that has one (empty without a roster)."""
        near = await self.shifts_near(now)
        if not near:
            return {}
        out = {}
        for agent_id in agent_ids:
            shift = next((s for s in near.get(agent_id, ()) if s.start <= now < s.end), None)
            if shift is not None:
                out[agent_id] = shift
        return out

    async def forecast_day(self, day: date, queue: str) -> DayForecast | None:
        records = await self.day_records("forecast", day, [queue])
        return DayForecast.from_json(records[queue]) if queue in records else None

    async def forecast_queues(self, day: date) -> list[str]:
        return sorted(await self.redis.hkeys(self._key("forecast", "day", day.isoformat())))

    # ---- the floor ---------------------------------------------------------------------------------
    async def agent_board(self) -> list[dict[str, str]]:
        """id, status, status_ms, active, skills (JSON) and supervisor of every agent, in one round trip."""
        flat = await self._board(args=[self.queue.now_ms()])
        n = len(BOARD_FIELDS)
        return [dict(zip(BOARD_FIELDS, flat[i:i + n], strict=True)) for i in range(0, len(flat), n)]

    # ---- actual volume -----------------------------------------------------------------------------
    async def catch_up_actuals(self) -> int:
        """Count the tasks created since the last call (per skill and 5-minute bucket); returns events read."""
        total = 0
        while True:
            reply = await self._actual(
                keys=[self._key("actual", "cursor"), self.keys.audit],
                args=[self.queue.now_ms(), self._key("actual", ""), ACTUAL_BUCKET_MS, ACTUAL_PAGE],
            )
            total += int(reply[1])
            if int(reply[1]) < ACTUAL_PAGE:
                return total

    async def actual_counts(self, skill: str, starts_ms: Sequence[int], period_ms: int) -> list[int]:
        """Tasks of ``skill`` created in each period [start, start + period_ms) (counted so far)."""
        if not starts_ms:
            return []
        day_numbers = range(min(starts_ms) // MS_PER_DAY, (max(starts_ms) + period_ms) // MS_PER_DAY + 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for n in day_numbers:
                pipe.hgetall(self._key("actual", skill, str(n)))
            parts = await pipe.execute()
        index = {start: i for i, start in enumerate(starts_ms)}
        first = min(starts_ms)
        counts = [0] * len(starts_ms)
        for part in parts:
            for bucket, count in part.items():
                b = int(bucket)
                i = index.get(first + (b - first) // period_ms * period_ms)
                if i is not None:
                    counts[i] += int(count)
        return counts

    # ---- floor alerts ------------------------------------------------------------------------------
    async def raise_once(self, occasion: str, *, ttl_ms: int, kind: str, level: str, owner: str, message: str,
                         skill: str = "", agent_id: str = "", event: str, data: Mapping[str, Any]) -> str | None:
        """Raise an alert (in /v1/alerts and the audit stream) unless ``occasion`` was alerted already."""
        reply = await self._alert(
            keys=[self._key("once", occasion)],
            args=[self.queue.now_ms(), ttl_ms, kind, level, owner, message, skill, agent_id, event,
                  orjson.dumps(dict(data)).decode()],
        )
        if reply[0] == "OK":
            return str(reply[1])
        if reply[0] == "NONE":
            return None
        raise Conflict(f"unexpected reply from plan_alert.lua: {reply!r}")

    # ---- adherence time (scorecard adherence and occupancy) ----------------------------------------
    async def credit_adherence(self, now: datetime, max_gap_s: float) -> float:
        """Seconds since the previous adherence sample (atomic: each sample credits its own interval),
        0 for the first one and capped at ``max_gap_s`` so a stopped service credits nothing it did not see."""
        now_ms = int(now.timestamp() * 1000)
        previous = await self.redis.set(self._key("adhtime", "last"), now_ms, get=True)
        if previous is None or int(previous) >= now_ms:
            return 0.0
        return min((now_ms - int(previous)) / 1000, max_gap_s)

    async def add_adherence_time(self, day: date, seconds: Mapping[str, tuple[float, float]]) -> None:
        """Add ``{agent: (scheduled work s, working during it s)}`` to the local day's totals."""
        if not seconds:
            return
        key = self._key("adhtime", day.isoformat())
        async with self.redis.pipeline(transaction=True) as pipe:
            for agent_id, (scheduled_s, working_s) in seconds.items():
                pipe.hincrbyfloat(key, f"{agent_id}:scheduled", scheduled_s)
                pipe.hincrbyfloat(key, f"{agent_id}:working", working_s)
            pipe.sadd(self._key("adhtime", "days"), day.isoformat())
            await pipe.execute()

    async def adherence_time(self, first: date | None, last: date | None) -> dict[str, tuple[float, float]]:
        """``{agent: (scheduled work s, working during it s)}`` summed over the local days [first, last]
        (each bound optional) that have samples."""
        days = sorted(date.fromisoformat(d) for d in await self.redis.smembers(self._key("adhtime", "days")))
        days = [d for d in days if (first is None or d >= first) and (last is None or d <= last)]
        if not days:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(self._key("adhtime", day.isoformat()))
            rows: list[dict[str, str]] = await pipe.execute()
        totals: dict[str, list[float]] = {}
        for row in rows:
            for field, value in row.items():
                agent_id, _, part = field.rpartition(":")
                pair = totals.setdefault(agent_id, [0.0, 0.0])
                pair[0 if part == "scheduled" else 1] += float(value)
        return {a: (s, w) for a, (s, w) in totals.items()}
