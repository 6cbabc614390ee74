"""Property test of the Lua state machine on a real Redis: whatever sequence of creates, offers,
pulls, answers, completions, cancels, transfers, status changes and clock jumps, every task is in
exactly one consistent place and no agent holds more than its capacity."""

from __future__ import annotations

import asyncio
from typing import Any

import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from api.store.queue import LiveQueue
from dispatcher.errors import Conflict, Forbidden, NotFound

SKILLS = ("billing", "tech")
AGENTS = {"ann": ({"billing": 3}, 1), "bob": ({"billing": 2, "tech": 4}, 2), "cy": ({"tech": 5}, 1)}
REFUSALS = (Conflict, NotFound, Forbidden)
PREFIX = "prop"


class QueueMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.now = 1_800_000_000.0
        self.raw: Any = redis.Redis.from_url(self.url, decode_responses=True)
        for key in self.raw.scan_iter(f"{PREFIX}:*"):
            self.raw.delete(key)
        self.queue = LiveQueue.from_url(self.url, prefix=PREFIX, offer_ttl_s=30, max_misses=2,
                                        clock=lambda: self.now)
        self.tasks: list[str] = []
        self.offers: list[str] = []
        self.n = 0
        for agent_id, (skills, capacity) in AGENTS.items():
            self.run(self.queue.put_agent(agent_id, name=agent_id, skills=skills, primary_skills=list(skills),
                                          capacity=capacity))
            self.run(self.queue.set_status(agent_id, "available", actor="test"))

    def run(self, coro: Any) -> Any:
        try:
            return self.loop.run_until_complete(coro)
        except REFUSALS:
            return None

    def teardown(self) -> None:
        self.loop.run_until_complete(self.queue.close())
        self.loop.close()
        for key in self.raw.scan_iter(f"{PREFIX}:*"):
            self.raw.delete(key)
        self.raw.close()

    # ---- rules -------------------------------------------------------------------------------
    @rule(skill=st.sampled_from(SKILLS), urgent=st.booleans(), important=st.booleans(), repeat=st.booleans())
    def create(self, skill: str, urgent: bool, important: bool, repeat: bool) -> None:
        if not repeat or not self.n:
            self.n += 1
        reply = self.run(self.queue.create_task(external_id=f"e{self.n}", source="s", skill=skill,
                                                urgent=urgent, important=important))
        if reply is None:  # a repeat with different content is refused (Conflict)
            return
        task, _ = reply
        if task["id"] not in self.tasks:
            self.tasks.append(task["id"])

    @rule(agent=st.sampled_from(sorted(AGENTS)))
    def pull(self, agent: str) -> None:
        offer = self.run(self.queue.pull(agent))
        if offer is not None:
            self.offers.append(offer.offer_id)

    @rule(data=st.data(), agent=st.sampled_from(sorted(AGENTS)))
    def dispatch_offer(self, data: st.DataObject, agent: str) -> None:
        if self.tasks:
            task_id = data.draw(st.sampled_from(self.tasks))
            offer = self.run(self.queue.offer(task_id, agent, explanation={}))
            if offer is not None:
                self.offers.append(offer.offer_id)

    @rule(data=st.data(), accept=st.booleans(), as_agent=st.sampled_from([None, *sorted(AGENTS)]))
    def answer(self, data: st.DataObject, accept: bool, as_agent: str | None) -> None:
        if self.offers:
            offer_id = data.draw(st.sampled_from(self.offers))
            if accept:
                self.run(self.queue.accept(offer_id, actor="t", acting_agent=as_agent))
            else:
                self.run(self.queue.reject(offer_id, actor="t", acting_agent=as_agent))

    @rule(data=st.data(), action=st.sampled_from(["complete", "cancel", "transfer", "escalate"]))
    def act_on_task(self, data: st.DataObject, action: str) -> None:
        if not self.tasks:
            return
        task_id = data.draw(st.sampled_from(self.tasks))
        if action == "complete":
            self.run(self.queue.complete(task_id, actor="t"))
        elif action == "cancel":
            self.run(self.queue.cancel(task_id, actor="t"))
        elif action == "transfer":
            self.run(self.queue.transfer(task_id, actor="t", skill=data.draw(st.sampled_from(SKILLS))))
        else:
            self.run(self.queue.reprioritize(task_id, actor="t", escalate=True))

    @rule(agent=st.sampled_from(sorted(AGENTS)), status=st.sampled_from(["available", "break", "offline"]))
    def set_status(self, agent: str, status: str) -> None:
        self.run(self.queue.set_status(agent, status, actor="t"))

    @rule(seconds=st.sampled_from([1, 10, 31]))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds
        self.run(self.queue.expire_offers())

    # ---- invariants --------------------------------------------------------------------------
    @invariant()
    def every_task_is_in_exactly_one_consistent_place(self) -> None:
        r, p = self.raw, PREFIX
        held_by = {a: r.smembers(f"{p}:atasks:{a}") for a in AGENTS}
        pending = {}
        for offer_id in r.zrange(f"{p}:offers:exp", 0, -1):
            o = r.hgetall(f"{p}:offer:{offer_id}")
            assert o["status"] == "pending"
            assert offer_id in r.zrange(f"{p}:aoffers:{o['agent']}", 0, -1)
            assert o["task"] not in pending, "two pending offers for one task"
            pending[o["task"]] = o
        for task_id in self.tasks:
            t = r.hgetall(f"{p}:task:{task_id}")
            in_queues = [s for s in SKILLS if r.zscore(f"{p}:q:{s}", task_id) is not None]
            holders = [a for a, held in held_by.items() if task_id in held]
            status = t["status"]
            if status == "queued":
                assert in_queues == [t["skill"]] and holders == [] and task_id not in pending
            elif status == "offered":
                assert in_queues == [] and holders == [t["agent"]]
                assert pending[task_id]["agent"] == t["agent"] and pending[task_id]["id"] == t["offer_id"]
            elif status == "assigned":
                assert in_queues == [] and holders == [t["agent"]] and task_id not in pending
            else:
                assert status in ("completed", "cancelled")
                assert in_queues == [] and holders == [] and task_id not in pending

    @invariant()
    def agents_never_exceed_capacity_and_count_what_they_hold(self) -> None:
        for agent_id, (_skills, capacity) in AGENTS.items():
            held = self.raw.scard(f"{PREFIX}:atasks:{agent_id}")
            active = int(self.raw.hget(f"{PREFIX}:agent:{agent_id}", "active") or 0)
            assert active == held <= capacity


def test_queue_state_machine_keeps_every_task_consistent(redis_url: str) -> None:
    QueueMachine.url = redis_url
    run_state_machine_as_test(
        QueueMachine,
        settings=settings(max_examples=25, stateful_step_count=25, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck)),
    )
