"""Scale past one process: 2 ``serve --no-dispatch`` API processes and 2 ``worker`` dispatch loops
against one real Redis, as docker-compose runs them; 8 creating clients and the agents spread over
both APIs; 0 tasks lost and 0 double offers (every task's trail and every agent's holdings checked)."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from tests.test_api_service import (
    LoadRun,
    _agent,
    _creator,
    check_holdings,
    check_trail,
    register_load_agents,
    service_env,
    start_serve,
    start_worker,
    stop,
)


def test_two_apis_and_two_workers_on_one_redis_lose_nothing_and_never_double_offer(
    redis_url: str, tmp_path: Path
) -> None:
    n_tasks, n_creators, n_agents = 800, 8, 10
    prefix = f"scale{uuid.uuid4().hex[:6]}"
    boot = "scale-boot"
    env = service_env(redis_url, prefix, boot, tmp_path, DISPATCHWISE_OFFER_TTL_S="3",
                      DISPATCHWISE_MAX_MISSES="1000", DISPATCHWISE_RUN_DISPATCH="0")
    procs: list[Any] = []
    raw: Any = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        bases = []
        for i in range(2):
            server, base = start_serve(env, None, "--no-dispatch", log=tmp_path / f"serve{i}.log")
            procs.append(server)
            bases.append(base)
        procs += [start_worker(env), start_worker(env)]
        agent_keys, capacity, integration = register_load_agents(bases[0], boot, n_agents)
        run = LoadRun()
        done = threading.Event()
        agents = [threading.Thread(target=_agent, args=(bases[i % 2], agent_keys[a], a, run, done, i, 0.03))
                  for i, a in enumerate(agent_keys)]
        share = [n_tasks // n_creators] * n_creators
        creators = [threading.Thread(target=_creator, args=(bases[i % 2], integration, i, share[i], run, 100 + i))
                    for i in range(n_creators)]
        for t in agents + creators:
            t.start()
        for t in creators:
            t.join()
        deadline = time.monotonic() + 180
        while len(run.completed) < n_tasks and time.monotonic() < deadline and not run.errors:
            time.sleep(0.2)
        done.set()
        for t in agents:
            t.join()
        assert run.errors == []
        assert len(run.created) == n_tasks
        assert sorted(run.completed) == sorted(run.created.values())  # 0 lost, each completed once
        problems: list[str] = []
        for task_id in run.created.values():
            hist = raw.xrange(f"{prefix}:hist:{task_id}")
            problems += check_trail(task_id, [fields["event"] for _id, fields in hist])
        audit = [fields for _id, fields in raw.xrange(f"{prefix}:audit")]
        problems += check_holdings(audit, capacity)  # never more offers held than capacity: no double offer
        assert problems == [], problems[:10]
        offered_by = {e["agent"] for e in audit if e["event"] == "offered" and e["actor"] != "pull"}
        assert offered_by, "the workers' dispatch loops made no offer"
    finally:
        for proc in procs:
            stop(proc)
        for key in raw.scan_iter(f"{prefix}:*", count=1000):
            raw.delete(key)
        raw.close()
