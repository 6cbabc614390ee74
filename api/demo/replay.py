"""Replay a day of tasks through the live HTTP service at accelerated speed, with simulated agents.

The ticket system and the agents are played by asyncio coroutines talking to the real API over
HTTP: tasks are created at their (scaled) arrival times; each rostered agent goes available at
the start of its shift, long-polls ``/next``, accepts, works for the (scaled) handle time,
completes, takes its breaks and goes offline at the end of its shift. Waiting times are measured
by the client and scaled back to simulated seconds.

With ``plan_files`` the replay publishes the forecast and the roster it follows (after registering
the agents the roster names). With ``day_start_unix`` its clock is the service's simulated one
(``Settings.sim_clock_*``): ``day_start`` falls at that wall time. One agent can come back late from
its first break (``late_agent``, ``late_by_s``), so real-time adherence has something to show.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import pandas as pd

from dispatcher.domain import Agent, Quadrant, Roster, Shift, SlaPolicy
from dispatcher.kpis import asa, service_level


@dataclass(frozen=True, slots=True)
class Arrival:
    at: datetime
    skill: str
    urgent: bool
    important: bool
    handle_s: float


@dataclass
class ReplayLog:
    created_wall: dict[str, float] = field(default_factory=dict)
    accepted_wall: dict[str, float] = field(default_factory=dict)
    completed_wall: dict[str, float] = field(default_factory=dict)
    quadrant: dict[str, Quadrant] = field(default_factory=dict)
    skill: dict[str, str] = field(default_factory=dict)
    agent: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    tasks: int
    answered: int
    completed: int
    service_level: float
    """dispatcher.kpis.service_level against each task's quadrant response target (NaN: nothing counted)."""
    asa_s: float
    by_quadrant: dict[str, dict[str, float]]
    by_skill: dict[str, dict[str, float]]
    wall_s: float
    errors: int

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("tasks created", f"{self.tasks:,}"),
            ("answered", f"{self.answered:,}"),
            ("completed", f"{self.completed:,}"),
            ("service level (answered within SLA)", _shown(self.service_level, "{:.1%}")),
            ("average speed of answer (simulated)", _shown(self.asa_s, "{:.0f} s")),
            *[(f"  {q} within SLA", f"{_shown(v['service_level'], '{:.1%}')} of {int(v['tasks'])}")
              for q, v in sorted(self.by_quadrant.items())],
            ("wall time", f"{self.wall_s:.0f} s"),
            ("client errors", str(self.errors)),
        ]


def _shown(value: float, pattern: str) -> str:
    return "–" if math.isnan(value) else pattern.format(value)


def arrivals_from_contacts(contacts: pd.DataFrame) -> list[Arrival]:
    """Arrivals from a contact history (``queue, created_at, urgent, important, handle_time_s``)."""
    rows = contacts[~contacts.get("abandoned", pd.Series(False, index=contacts.index)).astype(bool)]
    return [
        Arrival(at=ts.to_pydatetime(), skill=str(q), urgent=bool(u), important=bool(i), handle_s=max(float(h), 1.0))
        for ts, q, u, i, h in zip(rows["created_at"], rows["queue"], rows["urgent"], rows["important"],
                                  rows["handle_time_s"], strict=True)
    ]


def summarize(log: ReplayLog, speed: float, sla: SlaPolicy, wall_s: float) -> ReplaySummary:
    """KPIs of the replay by the core's definitions (dispatcher.kpis): a task still waiting at the end
    counts as a miss once it is past its quadrant's response target, and is left out before."""
    ids = list(log.created_wall)
    answered = np.array([t in log.accepted_wall for t in ids], dtype=np.bool_)
    wait = np.array([(log.accepted_wall.get(t, wall_s) - log.created_wall[t]) * speed for t in ids])
    target = np.array([sla.target(log.quadrant[t]).response_s for t in ids])

    def kpis(keep: npt.NDArray[np.bool_]) -> dict[str, float]:
        return {"tasks": float(keep.sum()), "service_level": service_level(wait[keep], answered[keep], target[keep]),
                "asa_s": asa(wait[keep], answered[keep])}

    def group(key: Callable[[str], str]) -> dict[str, dict[str, float]]:
        names = np.array([key(t) for t in ids])
        return {str(name): kpis(names == name) for name in sorted(set(names.tolist()))}

    overall = kpis(np.ones(len(ids), dtype=np.bool_))
    return ReplaySummary(
        tasks=len(ids),
        answered=int(answered.sum()),
        completed=len(log.completed_wall),
        service_level=overall["service_level"],
        asa_s=overall["asa_s"],
        by_quadrant=group(lambda t: log.quadrant[t].value),
        by_skill=group(lambda t: log.skill[t]),
        wall_s=wall_s,
        errors=len(log.errors),
    )


