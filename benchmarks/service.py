"""Load benchmark of the live queue service, on loopback, against floors measured in the same run.

Rows (one fresh embedded Redis with AOF everysec, or REDIS_URL):
- redis-py floor: one client, HSET + ZADD of a task in one pipelined round trip (sync redis-py);
- Lua pop: our pull.lua (find the best task for an agent, create the offer, audit it) on one client,
  against a bare ZPOPMIN on the same client;
- HTTP: ``POST /v1/tasks`` (auth, validation, idempotency, audit: one Lua round trip) on one uvicorn
  worker (uvloop + httptools when installed), driven by ``wrk`` at 32 connections, against a minimal
  FastAPI endpoint doing HSET + ZADD through redis.asyncio on the same server settings.
The requests are counted twice: wrk's count and the tasks found in Redis afterwards.

    .venv/bin/python -m benchmarks.service                  # 10 s of wrk per endpoint
    .venv/bin/python -m benchmarks.service --duration 5 --connections 32 --threads 2
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

import httpx
import redis
from fastapi import Request, Response

from api.embedded_redis import EmbeddedRedis, free_port
from api.keys import Keys
from api.queue import load_script_source

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


def baseline_app() -> object:
    """The floor endpoint: FastAPI + redis.asyncio, HSET + ZADD in one MULTI, no auth/validation/audit."""
    import orjson
    import redis.asyncio as aioredis
    from fastapi import FastAPI

    app = FastAPI()
    client = aioredis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    counter = {"n": 0}

    @app.post("/v1/tasks")
    async def create(request: Request) -> Response:
        body = orjson.loads(await request.body())
        counter["n"] += 1
        task_id = f"B{os.getpid()}-{counter['n']}"
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(f"base:task:{task_id}", mapping={"external_id": body["external_id"], "skill": body["skill"]})
            pipe.zadd("base:q:billing", {task_id: time.time()})
            await pipe.execute()
        return Response(orjson.dumps({"id": task_id}), status_code=201, media_type="application/json")

    return app


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def redis_floor(url: str, n: int) -> dict[str, float]:
    r = redis.Redis.from_url(url, decode_responses=True)
    lat = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        pipe = r.pipeline(transaction=False)
        pipe.hset(f"floor:task:{i}", mapping={"external_id": f"f{i}", "skill": "billing", "urgent": 0})
        pipe.zadd("floor:q:billing", {f"{i}": i})
        pipe.execute()
        lat.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    r.close()
    return {"rate": n / elapsed, "p50_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * percentile(lat, 0.99)}


def lua_pop(url: str, n: int) -> tuple[dict[str, float], dict[str, float]]:
    """pull.lua on one sync client (agent with room for all), and ZPOPMIN as the floor."""
    prefix = "lpop"
    keys = Keys(prefix)
    r = redis.Redis.from_url(url, decode_responses=True)
    now = int(time.time() * 1000)
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(keys.task(f"T{i}"), mapping={"id": f"T{i}", "status": "queued", "skill": "billing",
                                               "important": "1", "due_ms": now + i, "created_ms": now})
        pipe.zadd(keys.queue("billing"), {f"T{i}": now + i})
        pipe.zadd("lpop:floor", {f"T{i}": now + i})
    pipe.hset(keys.agent("a1"), mapping={"id": "a1", "status": "available", "active": 0, "capacity": n + 1,
                                         "skills": '{"billing": 4}', "primary": '["billing"]'})
    pipe.execute()
    pull = r.register_script(load_script_source("pull", keys))
    ours = []
    for _ in range(n):
        t0 = time.perf_counter()
        reply = pull(args=[now, "a1", 30_000, 20])
        ours.append(time.perf_counter() - t0)
        r.delete(keys.agent_offers("a1"))  # so the next call pulls a new task instead of re-serving
        assert reply[0] == "OK", reply
    floor = []
    for _ in range(n):
        t0 = time.perf_counter()
        r.zpopmin("lpop:floor")
        floor.append(time.perf_counter() - t0)
    for key in r.scan_iter("lpop:*", count=5000):
        r.delete(key)
    r.close()

    def summary(lat: list[float]) -> dict[str, float]:
        return {"rate": len(lat) / sum(lat), "p50_ms": 1000 * statistics.median(lat),
                "p99_ms": 1000 * percentile(lat, 0.99)}

    return summary(ours), summary(floor)


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


def parse_wrk(text: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"50%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"99%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {"requests": requests, "rate": rate, "p50_ms": p50, "p99_ms": p99,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def run_wrk(base: str, key: str, run: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    def script_for(name: str) -> Path:
        path = workdir / f"{name}.lua"
        path.write_text(f'RUN = "{name}"\nKEY = "{key}"\nPATH = "/v1/tasks"\n' + WRK_SCRIPT)
        return path

    # warm-up (other external ids): connections, script loading, first-request imports
    subprocess.run(["wrk", "-t1", "-c4", "-d1s", "-s", str(script_for(run + "-warm")), base],
                   capture_output=True, check=True)
    script = script_for(run)
    out = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
         "-s", str(script), base],
        capture_output=True, text=True, check=True,
    ).stdout
    return parse_wrk(out)


def start_server(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--floor-n", type=int, default=5000, help="operations for the redis-py and Lua rows")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    from api.commands.serve import _fast_loop

    loop, http = _fast_loop()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dw-bench-")))
        url = os.environ.get("REDIS_URL")
        if not url:
            server = EmbeddedRedis(data_dir=workdir / "redis", appendfsync="everysec").start()
            stack.callback(server.stop)
            url = server.url
        raw = redis.Redis.from_url(url, decode_responses=True)
        raw.flushdb()
        floor = redis_floor(url, args.floor_n)
        pop, zpop = lua_pop(url, args.floor_n)

        env = {**os.environ, "REDIS_URL": url, "DISPATCHWISE_BOOTSTRAP_KEY": BOOT,
               "DISPATCHWISE_DATA_DIR": str(workdir), "DISPATCHWISE_RUN_DISPATCH": "0"}
        bin_dir = Path(sys.executable).parent
        port = free_port()
        ours_proc = start_server([str(bin_dir / "dispatchwise"), "serve", "--port", str(port), "--no-dispatch"],
                                 env, port)
        key = httpx.post(f"http://127.0.0.1:{port}/v1/keys", json={"role": "integration"},
                         headers={"Authorization": f"Bearer {BOOT}"}).json()["key"]
        ours = run_wrk(f"http://127.0.0.1:{port}", key, "ours", args, workdir)
        ours_proc.terminate()
        ours_proc.wait()
        counted = sum(1 for ext in raw.hkeys("dw:ext:wrk") if ext.startswith("ours-") and "-warm-" not in ext)

        port = free_port()
        base_proc = start_server(
            [str(bin_dir / "uvicorn"), "benchmarks.service:baseline_app", "--factory", "--port", str(port),
             "--loop", loop, "--http", http, "--log-level", "warning", "--no-access-log"], env, port)
        base = run_wrk(f"http://127.0.0.1:{port}", key, "base", args, workdir)
        base_proc.terminate()
        base_proc.wait()
        base_counted = raw.zcard("base:q:billing")  # includes the warm-up second
        raw.close()

    print(f"\nservice benchmark: one uvicorn worker ({loop} + {http}), wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s, loopback, Redis AOF everysec\n")
    print(f"{'row':46} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'counted':>9}")
    rows = [
        ("redis-py floor: HSET+ZADD, 1 client, pipelined", floor, args.floor_n),
        ("Lua pull.lua (pop best + offer + audit), 1 cl.", pop, args.floor_n),
        ("ZPOPMIN floor, 1 client", zpop, args.floor_n),
        ("POST /v1/tasks (ours, full path)", ours, counted),
        ("minimal FastAPI HSET+ZADD endpoint", base, base_counted),
    ]
    for name, row, count in rows:
        print(f"{name:46} {row['rate']:9.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {count:9}")
    print()
    print(f"minimal endpoint: wrk counted {base['requests']:.0f} requests, {base['non2xx']:.0f} non-2xx; "
          f"Redis holds {base_counted} (with the 1 s warm-up)")
    print(f"wrk counted {ours['requests']:.0f} requests, {ours['non2xx']:.0f} non-2xx "
          f"{ours['socket_errors']}; Redis holds {counted} tasks from this run")
    print(f"ours / redis-py floor          = {ours['rate'] / floor['rate']:.2f}")
    print(f"ours / minimal FastAPI endpoint = {ours['rate'] / base['rate']:.2f}")
    print(f"pull.lua p99 / ZPOPMIN p99      = {pop['p99_ms'] / zpop['p99_ms']:.2f}")
    verdict = "meets" if ours["rate"] >= 1500 and ours["p99_ms"] <= 50 else "misses"
    print(f"bar POST /v1/tasks >= 1,500 req/s with p99 <= 50 ms: {verdict} "
          f"({ours['rate']:.0f} req/s, p99 {ours['p99_ms']:.1f} ms); Lua pop p99 <= 1 ms: "
          f"{'meets' if pop['p99_ms'] <= 1 else 'misses'} ({pop['p99_ms']:.2f} ms)")


if __name__ == "__main__":
    main()
