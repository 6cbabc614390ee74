"""``GET /v1/intraday`` and ``GET /v1/adherence`` with a published plan: 1,000 agents, 96 periods (bar <= 100 ms).

Run: ``python -m benchmarks.plan [--agents 1000] [--tasks 20000] [--repeat 15]``. An embedded Redis, one process.
Ours is measured through the HTTP app (auth, JSON) and as the bare functions. Baselines in the same run:
intraday's actual volume counted by reading the whole audit stream per request (what the incremental
counter avoids), and adherence's floor, the pipelined read of every agent hash it has to do anyway.
Also reported: one dispatch round's roster lookup (``shifts_for`` on 1,000 agents, cached per version).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.formats.plan import parse_forecast, parse_roster
from api.live.adherence import adherence_board
from api.live.intraday import Targets, intraday_view
from api.service.app import create_app
from api.service.settings import Settings
from api.store.embedded_redis import EmbeddedRedis
from api.store.plan import PlanStore
from api.store.queue import LiveQueue
from dispatcher.domain import Agent

DAY = datetime(2027, 1, 15, tzinfo=UTC)
QUEUES = ("billing", "tech", "sales")
KEY = "bench-supervisor"


def roster_text(n_agents: int) -> str:
    lines = ["agent_id,date,start,end,breaks,skills"]
    for i in range(n_agents):
        start = DAY + timedelta(hours=6 + i % 10)
        brk = start + timedelta(hours=4)
        lines.append(f"a{i:04d},{DAY.date()},{start.isoformat()},{(start + timedelta(hours=8)).isoformat()},"
                     f"{brk.isoformat()}/{(brk + timedelta(minutes=30)).isoformat()},{QUEUES[i % 3]}")
    return "\n".join(lines) + "\n"


def forecast_text() -> str:
    lines = ["queue,period_start,volume,aht_s"]
    for q in QUEUES:
        for p in range(96):
            lines.append(f"{q},{(DAY + timedelta(minutes=15 * p)).isoformat()},{40 + p % 30},300")
    return "\n".join(lines) + "\n"


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float]:
    await fn()  # warm
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


async def run(url: str, args: argparse.Namespace) -> None:
    clock_s = (DAY + timedelta(hours=11)).timestamp()
    queue = LiveQueue.from_url(url, clock=lambda: clock_s)
    await queue.redis.flushdb()
    agents = [Agent(f"a{i:04d}", f"A{i}", {QUEUES[i % 3]: 3, QUEUES[(i + 1) % 3]: 2}, frozenset({QUEUES[i % 3]}),
                    supervisor=f"s{i % 20}") for i in range(args.agents)]
    for a in agents:
        await queue.put_agent(a.id, name=a.name, skills=dict(a.skills), primary_skills=sorted(a.primary_skills),
                              capacity=1, supervisor=a.supervisor)
        await queue.set_status(a.id, ("available", "break", "offline")[hash(a.id) % 3], actor="bench")
    plan = PlanStore(queue)
    await plan.publish(parse_roster(roster_text(args.agents), agents, UTC), actor="bench", text="")
    await plan.publish(parse_forecast(forecast_text(), QUEUES, UTC), actor="bench", text="")
    for i in range(args.tasks):  # spread over the morning
        clock_s = (DAY + timedelta(seconds=11 * 3600 * i / args.tasks)).timestamp()
        await queue.create_task(external_id=f"t{i}", source="bench", skill=QUEUES[i % 3], urgent=False, important=False)
    clock_s = (DAY + timedelta(hours=11)).timestamp()
    now = DAY + timedelta(hours=11)
    await plan.catch_up_actuals()

    settings = Settings(redis_url=url, bootstrap_key=KEY, data_dir=Path(tempfile.mkdtemp()))
    app = create_app(settings, dispatch=False)
    rows: list[tuple[str, float, float]] = []
    async with app.router.lifespan_context(app):
        app.state.queue.clock = lambda: clock_s
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"Authorization": f"Bearer {KEY}"}) as client:
            async def http_intraday() -> None:
                r = await client.get(f"/v1/intraday?queue=billing&date={DAY.date()}")
                assert r.status_code == 200 and len(r.json()["periods"]) == 96, r.text

            async def http_adherence() -> None:
                r = await client.get("/v1/adherence")
                assert r.status_code == 200 and len(r.json()) == args.agents, r.text

            rows.append(("GET /v1/intraday (HTTP)", *await timed(http_intraday, args.repeat)))
            rows.append(("GET /v1/adherence (HTTP)", *await timed(http_adherence, args.repeat)))
    rows.append(("intraday_view (function)", *await timed(
        lambda: intraday_view(queue, plan, "billing", DAY.date(), now, Targets()), args.repeat)))

    async def scan_audit() -> None:  # baseline: count today's created tasks by reading the whole stream
        events = await queue.all_audit_events()
        sum(1 for e in events if e["event"] == "created" and e["skill"] == "billing")

    rows.append(("baseline: actual by scanning the audit stream", *await timed(scan_audit, args.repeat)))
    rows.append(("adherence_board (function)", *await timed(lambda: adherence_board(queue, plan, now), args.repeat)))
    rows.append(("floor: read every agent hash (pipelined HGETALL)", *await timed(queue.agent_hashes, args.repeat)))
    ids = [a.id for a in agents]
    rows.append(("shifts_for 1,000 agents (dispatch round)", *await timed(lambda: plan.shifts_for(ids, now),
                                                                          args.repeat)))
    await queue.close()
    print(f"{args.agents} agents, 96 periods x {len(QUEUES)} queues, {args.tasks} tasks in the audit stream; "
          f"median / max of {args.repeat} runs")
    print(f"{'what':<48} {'median ms':>10} {'max ms':>9}")
    for name, med, worst in rows:
        print(f"{name:<48} {med:>10.1f} {worst:>9.1f}")
    base = {n: m for n, m, _ in rows}
    scan = base["baseline: actual by scanning the audit stream"] / base["intraday_view (function)"]
    floor = base["adherence_board (function)"] / base["floor: read every agent hash (pipelined HGETALL)"]
    print(f"intraday: {scan:.1f}x faster than scanning the stream; adherence: {floor:.2f}x its read floor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        server = EmbeddedRedis(data_dir=Path(workdir)).start()
        try:
            asyncio.run(run(server.url, args))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
