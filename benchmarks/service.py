"""Load benchmark of the live queue service, on loopback, against floors measured in the same run.

Rows (one fresh embedded Redis with AOF everysec, or REDIS_URL):
- redis-py floor: one client, HSET + ZADD of a task in one pipelined round trip (sync redis-py);
- Lua pop: our pull.lua (find the best task for an agent, create the offer, audit it) on one client,
  against a bare ZPOPMIN on the same client;
- HTTP: ``POST /v1/tasks`` (auth, validation, idempotency, audit: one Lua round trip) on one uvicorn
  worker (uvloop + httptools when installed), driven by ``wrk`` at 32 connections, against a minimal
  endpoint on the same kind of path (a pure-ASGI handler in front of FastAPI, like our fast path) doing
  HSET + ZADD in one MULTI through redis.asyncio, on the same server settings.
Like for like: both servers are started and ready before any timing, every timed row gets an untimed
warm-up (wrk 1 s per endpoint; 200 operations for the redis-py and Lua rows), and both endpoints get
the same number of alternating wrk rounds.
The requests are counted twice: wrk's count and the tasks found in Redis afterwards.

    .venv/bin/python -m benchmarks.service                  # 3 alternating rounds of 5 s per endpoint
    .venv/bin/python -m benchmarks.service --rounds 5 --duration 10 --offer-seconds 0
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import redis

from api.ports import free_port
from api.store.embedded_redis import EmbeddedRedis
from api.store.keys import Keys
from api.store.queue import load_script_source

BOOT = "bench-boot-key"

WRK_SCRIPT = """
local n = 0
tid = 0
local counter = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
end
request = function()
  counter = counter + 1
  local body = '{"external_id":"' .. RUN .. '-' .. tostring(tid) .. '-' .. counter .. '",' ..
    '"source":"wrk","skill":"billing","urgent":false,"important":true,"payload":{"subject":"load"}}'
  return wrk.format("POST", PATH, {["Content-Type"] = "application/json",
                                   ["Authorization"] = "Bearer " .. KEY}, body)