class Replay:
    def __init__(self, base_url: str, key: str, *, speed: float, day_start: datetime,
                 sla: SlaPolicy | None = None, day_start_unix: float | None = None,
                 plan_files: Sequence[tuple[str, Path]] = (), late_agent: str | None = None,
                 late_by_s: float = 0.0) -> None:
        self.base_url = base_url
        self.key = key
        self.headers = {"Authorization": f"Bearer {key}"}
        self.day_start_unix = day_start_unix
        self.plan_files = tuple(plan_files)
        self.late_agent = late_agent
        self.late_by_s = late_by_s
        self.published: list[dict[str, object]] = []
        self.speed = speed
        self.day_start = day_start
        self.sla = sla or SlaPolicy()
        self.log = ReplayLog()
        self.t0 = 0.0
        self.done = asyncio.Event()

    def wall_of(self, moment: datetime) -> float:
        return (moment - self.day_start).total_seconds() / self.speed

    def now_wall(self) -> float:
        return time.monotonic() - self.t0

    async def sleep_until(self, moment: datetime) -> None:
        delay = self.wall_of(moment) - self.now_wall()
        if delay > 0:
            await asyncio.sleep(delay)

    async def register(self, client: httpx.AsyncClient, agents: Sequence[Agent]) -> None:
        for agent in agents:
            body = {"name": agent.name, "skills": dict(agent.skills), "primary_skills": sorted(agent.primary_skills),
                    "capacity": agent.capacity, "team": agent.team, "supervisor": agent.supervisor}
            response = await client.put(f"/v1/agents/{agent.id}", json=body)
            response.raise_for_status()
            await client.put(f"/v1/agents/{agent.id}/status", json={"status": "offline"})

    async def publish(self) -> None:
        """Publish the plan files (forecast, roster) to the service, as ``dispatchwise publish`` does."""
        from api.cli.commands.publish import publish_file

        for kind, path in self.plan_files:
            self.published.append(await asyncio.to_thread(publish_file, kind, path, url=self.base_url, key=self.key))

    async def feed(self, client: httpx.AsyncClient, arrivals: Sequence[Arrival],
                   on_progress: Callable[[int], None]) -> None:
        for n, arrival in enumerate(arrivals):
            await self.sleep_until(arrival.at)
            body = {"external_id": f"replay-{n}", "source": "demo", "skill": arrival.skill,
                    "urgent": arrival.urgent, "important": arrival.important,
                    "expected_handle_s": round(arrival.handle_s, 1), "payload": {"handle_s": arrival.handle_s}}
            try:
                response = await client.post("/v1/tasks", json=body)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                self.log.errors.append(f"create {n}: {exc}")
                continue
            task = response.json()
            self.log.created_wall[task["id"]] = self.now_wall()
            self.log.quadrant[task["id"]] = Quadrant(task["quadrant"])
            self.log.skill[task["id"]] = arrival.skill
            on_progress(n + 1)

    async def work(self, client: httpx.AsyncClient, shift: Shift) -> None:
        agent_id = shift.agent_id
        await self.sleep_until(shift.start)
        await client.put(f"/v1/agents/{agent_id}/status", json={"status": "available"})
        pending_breaks = list(shift.breaks)
        while self.wall_of(shift.end) > self.now_wall() and not self.done.is_set():
            if pending_breaks and self.wall_of(pending_breaks[0].start) <= self.now_wall():
                brk = pending_breaks.pop(0)
                await client.put(f"/v1/agents/{agent_id}/status", json={"status": "break"})
                late = agent_id == self.late_agent and len(pending_breaks) == len(shift.breaks) - 1
                await self.sleep_until(brk.end + timedelta(seconds=self.late_by_s if late else 0.0))
                await client.put(f"/v1/agents/{agent_id}/status", json={"status": "available"})
                continue
            try:
                response = await client.post(f"/v1/agents/{agent_id}/next", params={"wait": 0.5})
                if response.status_code == 204:
                    continue
                response.raise_for_status()
                offer = response.json()
                accepted = await client.post(f"/v1/offers/{offer['offer_id']}/accept")
                if accepted.status_code == 409:  # the offer expired meanwhile; it was re-routed
                    continue
                accepted.raise_for_status()
                task = offer["task"]
                self.log.accepted_wall[task["id"]] = self.now_wall()
                self.log.agent[task["id"]] = agent_id
                handle_s = float(task.get("payload", {}).get("handle_s", task["expected_handle_s"]))
                await asyncio.sleep(handle_s / self.speed)
                done = await client.post(f"/v1/tasks/{task['id']}/complete",
                                         json={"first_contact_resolved": zlib.crc32(task["id"].encode()) % 10 != 0})
                done.raise_for_status()
                self.log.completed_wall[task["id"]] = self.now_wall()
            except httpx.HTTPError as exc:
                self.log.errors.append(f"{agent_id}: {exc}")
                await asyncio.sleep(0.05)
        await client.put(f"/v1/agents/{agent_id}/status", json={"status": "offline"})

    async def run(self, arrivals: Sequence[Arrival], roster: Roster, agents: Sequence[Agent],
                  on_progress: Callable[[int], None] = lambda n: None) -> ReplaySummary:
        limits = httpx.Limits(max_connections=len(agents) + 20, max_keepalive_connections=len(agents) + 20)
        async with httpx.AsyncClient(base_url=self.base_url, headers=self.headers, limits=limits,
                                     timeout=30.0) as client:
            await self.register(client, agents)
            await self.publish()
            self.t0 = time.monotonic()
            if self.day_start_unix is not None:  # the service's simulated clock reads day_start then
                self.t0 += self.day_start_unix - time.time()
            workers = [asyncio.create_task(self.work(client, shift)) for shift in roster.shifts]
            await self.feed(client, sorted(arrivals, key=lambda a: a.at), on_progress)
            # let the last shifts finish the work that is left, then stop everyone
            last_end = max((s.end for s in roster.shifts), default=self.day_start)
            await self.sleep_until(last_end)
            self.done.set()
            await asyncio.gather(*workers, return_exceptions=True)
        return summarize(self.log, self.speed, self.sla, self.now_wall())
