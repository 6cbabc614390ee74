"""``GET /v1/intraday`` and ``GET /v1/adherence`` with a published plan: 1,000 agents, 96 periods (bar <= 100 ms).

Run: ``python -m benchmarks.plan [--agents 1000] [--tasks 20000] [--repeat 15]``. An embedded Redis, one process.
Ours is measured through the HTTP app (auth, JSON) and as the bare functions. Baselines in the same run:
intraday's actual volume counted by reading the whole audit stream per request (what the incremental
counter avoids), and adherence's floor, the pipelined read of every agent hash it has to do anyway.
Also reported: one dispatch round's roster lookup (``shifts_for`` on 1,000 agents, cached per version).

``--offers`` measures the dispatch round's offer latency instead (bar: p99 <= 50 ms at 500 tasks/s) with
1,000 agents, against a ``dispatchwise serve`` process (its own dispatch loop) on the embedded Redis: tasks
are created at ``--rate`` per second for ``--seconds`` straight into the queue, and a task's offer latency
is the time from its ``created`` to its first ``offered`` event in the audit trail. Rounds alternate a
service with a published roster of the 1,000 agents (shifts covering now) and the same service without
one (the same-run baseline); each round has its own key prefix. The agents hold capacity for every
task of a round (no simulated agent accepts), so the rounds measure the dispatch round alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
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
from api.ports import free_port
from api.service.app import create_app
from api.service.settings import Settings
from api.store.embedded_redis import EmbeddedRedis
from api.store.plan import PlanStore
from api.store.queue import LiveQueue
from benchmarks.service import percentile, start_server
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


def live_roster_text(n_agents: int, now: datetime) -> str:
    """Shifts of every agent covering ``now`` (started up to 1 h ago, 8 h long, a break later on)."""
    lines = ["agent_id,date,start,end,breaks,skills"]
    for i in range(n_agents):
        start = (now - timedelta(minutes=15 + 15 * (i % 4))).replace(second=0, microsecond=0)
        brk = start + timedelta(hours=4)
        lines.append(f"a{i:04d},{start.date()},{start.isoformat()},{(start + timedelta(hours=8)).isoformat()},"
                     f"{brk.isoformat()}/{(brk + timedelta(minutes=30)).isoformat()},{QUEUES[i % 3]}")
    return "\n".join(lines) + "\n"


async def offer_round(url: str, prefix: str, *, roster: bool, args: argparse.Namespace) -> dict[str, float]:
    """One round against a fresh ``dispatchwise serve`` (dispatch loop on) under its own key prefix."""
    queue = LiveQueue.from_url(url, prefix=prefix)
    n_tasks = int(args.rate * args.seconds)
    capacity = n_tasks // args.agents + 2  # room for every task of the round: nobody needs to accept
    for i in range(args.agents):
        await queue.put_agent(f"a{i:04d}", name=f"A{i}", skills={QUEUES[i % 3]: 3, QUEUES[(i + 1) % 3]: 2},
                              primary_skills=[QUEUES[i % 3]], capacity=capacity, supervisor=f"s{i % 20}")
        await queue.set_status(f"a{i:04d}", "available", actor="bench")
    port = free_port()
    env = {**os.environ, "REDIS_URL": url, "DISPATCHWISE_BOOTSTRAP_KEY": KEY, "DISPATCHWISE_KEY_PREFIX": prefix,
           "DISPATCHWISE_DATA_DIR": tempfile.mkdtemp(), "DISPATCHWISE_RUN_DISPATCH": "1",
           "DISPATCHWISE_TIMEZONE": "UTC", "DISPATCHWISE_OFFER_TTL_S": "600"}
    proc = start_server([str(Path(sys.executable).parent / "dispatchwise"), "serve", "--port", str(port)], env, port)
    try:
        if roster:
            text = live_roster_text(args.agents, datetime.now(UTC))
            r = httpx.put(f"http://127.0.0.1:{port}/v1/plan/roster", content=text.encode(), timeout=60,
                          headers={"Authorization": f"Bearer {KEY}", "Content-Type": "text/csv"})
            assert r.status_code == 200, r.text
        await asyncio.sleep(1.0)
        sent = 0
        start = time.perf_counter()
        while sent < n_tasks:
            due = min(n_tasks, sent + 64, int((time.perf_counter() - start) * args.rate) + 1)
            await asyncio.gather(*(
                queue.create_task(external_id=f"{prefix}-{i}", source="bench", skill=QUEUES[i % 3],
                                  urgent=i % 3 == 0, important=True, expected_handle_s=300)
                for i in range(sent, due)))
            sent = due
            await asyncio.sleep(max(0.0, start + sent / args.rate - time.perf_counter()))
        achieved = n_tasks / (time.perf_counter() - start)
        await asyncio.sleep(3.0)  # let the last rounds land
    finally:
        proc.terminate()
        proc.wait()
    created: dict[str, int] = {}
    latency: list[float] = []
    shift_terms = 0
    for _id, fields in await queue.redis.xrange(queue.keys.audit):
        if fields["event"] == "created":
            created[fields["task"]] = int(fields["at"])
        elif fields["event"] == "offered" and fields["task"] in created:
            latency.append((int(fields["at"]) - created.pop(fields["task"])) / 1000)
            shift_terms += '"shift"' in fields.get("data", "")
    await queue.close()
    return {"rate": achieved, "offered": len(latency), "never_offered": len(created),
            "p50_ms": 1000 * statistics.median(latency), "p99_ms": 1000 * percentile(latency, 0.99),
            "max_ms": 1000 * max(latency), "with_shift_term": shift_terms}


async def run_offers(url: str, args: argparse.Namespace) -> None:
    rows: dict[str, list[dict[str, float]]] = {"published roster": [], "no roster (baseline)": []}
    for r in range(args.rounds):  # alternate, so both see the same machine load
        rows["published roster"].append(await offer_round(url, f"olr{r}", roster=True, args=args))
        rows["no roster (baseline)"].append(await offer_round(url, f"oln{r}", roster=False, args=args))
    print(f"offer latency: {args.agents} agents, {args.rate:g} tasks/s for {args.seconds:g} s per round, "
          f"{args.rounds} alternating rounds; one dispatchwise serve per round (dispatch loop in the API)")
    print(f"{'round':<26} {'tasks/s':>8} {'offered':>8} {'never':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'shift term':>10}")
    for name, results in rows.items():
        for i, row in enumerate(results):
            print(f"{name + f' #{i + 1}':<26} {row['rate']:8.0f} {row['offered']:8.0f} {row['never_offered']:6.0f} "
                  f"{row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['max_ms']:8.1f} {row['with_shift_term']:10.0f}")
    ours = statistics.median(r["p99_ms"] for r in rows["published roster"])
    base = statistics.median(r["p99_ms"] for r in rows["no roster (baseline)"])
    print(f"median p99: published roster {ours:.1f} ms, baseline {base:.1f} ms, ratio {ours / base:.2f}; "
          f"bar p99 <= 50 ms: {'meets' if ours <= 50 else 'misses'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--offers", action="store_true", help="measure the dispatch round's offer latency")
    parser.add_argument("--rate", type=float, default=500.0, help="tasks/s in --offers")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per --offers round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating --offers rounds per variant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        server = EmbeddedRedis(data_dir=Path(workdir)).start()
        try:
            asyncio.run(run_offers(server.url, args) if args.offers else run(server.url, args))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