end
"""


class MinimalTaskCreate:
    """The floor endpoint, on the same kind of path as ours: a pure-ASGI handler for ``POST /v1/tasks``
    added with ``add_middleware`` in front of a FastAPI app (as api.service.fastpath is), served by the
    same uvicorn settings. It parses the JSON body with orjson and writes HSET + ZADD in one MULTI through
    redis.asyncio: no auth, no validation, no idempotency, no audit."""

    def __init__(self, app: Any) -> None:
        import redis.asyncio as aioredis

        self.app = app
        self.client = aioredis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
        self.counter = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import orjson

        if scope["type"] != "http" or scope["path"] != "/v1/tasks" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = orjson.loads(b"".join(chunks))
        self.counter += 1
        task_id = f"B{os.getpid()}-{self.counter}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(f"base:task:{task_id}", mapping={"external_id": body["external_id"], "skill": body["skill"]})
            pipe.zadd("base:q:billing", {task_id: time.time()})
            await pipe.execute()
        out = orjson.dumps({"id": task_id})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": out})


def baseline_app() -> object:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(MinimalTaskCreate)
    return app


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


WARM_UP_OPS = 200


def redis_floor(url: str, n: int) -> dict[str, float]:
    r = redis.Redis.from_url(url, decode_responses=True)

    def write(i: int) -> None:
        pipe = r.pipeline(transaction=False)
        pipe.hset(f"floor:task:{i}", mapping={"external_id": f"f{i}", "skill": "billing", "urgent": 0})
        pipe.zadd("floor:q:billing", {f"{i}": i})
        pipe.execute()

    for i in range(WARM_UP_OPS):  # connection, first-call costs
        write(-1 - i)
    lat = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        write(i)
        lat.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    r.close()
    return {"rate": n / elapsed, "p50_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * percentile(lat, 0.99)}


def lua_pop(url: str, n: int) -> tuple[dict[str, float], dict[str, float]]:
    """pull.lua on one sync client (agent with room for all), and ZPOPMIN as the floor; the same ``n``
    timed operations each, after ``WARM_UP_OPS`` untimed ones each (script load, connection)."""
    prefix = "lpop"
    keys = Keys(prefix)
    r = redis.Redis.from_url(url, decode_responses=True)
    now = int(time.time() * 1000)
    total = n + WARM_UP_OPS
    pipe = r.pipeline(transaction=False)
    for i in range(total):
        pipe.hset(keys.task(f"T{i}"), mapping={"id": f"T{i}", "status": "queued", "skill": "billing",
                                               "important": "1", "due_ms": now + i, "created_ms": now})
        pipe.zadd(keys.queue("billing"), {f"T{i}": now + i})
        pipe.zadd("lpop:floor", {f"T{i}": now + i})
    pipe.hset(keys.agent("a1"), mapping={"id": "a1", "status": "available", "active": 0, "capacity": total + 1,
                                         "skills": '{"billing": 4}', "primary": '["billing"]'})
    pipe.execute()
    pull = r.register_script(load_script_source("pull", keys))

    def pull_one() -> float:
        t0 = time.perf_counter()
        reply = pull(args=[now, "a1", 30_000, 20, ""])  # "": no published shift
        elapsed = time.perf_counter() - t0
        r.delete(keys.agent_offers("a1"))  # so the next call pulls a new task instead of re-serving
        assert reply[0] == "OK", reply
        return elapsed

    def zpop_one() -> float:
        t0 = time.perf_counter()
        r.zpopmin("lpop:floor")
        return time.perf_counter() - t0

    for _ in range(WARM_UP_OPS):
        pull_one()
        zpop_one()
    ours = [pull_one() for _ in range(n)]
    floor = [zpop_one() for _ in range(n)]
    for key in r.scan_iter("lpop:*", count=5000):
        r.delete(key)
    r.close()

    def summary(lat: list[float]) -> dict[str, float]:
        return {"rate": len(lat) / sum(lat), "p50_ms": 1000 * statistics.median(lat),
                "p99_ms": 1000 * percentile(lat, 0.99)}

    return summary(ours), summary(floor)


def _run_agents(url: str, prefix: str, agents: int, stop: Any) -> None:
    """Simulated agents (own process): pull or wait for an offer, accept, complete at once."""
    import asyncio

    from api.store.queue import LiveQueue

    async def run() -> None:
        queue = LiveQueue.from_url(url, prefix=prefix)

        async def agent(agent_id: str) -> None:
            while not stop.is_set():
                offer = await queue.pull(agent_id)
                if offer is None:
                    await queue.wait_for_wake(agent_id, 0.1)
                    continue
                await queue.accept(offer.offer_id, actor=agent_id)
                await queue.complete(offer.task["id"], actor=agent_id)

        await asyncio.gather(*(agent(f"a{i}") for i in range(agents)))
        await queue.close()

    asyncio.run(run())


async def offer_latency(url: str, port: int, boot: str, *, rate: float, seconds: float, agents: int,
                        capacity: int) -> dict[str, float]:
    """Create tasks at ``rate``/s for ``seconds`` straight into the queue while the API process's dispatch
    loop and ``agents`` simulated agents (another process) run; offer latency is the time from a task's
    ``created`` to its first ``offered`` event in the audit trail."""
    import asyncio
    import multiprocessing

    from api.store.queue import LiveQueue

    prefix = "ol"
    base = f"http://127.0.0.1:{port}"
    sup = {"Authorization": f"Bearer {boot}"}
    async with httpx.AsyncClient(base_url=base, headers=sup, timeout=30) as client:
        for i in range(agents):
            body = {"name": f"a{i}", "skills": {"billing": 3}, "primary_skills": ["billing"], "capacity": capacity}
            (await client.put(f"/v1/agents/a{i}", json=body)).raise_for_status()
            (await client.put(f"/v1/agents/a{i}/status", json={"status": "available"})).raise_for_status()
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    proc = ctx.Process(target=_run_agents, args=(url, prefix, agents, stop))
    proc.start()
    await asyncio.sleep(2.0)  # let the agents' process start
    queue = LiveQueue.from_url(url, prefix=prefix)
    n = int(rate * seconds)
    sent = 0
    start = time.perf_counter()
    while sent < n:
        due = min(n, sent + 64, int((time.perf_counter() - start) * rate) + 1)
        await asyncio.gather(*(
            queue.create_task(external_id=f"ol{i}", source="bench", skill="billing", urgent=i % 3 == 0,
                              important=True)
            for i in range(sent, due)
        ))
        sent = due
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
    achieved = n / (time.perf_counter() - start)
    await asyncio.sleep(2.0)
    stop.set()
    proc.join(timeout=30)
    created: dict[str, int] = {}
    latency: list[float] = []
    by_path = {"dispatcher": 0, "pull": 0}
    for _id, fields in await queue.redis.xrange(f"{prefix}:audit"):
        if fields["event"] == "created":
            created[fields["task"]] = int(fields["at"])
        elif fields["event"] == "offered" and fields["task"] in created:
            latency.append((int(fields["at"]) - created.pop(fields["task"])) / 1000)
            by_path[fields["actor"]] = by_path.get(fields["actor"], 0) + 1
    await queue.close()
    return {"rate": achieved, "offered": len(latency), "never_offered": len(created),
            "p50_ms": 1000 * statistics.median(latency), "p99_ms": 1000 * percentile(latency, 0.99),
            "by_dispatcher": by_path["dispatcher"], "by_pull": by_path["pull"]}


def wait_ready(base: str, proc: subprocess.Popen[bytes], path: str = "/healthz") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(base + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


def parse_wrk(text: str) -> dict[str, Any]:
    def ms(value: str) -> float:
        found = re.match(r"([\d.]+)(us|ms|s|m)$", value)
        if found is None:
            return float("nan")
        number, unit = found.groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"50%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"99%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {"requests": requests, "rate": rate, "p50_ms": p50, "p99_ms": p99,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def run_wrk(base: str, key: str, run: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    def script_for(name: str) -> Path:
        path = workdir / f"{name}.lua"
        path.write_text(f'RUN = "{name}"\nKEY = "{key}"\nPATH = "/v1/tasks"\n' + WRK_SCRIPT)
        return path

    # warm-up (other external ids): connections, script loading, first-request imports
    subprocess.run(["wrk", "-t1", "-c4", "-d1s", "-s", str(script_for(run + "-warm")), base],
                   capture_output=True, check=True)
    out = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
         "-s", str(script_for(run)), base],
        capture_output=True, text=True, check=True,
    ).stdout
    return parse_wrk(out)


def start_server(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return proc


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: statistics.median(r[k] for r in rows) for k in ("rate", "p50_ms", "p99_ms", "requests", "non2xx")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds ours/minimal (medians)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--floor-n", type=int, default=5000, help="operations for the redis-py and Lua rows")
    parser.add_argument("--offer-rate", type=float, default=500.0, help="tasks/s for the offer-latency run")
    parser.add_argument("--offer-seconds", type=float, default=10.0, help="0 skips the offer-latency run")
    parser.add_argument("--offer-capacity", type=int, default=100,
                        help="task slots per agent in the offer-latency run (50 agents)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    import asyncio

    from api.cli.commands.serve import _fast_loop

    loop, http = _fast_loop()
    bin_dir = Path(sys.executable).parent
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dw-bench-")))
        url = os.environ.get("REDIS_URL")
        if not url:
            server = EmbeddedRedis(data_dir=workdir / "redis", appendfsync="everysec").start()
            stack.callback(server.stop)
            url = server.url
        raw: Any = redis.Redis.from_url(url, decode_responses=True)
        raw.flushdb()
        floor = redis_floor(url, args.floor_n)
        pop, zpop = lua_pop(url, args.floor_n)

        env = {**os.environ, "REDIS_URL": url, "DISPATCHWISE_BOOTSTRAP_KEY": BOOT,
               "DISPATCHWISE_DATA_DIR": str(workdir), "DISPATCHWISE_RUN_DISPATCH": "0"}
        port, base_port = free_port(), free_port()
        procs = [
            start_server([str(bin_dir / "dispatchwise"), "serve", "--port", str(port), "--no-dispatch"], env, port),
            start_server([str(bin_dir / "uvicorn"), "benchmarks.service:baseline_app", "--factory", "--port",
                          str(base_port), "--loop", loop, "--http", http, "--log-level", "warning",
                          "--no-access-log"], env, base_port),
        ]
        for proc in procs:
            stack.callback(proc.wait)
            stack.callback(proc.terminate)
        key = httpx.post(f"http://127.0.0.1:{port}/v1/keys", json={"role": "integration"},
                         headers={"Authorization": f"Bearer {BOOT}"}).json()["key"]
        ours_rounds, base_rounds = [], []
        for r in range(args.rounds):  # alternate, so both sides see the same machine load
            ours_rounds.append(run_wrk(f"http://127.0.0.1:{port}", key, f"ours{r}", args, workdir))
            base_rounds.append(run_wrk(f"http://127.0.0.1:{base_port}", key, f"base{r}", args, workdir))
        ours, base = median_row(ours_rounds), median_row(base_rounds)
        counted = sum(1 for ext in raw.hkeys("dw:ext:wrk") if "-warm-" not in ext)
        wrk_total = sum(r["requests"] for r in ours_rounds)
        base_counted = raw.zcard("base:q:billing")
        offers = None
        if args.offer_seconds > 0:
            env_ol = {**env, "DISPATCHWISE_RUN_DISPATCH": "1", "DISPATCHWISE_KEY_PREFIX": "ol"}
            port_ol = free_port()
            ol_proc = start_server([str(bin_dir / "dispatchwise"), "serve", "--port", str(port_ol)], env_ol, port_ol)
            offers = asyncio.run(offer_latency(url, port_ol, BOOT, rate=args.offer_rate,
                                               seconds=args.offer_seconds, agents=50,
                                               capacity=args.offer_capacity))
            ol_proc.terminate()
            ol_proc.wait()
        raw.close()

    print(f"\nservice benchmark: one uvicorn worker ({loop} + {http}), wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s x {args.rounds} alternating rounds (medians), loopback, "
          f"Redis AOF everysec\n")
    print(f"{'row':46} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    rows = [
        ("redis-py floor: HSET+ZADD, 1 client, pipelined", floor),
        ("Lua pull.lua (pop best + offer + audit), 1 cl.", pop),
        ("ZPOPMIN floor, 1 client", zpop),
        ("POST /v1/tasks (ours, full path)", ours),
        ("minimal endpoint (same ASGI path) HSET+ZADD", base),
    ]
    for name, row in rows:
        print(f"{name:46} {row['rate']:9.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f}")
    print()
    print(f"ours: wrk counted {wrk_total:.0f} responses in {args.rounds} rounds, "
          f"{sum(r['non2xx'] for r in ours_rounds):.0f} non-2xx; Redis holds {counted} tasks from those rounds "
          f"(requests still in flight when wrk stops are created but not counted by wrk)")
    print(f"minimal: wrk counted {sum(r['requests'] for r in base_rounds):.0f}, "
          f"{sum(r['non2xx'] for r in base_rounds):.0f} non-2xx; Redis holds {base_counted} (with warm-ups)")
    print(f"per-round req/s ours {[round(r['rate']) for r in ours_rounds]} "
          f"minimal {[round(r['rate']) for r in base_rounds]}")
    print(f"ours / redis-py floor           = {ours['rate'] / floor['rate']:.2f}")
    print(f"ours / minimal endpoint         = {ours['rate'] / base['rate']:.2f}")
    print(f"pull.lua p99 / ZPOPMIN p99      = {pop['p99_ms'] / zpop['p99_ms']:.2f}")
    if offers is not None:
        print(f"offer latency at {offers['rate']:.0f} tasks/s (50 agents x {args.offer_capacity} slots, "
              f"dispatch loop every 0.2 s): "
              f"p50 {offers['p50_ms']:.1f} ms, p99 {offers['p99_ms']:.1f} ms over {offers['offered']:.0f} offers "
              f"({offers['by_dispatcher']:.0f} by the optimizer batch, {offers['by_pull']:.0f} by the pull path), "
              f"{offers['never_offered']:.0f} never offered")
    verdict = "meets" if ours["rate"] >= 1500 and ours["p99_ms"] <= 50 else "misses"
    print(f"bar POST /v1/tasks >= 1,500 req/s with p99 <= 50 ms: {verdict} "
          f"({ours['rate']:.0f} req/s, p99 {ours['p99_ms']:.1f} ms); Lua pop p99 <= 1 ms: "
          f"{'meets' if pop['p99_ms'] <= 1 else 'misses'} ({pop['p99_ms']:.2f} ms)")


if __name__ == "__main__":
    main()
