"""Task intake while many agents long-poll: ``POST /v1/tasks`` latency with N idle long-polls open
(``POST /v1/agents/{id}/next?wait=20`` of agents on break, 2 per agent) against the same intake with none,
measured in the same run on the same server (one ``dispatchwise serve`` worker, embedded Redis).

    .venv/bin/python -m benchmarks.longpoll_intake                      # 1,000 long-polls, 2,000 tasks
    .venv/bin/python -m benchmarks.longpoll_intake --polls 1000 --tasks 4000 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from api.ports import free_port

BOOT = "bench-boot-key"
SUP = {"Authorization": f"Bearer {BOOT}"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def intake(client: httpx.AsyncClient, label: str, tasks: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(tasks))

    async def one_client() -> None:
        for i in counter:
            body = {"external_id": f"{label}-{i}", "source": "bench", "skill": "billing", "urgent": i % 2 == 0}
            t0 = time.perf_counter()
            r = await client.post("/v1/tasks", json=body, headers=SUP)
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 201:
                raise SystemExit(f"intake failed: {r.status_code} {r.text}")

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"rate": tasks / elapsed, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * percentile(latencies, 0.99), "max_ms": 1000 * max(latencies)}


async def run(base: str, polls: int, tasks: int, concurrency: int) -> None:
    agents = (polls + 1) // 2
    limits = httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        for i in range(agents):
            r = await client.put(f"/v1/agents/idle{i}", json={"name": "idle", "skills": {"sales": 3}}, headers=SUP)
            r.raise_for_status()
            (await client.put(f"/v1/agents/idle{i}/status", json={"status": "break"}, headers=SUP)).raise_for_status()
        await intake(client, "warmup", min(500, tasks), concurrency)
        baseline = await intake(client, "base", tasks, concurrency)

        # the long-polls come from another process (raw HTTP/1.1 keep-alive connections), so the client's
        # own pool does not slow the measured intake down
        ctx = multiprocessing.get_context("spawn")
        stop = ctx.Event()
        parked = ctx.Value("i", 0)
        answered = ctx.Value("i", 0)
        poller = ctx.Process(target=poll_forever, args=(base, polls, agents, stop, parked, answered))
        poller.start()
        deadline = time.monotonic() + 60
        while parked.value < polls and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # every request sent; let the server park them
        loaded = await intake(client, "loaded", tasks, concurrency)
        stop.set()
        poller.join(timeout=40)
        if poller.is_alive():
            poller.terminate()

    print(f"\nPOST /v1/tasks, {tasks} tasks, {concurrency} concurrent clients, one API worker")
    print(f"{'long-polls open':>16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, row in ((0, baseline), (polls, loaded)):
        print(f"{label:>16} {row['rate']:8.0f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['max_ms']:8.1f}")
    print(f"ratio (loaded / none): rate {loaded['rate'] / baseline['rate']:.2f}, "
          f"p99 {loaded['p99_ms'] / baseline['p99_ms']:.2f}; long-polls connected {parked.value}, "
          f"answered meanwhile {answered.value}")


def poll_forever(base: str, polls: int, agents: int, stop: Any, parked: Any, answered: Any) -> None:
    """``polls`` keep-alive connections, each re-opening ``/next?wait=20`` as soon as it is answered."""
    host, port = base.removeprefix("http://").split(":")

    async def one(agent: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        request = (f"POST /v1/agents/idle{agent}/next?wait=20 HTTP/1.1\r\nHost: {host}\r\n"
                   f"Authorization: Bearer {BOOT}\r\nContent-Length: 0\r\n\r\n").encode()
        with parked.get_lock():
            parked.value += 1
        while not stop.is_set():
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            with answered.get_lock():
                answered.value += 1
        writer.close()

    async def all_polls() -> None:
        tasks = [asyncio.create_task(one(i % agents)) for i in range(polls)]
        while not stop.is_set():
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(all_polls())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DISPATCHWISE_REDIS_URL")}
        env.update(DISPATCHWISE_DATA_DIR=str(Path(tmp) / "data"), DISPATCHWISE_BOOTSTRAP_KEY=BOOT,
                   DISPATCHWISE_ALLOW_NEW_SKILLS="1", DISPATCHWISE_LONGPOLL_MAX=str(args.polls + 100))
        server = subprocess.Popen([sys.executable, "-m", "api.cli.main", "serve", "--port", str(port),
                                   "--no-dispatch"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the service did not start")
                time.sleep(0.1)
            asyncio.run(run(base, args.polls, args.tasks, args.concurrency))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
