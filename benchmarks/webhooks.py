"""Intake with and without a failing webhook receiver, and what the receiver got, in the same run.

Starts ``dispatchwise serve`` (one worker, dispatch loop and webhook delivery on) on REDIS_URL or an
embedded Redis, and a local HTTP receiver that answers 503 to ``--fail`` of the deliveries and stalls
past the delivery timeout on ``--stall`` of them. Rounds alternate: POST /v1/tasks from ``--clients``
concurrent clients for ``--duration`` seconds with no webhook, then with one subscribed to every task
event. Then it waits until every delivery is made (or ``--drain`` seconds) and counts the attempts.

    .venv/bin/python -m benchmarks.webhooks
    .venv/bin/python -m benchmarks.webhooks --rounds 3 --duration 5 --fail 0.3 --stall 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

BOOT = "bench-webhook-key"
EVENTS = ["task.created", "task.offered", "task.assigned", "task.completed", "task.cancelled", "task.expired"]


def start_receiver(fail: float, stall: float, stall_s: float) -> tuple[ThreadingHTTPServer, dict[str, int]]:
    counts = {"requests": 0, "ok": 0}
    rng = random.Random(1)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                counts["requests"] += 1
                roll = rng.random()
            if roll < stall:
                time.sleep(stall_s)
            elif roll < stall + fail:
                self.send_response(503)
                self.end_headers()
                return
            with lock:
                counts["ok"] += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, counts


async def intake(url: str, clients: int, duration: float, run: str) -> tuple[float, float]:
    """Tasks posted per second and the p99 latency (ms) of POST /v1/tasks."""
    latencies: list[float] = []
    stop_at = time.monotonic() + duration
    headers = {"Authorization": f"Bearer {BOOT}"}

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            i = 0
            while time.monotonic() < stop_at:
                i += 1
                body = {"external_id": f"{run}-{n}-{i}", "source": "bench", "skill": "billing", "urgent": False,
                        "important": True}
                started = time.perf_counter()
                r = await http.post("/v1/tasks", json=body)
                latencies.append(time.perf_counter() - started)
                r.raise_for_status()

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return len(latencies) / elapsed, 1000 * latencies[int(0.99 * (len(latencies) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--fail", type=float, default=0.3)
    parser.add_argument("--stall", type=float, default=0.05)
    parser.add_argument("--drain", type=float, default=120.0)
    args = parser.parse_args()

    receiver, counts = start_receiver(args.fail, args.stall, stall_s=3.0)
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    data = Path(tempfile.mkdtemp(prefix="dw-bench-wh-"))
    env = {**os.environ, "DISPATCHWISE_BOOTSTRAP_KEY": BOOT, "DISPATCHWISE_DATA_DIR": str(data),
           "DISPATCHWISE_KEY_PREFIX": f"bwh{uuid.uuid4().hex[:6]}", "DISPATCHWISE_WEBHOOK_TIMEOUT_S": "1"}
    log = data / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "dispatchwise"), "serve", "--port", "0"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = None
        while url is None and proc.poll() is None:
            found = re.search(r"on (http://127\.0\.0\.1:\d+) ", log.read_text())
            url = found.group(1) if found else None
            time.sleep(0.1)
        assert url, log.read_text()
        sup = {"Authorization": f"Bearer {BOOT}"}
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        agent = {"name": "A", "skills": {"billing": 3}, "primary_skills": ["billing"], "capacity": 1}
        httpx.put(f"{url}/v1/agents/a1", json=agent, headers=sup).raise_for_status()
        without: list[tuple[float, float]] = []
        with_hook: list[tuple[float, float]] = []
        for r in range(args.rounds):
            httpx.delete(f"{url}/v1/webhooks/bench", headers=sup)
            without.append(asyncio.run(intake(url, args.clients, args.duration, f"off{r}")))
            httpx.put(f"{url}/v1/webhooks/bench", json={"url": hook, "events": EVENTS, "secret": "s" * 32},
                      headers=sup).raise_for_status()
            with_hook.append(asyncio.run(intake(url, args.clients, args.duration, f"on{r}")))
        give_up = time.monotonic() + args.drain
        while time.monotonic() < give_up:
            if httpx.get(f"{url}/v1/webhooks/bench", headers=sup).json()["pending_tasks"] == 0:
                break
            time.sleep(1)
        attempts = httpx.get(f"{url}/v1/webhooks/bench/deliveries", params={"limit": 1000},
                             headers=sup).json()
        pending = httpx.get(f"{url}/v1/webhooks/bench", headers=sup).json()["pending_tasks"]
        dead = len(httpx.get(f"{url}/v1/webhooks/bench/dead-letters", headers=sup).json())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        receiver.shutdown()
    rate_off = statistics.median(r for r, _ in without)
    rate_on = statistics.median(r for r, _ in with_hook)
    print(f"intake without webhooks: {rate_off:,.0f} tasks/s, p99 {statistics.median(p for _, p in without):.1f} ms")
    print(f"intake with a failing webhook ({args.fail:.0%} 503, {args.stall:.0%} stalls of 3 s > 1 s timeout): "
          f"{rate_on:,.0f} tasks/s, p99 {statistics.median(p for _, p in with_hook):.1f} ms "
          f"(ratio {rate_on / rate_off:.2f})")
    outcomes: dict[str, int] = {}
    for a in attempts:
        outcomes[a["outcome"]] = outcomes.get(a["outcome"], 0) + 1
    print(f"receiver: {counts['requests']:,} requests, {counts['ok']:,} accepted; tasks still pending {pending}, "
          f"dead letters {dead}; last {len(attempts)} attempts by outcome: {outcomes}")


if __name__ == "__main__":
    main()
