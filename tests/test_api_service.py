"""The real service under load and crashes: ``dispatchwise serve`` and ``worker`` subprocesses on a
real Redis, many client threads, then every task's trail is checked event by event."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from api.ports import free_port
from api.service.app import create_app
from api.service.settings import Settings
from api.store.embedded_redis import EmbeddedRedis
from api.store.queue import LiveQueue

BIN = Path(sys.executable).parent / "dispatchwise"


def service_env(redis_url: str, prefix: str, boot: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "REDIS_URL": redis_url,
        "DISPATCHWISE_KEY_PREFIX": prefix,
        "DISPATCHWISE_BOOTSTRAP_KEY": boot,
        "DISPATCHWISE_DATA_DIR": str(data_dir),
        "DISPATCHWISE_DISPATCH_INTERVAL_S": "0.1",
        **extra,
    })
    return env


def start_serve(env: Mapping[str, str], port: int | None = None, *args: str,
                log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = port or free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), *args], env=dict(env), stdout=out,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dispatchwise serve exited with {proc.returncode}")
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("dispatchwise serve did not become ready within 30 s")


def start_worker(env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN), "worker"], env=dict(env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def register_load_agents(base: str, boot: str, n_agents: int) -> tuple[dict[str, str], dict[str, int], str]:
    """Agents agent0.. with two skills each and capacity 1 or 2, available, each with its own key; and an
    integration key. Returns (agent keys, capacities, integration key)."""
    agent_keys: dict[str, str] = {}
    capacity: dict[str, int] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {boot}"}, timeout=30) as client:
        for i in range(n_agents):
            agent_id = f"agent{i}"
            capacity[agent_id] = 1 + i % 2
            skills = {SKILLS[i % 3]: 3, SKILLS[(i + 1) % 3]: 2}
            client.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "skills": skills,
                       "primary_skills": list(skills), "capacity": capacity[agent_id]}).raise_for_status()
            client.put(f"/v1/agents/{agent_id}/status", json={"status": "available"}).raise_for_status()
            agent_keys[agent_id] = client.post("/v1/keys", json={"role": "agent", "agent_id": agent_id}).json()["key"]
        integration = client.post("/v1/keys", json={"role": "integration"}).json()["key"]
    return agent_keys, capacity, integration


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- the checks --------------------------------------------------------------------------------
CLOSES_OFFER = {"accepted", "rejected", "expired", "withdrawn"}


def check_trail(task_id: str, events: list[str]) -> list[str]:
    """Problems in one task's history: states must follow queued -> offered -> (accepted | back to
    queued) -> completed, an offer closed before the next one, completed exactly once."""
    problems = []
    state = None
    for event in events:
        if event == "created":
            ok, state = state is None, "queued"
        elif event == "offered":
            ok, state = state == "queued", "offered"
        elif event in ("rejected", "expired", "withdrawn"):
            ok, state = state == "offered", "queued"
        elif event == "accepted":
            ok, state = state == "offered", "accepted"
        elif event == "started":
            ok, state = state == "accepted", "assigned"
        elif event == "completed":
            ok, state = state == "assigned", "completed"
        elif event in ("sla_warning", "sla_alert", "escalated", "reprioritized", "satisfaction"):
            ok = state is not None
        else:
            ok = False
        if not ok:
            problems.append(f"{task_id}: {event} in state {state}: {events}")
    if state != "completed":
        problems.append(f"{task_id}: ended {state}: {events}")
    return problems


def check_holdings(audit: list[dict[str, str]], capacity: Mapping[str, int]) -> list[str]:
    """Replays the global audit stream: no task ever held by two agents, no agent over capacity."""
    holder: dict[str, str] = {}
    held: dict[str, int] = dict.fromkeys(capacity, 0)
    problems = []
    for e in audit:
        task_id, event, agent = e["task"], e["event"], e.get("agent", "")
        if event == "offered":
            if task_id in holder:
                problems.append(f"{task_id} offered to {agent} while held by {holder[task_id]}")
            holder[task_id] = agent
            held[agent] += 1
            if held[agent] > capacity[agent]:
                problems.append(f"{agent} holds {held[agent]} > capacity {capacity[agent]}")
        elif event in ("rejected", "expired", "withdrawn", "completed"):
            if holder.pop(task_id, None) != agent:
                problems.append(f"{task_id}: {event} by {agent} who did not hold it")
            held[agent] -= 1
    return problems


# ---- the load run ------------------------------------------------------------------------------
SKILLS = ("billing", "tech", "sales")


@dataclass
class LoadRun:
    created: dict[str, str] = field(default_factory=dict)
    """external id -> task id, from acknowledged creates."""
    completed: list[str] = field(default_factory=list)
    duplicates_ok: int = 0
    errors: list[str] = field(default_factory=list)


def _creator(base: str, key: str, worker: int, count: int, run: LoadRun, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for i in range(count):
            ext = f"c{worker}-{i}"
            body = {"external_id": ext, "source": "load", "skill": rng.choice(SKILLS),
                    "urgent": rng.random() < 0.3, "important": rng.random() < 0.5}
            r = client.post("/v1/tasks", json=body)
            if r.status_code != 201:
                run.errors.append(f"create {ext}: {r.status_code} {r.text}")
                continue
            run.created[ext] = r.json()["id"]
            if i % 50 == 0:  # a retry of the same ticket must return the same task
                again = client.post("/v1/tasks", json=body)
                if again.status_code == 200 and again.json()["id"] == run.created[ext]:
                    run.duplicates_ok += 1
                else:
                    run.errors.append(f"repost {ext}: {again.status_code} {again.text}")


def _agent(base: str, key: str, agent_id: str, run: LoadRun, done: threading.Event, seed: int,
           reject_p: float) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        while not done.is_set():
            r = client.post(f"/v1/agents/{agent_id}/next", params={"wait": 0.5})
            if r.status_code == 204:
                continue
            if r.status_code != 200:
                run.errors.append(f"next {agent_id}: {r.status_code} {r.text}")
                continue
            offer = r.json()
            if rng.random() < reject_p:
                client.post(f"/v1/offers/{offer['offer_id']}/reject", json={"reason": "busy"})
                continue
            r = client.post(f"/v1/offers/{offer['offer_id']}/accept")
            if r.status_code == 409:  # expired before we answered: re-routed, fine
                continue
            if r.status_code != 200:
                run.errors.append(f"accept {offer['offer_id']}: {r.status_code} {r.text}")
                continue
            task_id = offer["task"]["id"]
            r = client.post(f"/v1/tasks/{task_id}/complete", json={"first_contact_resolved": rng.random() < 0.7})
            if r.status_code != 200:
                run.errors.append(f"complete {task_id}: {r.status_code} {r.text}")
                continue
            run.completed.append(task_id)


def run_load(redis_url: str, tmp: Path, *, n_tasks: int, n_creators: int, n_agents: int,
             reject_p: float = 0.03, timeout_s: float = 120.0) -> None:
    prefix = f"load{uuid.uuid4().hex[:6]}"
    boot = "load-boot"
    env = service_env(redis_url, prefix, boot, tmp, DISPATCHWISE_OFFER_TTL_S="3", DISPATCHWISE_MAX_MISSES="1000")
    server, base = start_serve(env, log=tmp / "serve.log")
    worker = start_worker(env)  # the second dispatch loop
    raw: Any = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        agent_keys, capacity, integration = register_load_agents(base, boot, n_agents)
        run = LoadRun()
        done = threading.Event()
        agents = [threading.Thread(target=_agent, args=(base, agent_keys[a], a, run, done, i, reject_p))
                  for i, a in enumerate(agent_keys)]
        share = [n_tasks // n_creators + (1 if i < n_tasks % n_creators else 0) for i in range(n_creators)]
        creators = [threading.Thread(target=_creator, args=(base, integration, i, share[i], run, 100 + i))
                    for i in range(n_creators)]
        for t in agents + creators:
            t.start()
        for t in creators:
            t.join()
        deadline = time.monotonic() + timeout_s
        while len(run.completed) < n_tasks and time.monotonic() < deadline and not run.errors:
            time.sleep(0.2)
        done.set()
        for t in agents:
            t.join()
        assert run.errors == []
        assert len(run.created) == n_tasks and run.duplicates_ok == sum((s + 49) // 50 for s in share)
        # every task completed exactly once
        assert sorted(run.completed) == sorted(run.created.values())
        ids = list(run.created.values())
        pipe = raw.pipeline(transaction=False)
        for task_id in ids:
            pipe.hget(f"{prefix}:task:{task_id}", "status")
            pipe.xrange(f"{prefix}:hist:{task_id}")
        replies = pipe.execute()
        problems = []
        for task_id, status, hist in zip(ids, replies[0::2], replies[1::2], strict=True):
            if status != "completed":
                problems.append(f"{task_id} is {status}")
            problems += check_trail(task_id, [fields["event"] for _id, fields in hist])
        audit = [fields for _id, fields in raw.xrange(f"{prefix}:audit")]
        problems += check_holdings(audit, capacity)
        assert problems == [], problems[:10]
        for agent_id in capacity:
            assert raw.hget(f"{prefix}:agent:{agent_id}", "active") == "0"
        assert raw.zcard(f"{prefix}:offers:exp") == 0
    finally:
        stop(worker)
        stop(server)
        for key in raw.scan_iter(f"{prefix}:*", count=1000):
            raw.delete(key)
        raw.close()


@pytest.mark.slow
def test_concurrent_clients_agents_and_two_dispatch_loops_complete_every_task_once(
    redis_url: str, tmp_path: Path
) -> None:
    run_load(redis_url, tmp_path, n_tasks=1000, n_creators=8, n_agents=10)


@pytest.mark.slow
def test_issue_size_load_10000_tasks_8_clients_50_agents_two_loops(redis_url: str, tmp_path: Path) -> None:
    run_load(redis_url, tmp_path, n_tasks=10_000, n_creators=8, n_agents=50, timeout_s=900)


# ---- crashes -----------------------------------------------------------------------------------
def _create_until_stopped(base: str, key: str, acked: list[str], stop_flag: threading.Event) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=5) as client:
        i = 0
        while not stop_flag.is_set():
            try:
                r = client.post("/v1/tasks", json={"external_id": f"k{i}", "source": "crash", "skill": "billing"})
            except httpx.HTTPError:
                return  # the server is gone
            if r.status_code == 201:
                acked.append(r.json()["id"])
            i += 1


@pytest.mark.slow
def test_kill_9_of_the_api_process_loses_no_acknowledged_task_and_restart_requeues_expired_offers(
    redis_url: str, tmp_path: Path
) -> None:
    prefix = f"crash{uuid.uuid4().hex[:6]}"
    env = service_env(redis_url, prefix, "crash-boot", tmp_path, DISPATCHWISE_OFFER_TTL_S="1")
    sup = {"Authorization": "Bearer crash-boot"}
    raw: Any = redis.Redis.from_url(redis_url, decode_responses=True)
    server, base = start_serve(env, None, "--no-dispatch")
    try:
        httpx.put(f"{base}/v1/agents/ann", json={"name": "Ann", "skills": {"billing": 3}}, headers=sup)
        httpx.put(f"{base}/v1/agents/ann/status", json={"status": "available"}, headers=sup)
        acked: list[str] = []
        stop_flag = threading.Event()
        creator = threading.Thread(target=_create_until_stopped, args=(base, "crash-boot", acked, stop_flag))
        creator.start()
        while len(acked) < 20:
            time.sleep(0.05)
        offer = httpx.post(f"{base}/v1/agents/ann/next", headers=sup).json()
        time.sleep(0.2)
        server.kill()  # SIGKILL mid-run, while the creator is still posting
        server.wait()
        stop_flag.set()
        creator.join()
        assert len(acked) >= 20
        pipe = raw.pipeline(transaction=False)
        for task_id in acked:
            pipe.hget(f"{prefix}:task:{task_id}", "status")
            pipe.zscore(f"{prefix}:q:billing", task_id)
        replies = pipe.execute()
        for task_id, status, score in zip(acked, replies[0::2], replies[1::2], strict=True):
            if task_id == offer["task"]["id"]:
                assert status == "offered"
            else:
                assert status == "queued" and score is not None, (task_id, status, score)
        time.sleep(1.1)  # the pending offer expires while nothing runs
        # restart (in-process, same start-up path as serve): recovery re-queues the expired offer
        settings = Settings(redis_url=redis_url, key_prefix=prefix, bootstrap_key="crash-boot", data_dir=tmp_path)
        with TestClient(create_app(settings, dispatch=False)) as client:
            again = client.get(f"/v1/tasks/{offer['task']['id']}/history", headers=sup).json()
            assert [e["event"] for e in again][-2:] == ["offered", "expired"]
            assert client.get(f"/v1/tasks/{offer['task']['id']}", headers=sup).json()["status"] == "queued"
            depth = client.get("/v1/queues", headers=sup).json()[0]["depth"]
            assert depth == raw.hlen(f"{prefix}:ext:crash") >= len(acked)
    finally:
        stop(server)
        for key in raw.scan_iter(f"{prefix}:*", count=1000):
            raw.delete(key)
        raw.close()


def test_kill_9_of_redis_with_appendfsync_always_loses_no_acknowledged_task(tmp_path: Path) -> None:
    server = EmbeddedRedis(data_dir=tmp_path, appendfsync="always").start()
    acked: list[str] = []

    async def create_until_gone() -> None:
        queue = LiveQueue.from_url(server.url)
        try:
            for i in range(100_000):
                task, _ = await queue.create_task(external_id=f"r{i}", source="aof", skill="billing",
                                                  urgent=False, important=True)
                acked.append(task["id"])
        except (redis.ConnectionError, ConnectionError, OSError):
            return
        finally:
            await queue.redis.aclose(close_connection_pool=True)

    writer = threading.Thread(target=lambda: asyncio.run(create_until_gone()))
    writer.start()
    while len(acked) < 200:
        time.sleep(0.01)
    assert server.process is not None
    server.process.kill()  # SIGKILL: no clean shutdown, no final flush
    server.process.wait()
    writer.join()
    server.process = None
    restarted = EmbeddedRedis(data_dir=tmp_path, appendfsync="always").start()
    try:
        raw = redis.Redis.from_url(restarted.url, decode_responses=True)
        pipe = raw.pipeline(transaction=False)
        for task_id in acked:
            pipe.hget(f"dw:task:{task_id}", "status")
        statuses = pipe.execute()
        assert statuses == ["queued"] * len(acked)
        assert raw.zcard("dw:q:billing") >= len(acked)
        raw.close()
    finally:
        restarted.stop()


def test_serve_on_port_0_prints_the_free_port_it_listens_on(redis_url: str, tmp_path: Path) -> None:
    env = service_env(redis_url, f"port0-{uuid.uuid4().hex[:6]}:", "port0-boot", tmp_path)
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([str(BIN), "serve", "--port", "0"], env=env, stdout=open(log, "wb"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        match = None
        while match is None and time.monotonic() < deadline and proc.poll() is None:
            match = re.search(r"on http://127\.0\.0\.1:(\d+) ", log.read_text())
            time.sleep(0.1)
        assert match is not None, log.read_text()
        port = int(match.group(1))
        assert port not in (0, 8000)
        ready = False
        while not ready and time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.1)
        assert ready, log.read_text()
    finally:
        stop(proc)
