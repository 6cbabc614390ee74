"""Discrete-event simulation of a multi-skill center: arrivals, patience, shifts with breaks, routing.

One heap of timed events (completions, duty changes, abandonments, batch ticks) merged with the
pre-sorted arrival stream, handled by :class:`Center`. Who takes what is decided by a router:

- :class:`PolicyRouter` (``routing = "optimizer"``) runs the live service's
  :class:`dispatcher.policy.RoutingPolicy` on the same arrays the live dispatcher builds: the same
  terms (quadrant layers, ageing, proficiency, owner/delegation, load, fairness, shift guard), the
  same batch grid, the same dispatch-at-once rule and the same optimizer or baseline;
- :class:`OnEventRouter` (greedy, round_robin, least_busy) is a classic ACD: a free agent takes the
  oldest waiting task of its skills, an arriving task goes to an idle agent. It reproduces the FCFS
  recursion on one queue (the validation model) but runs nowhere live.

Agents serve one task at a time and finish the task in hand before a break or the end of their shift.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dispatcher.abtest import first_arm
from dispatcher.domain import Quadrant
from dispatcher.policy import AgentBatch, RoutingPolicy, TaskBatch
from dispatcher.simulation.arrivals import Tasks
from dispatcher.simulation.model import (
    BoolArray,
    FloatArray,
    IntArray,
    SimulationConfig,
    Staffing,
)

ARRIVE, COMPLETE, DUTY_OFF, DUTY_ON, TICK, ABANDON = -1, 0, 1, 2, 3, 4
NEW, WAITING, SERVING, GONE = 0, 1, 2, 3
NAN = float("nan")


@dataclass(frozen=True, slots=True)
class SimulatedDay:
    """One simulated replication: what happened to every task and agent (exportable as an event log)."""

    queues: tuple[str, ...]
    agent_ids: tuple[str, ...]
    horizon_s: float
    arrival_s: FloatArray
    queue: IntArray
    quadrant_rank: IntArray
    start_s: FloatArray
    """Service start (NaN when never served)."""
    end_s: FloatArray
    agent: IntArray
    """Index into agent_ids of the agent who served the task, -1 when none."""
    abandoned: BoolArray
    wait_s: FloatArray
    """Time in queue until service, abandonment, or the end of the simulation."""
    agent_busy_s: FloatArray
    agent_duty_s: FloatArray
    agent_handled: IntArray
    events: int
    """Events processed: arrivals, completions, abandonments, duty changes and batch ticks."""


class Center:
    """The state of one replication: who waits in which queue, who is idle, and the event heap."""

    def __init__(self, tasks: Tasks, staffing: Staffing, cfg: SimulationConfig) -> None:
        self.tasks = tasks
        self.staffing = staffing
        self.cfg = cfg
        n, n_agents = len(tasks), len(staffing.agent_ids)
        self.n_queues = n_queues = staffing.proficiency.shape[1]
        self.arrival = tasks.arrival_s.tolist()
        self.task_queue = tasks.queue.tolist()
        self.rank = tasks.quadrant_rank.tolist()
        self.prof = staffing.proficiency.tolist()
        self.state = bytearray(n)
        self.start = [NAN] * n
        self.end = [NAN] * n
        self.served_by = [-1] * n
        self.abandoned = [False] * n
        self.waiting: list[list[deque[int]]] = [[deque() for _ in range(4)] for _ in range(n_queues)]
        """Per queue and quadrant rank, in arrival order; served or abandoned tasks are dropped lazily."""
        self.waiting_n = [0] * n_queues
        self.idle_by_queue: list[set[int]] = [set() for _ in range(n_queues)]
        self.on_duty = [False] * n_agents
        self.busy = [False] * n_agents
        self.busy_s = np.zeros(n_agents)
        self.handled = [0] * n_agents
        self.idle_since = np.zeros(n_agents)
        self.duty_until = np.zeros(n_agents)
        """End of the on-duty interval the agent is in (its next break or shift end)."""
        self.allowed = np.zeros((n_agents, n_queues), dtype=bool)
        """The queues each agent may serve now (all its skills, or its skill block's)."""
        self.quadrant_rank = tasks.quadrant_rank
        self.pieces = [staffing.duty_pieces(a, cfg.honour_skill_plan) for a in range(n_agents)]
        self.next_piece = [0] * n_agents
        self.agent_queues: list[list[int]] = [[] for _ in range(n_agents)]
        self.heap: list[tuple[float, int, int]] = [
            (t, kind, a)
            for a, agent_pieces in enumerate(self.pieces)
            for s, e, _ in agent_pieces
            for t, kind in ((s, DUTY_ON), (e, DUTY_OFF))
        ]
        heapq.heapify(self.heap)
        self.events = 0

    # -- queues ------------------------------------------------------------------------------------

    def enqueue(self, x: int, now: float) -> None:
        q = self.task_queue[x]
        self.state[x] = WAITING
        self.waiting[q][self.rank[x]].append(x)
        self.waiting_n[q] += 1
        patience = float(self.tasks.patience_s[x])
        if patience < math.inf:
            heapq.heappush(self.heap, (now + patience, ABANDON, x))

    def waiting_in(self, q: int) -> list[deque[int]]:
        """The rank deques of queue ``q`` with served and abandoned tasks dropped from their heads."""
        for dq in self.waiting[q]:
            while dq and self.state[dq[0]] != WAITING:
                dq.popleft()
        return self.waiting[q]

    def can_match(self, queues: list[int] | range) -> bool:
        """Some queue among ``queues`` has a waiting task and an idle agent."""
        return any(self.waiting_n[q] and self.idle_by_queue[q] for q in queues)

    # -- agents ------------------------------------------------------------------------------------

    def begin(self, x: int, a: int, now: float) -> None:
        q = self.task_queue[x]
        if self.state[x] == WAITING:
            self.waiting_n[q] -= 1
        self.state[x] = SERVING
        self.start[x] = now
        self.served_by[x] = a
        self.busy[a] = True
        for aq in self.agent_queues[a]:
            self.idle_by_queue[aq].discard(a)
        factor = self.cfg.proficiency_handle_factor[self.prof[a][q] - 1]
        heapq.heappush(self.heap, (now + float(self.tasks.handle_s[x]) * factor, COMPLETE, x))

    def make_idle(self, a: int, now: float) -> None:
        self.idle_since[a] = now
        for q in self.agent_queues[a]:
            self.idle_by_queue[q].add(a)

    def take_off_duty(self, a: int) -> None:
        self.on_duty[a] = False
        for q in self.agent_queues[a]:
            self.idle_by_queue[q].discard(a)

    def come_on_duty(self, a: int, now: float) -> None:
        """The agent's next duty piece starts: its queues, and until when it is on duty."""
        self.agent_queues[a] = list(self.pieces[a][self.next_piece[a]][2])
        self.next_piece[a] += 1
        self.allowed[a] = False
        self.allowed[a, self.agent_queues[a]] = True
        intervals = self.staffing.duty[a]
        i = bisect_right(intervals, (now, math.inf)) - 1
        self.duty_until[a] = intervals[i][1] if i >= 0 and intervals[i][0] <= now < intervals[i][1] else now

    def idle_agents(self) -> list[int]:
        return sorted(set().union(*self.idle_by_queue))

    def result(self, queues: tuple[str, ...], horizon_s: float, now: float) -> SimulatedDay:
        finish = max(now, horizon_s)
        start_arr = np.asarray(self.start, dtype=np.float64)
        arrival_arr = self.tasks.arrival_s
        abandoned_arr = np.asarray(self.abandoned, dtype=np.bool_)
        served = ~np.isnan(start_arr)
        wait = np.where(
            served, start_arr - arrival_arr, np.where(abandoned_arr, self.tasks.patience_s, finish - arrival_arr)
        )
        return SimulatedDay(
            queues=queues,
            agent_ids=self.staffing.agent_ids,
            horizon_s=horizon_s,
            arrival_s=arrival_arr,
            queue=self.tasks.queue,
            quadrant_rank=self.tasks.quadrant_rank,
            start_s=start_arr,
            end_s=np.asarray(self.end, dtype=np.float64),
            agent=np.asarray(self.served_by, dtype=np.int64),
            abandoned=abandoned_arr,
            wait_s=wait.astype(np.float64),
            agent_busy_s=self.busy_s.copy(),
            agent_duty_s=np.asarray([sum(e - s for s, e in d) for d in self.staffing.duty], dtype=np.float64),
            agent_handled=np.asarray(self.handled, dtype=np.int64),
            events=self.events,
        )


class Router(Protocol):
    """Decides who takes what when a task arrives or an agent frees up (and at its own ticks)."""

    def arrived(self, center: Center, x: int, now: float) -> None: ...
    def agent_free(self, center: Center, a: int, now: float) -> None: ...
    def changed(self, center: Center, now: float) -> None: ...
    def tick(self, center: Center, now: float, x: int) -> None: ...


class OnEventRouter:
    """Classic ACD routing: an arriving task goes to an idle agent (greedy = highest proficiency,
    round_robin, least_busy); a freed agent takes the oldest waiting task of its skills."""

    def __init__(self, center: Center, rule: str) -> None:
        self.rule = rule
        prof = center.prof
        n_agents = len(prof)
        self.members = [[a for a in range(n_agents) if prof[a][q] > 0] for q in range(center.n_queues)]
        self.pointer = [0] * center.n_queues

    def arrived(self, center: Center, x: int, now: float) -> None:
        a = self.pick_idle_agent(center, center.task_queue[x])
        if a >= 0:
            center.begin(x, a, now)
        else:
            center.enqueue(x, now)

    def agent_free(self, center: Center, a: int, now: float) -> None:
        x = self.oldest_waiting(center, a)
        if x >= 0:
            center.begin(x, a, now)
        else:
            center.make_idle(a, now)

    def changed(self, center: Center, now: float) -> None:
        return None

    def tick(self, center: Center, now: float, x: int) -> None:
        return None

    def oldest_waiting(self, center: Center, a: int) -> int:
        best, best_at = -1, math.inf
        for q in center.agent_queues[a]:
            if not center.waiting_n[q]:
                continue
            for dq in center.waiting_in(q):
                if dq and center.arrival[dq[0]] < best_at:
                    best, best_at = dq[0], center.arrival[dq[0]]
        return best

    def pick_idle_agent(self, center: Center, q: int) -> int:
        idle = center.idle_by_queue[q]
        if not idle:
            return -1
        if self.rule == "greedy":  # an idle agent of the highest proficiency (lowest index among them)
            return min(idle, key=lambda a: (-center.prof[a][q], a))
        if self.rule == "least_busy":
            return min(idle, key=lambda a: (center.busy_s[a], a))
        members = self.members[q]  # round robin: next idle agent after the last one chosen
        size = len(members)
        p = self.pointer[q]
        for step in range(size):
            a = members[(p + step) % size]
            if a in idle:
                self.pointer[q] = (p + step + 1) % size
                return a
        return -1


@dataclass(frozen=True, slots=True)
class Arm:
    """A policy and the tasks (or agents) it routes; None = all. Two arms make an A/B experiment."""

    policy: RoutingPolicy
    tasks: BoolArray | None = None
    agents: BoolArray | None = None


class PolicyRouter:
    """The live routing policy: tasks wait in their queues; whenever a waiting task and an idle agent
    of its skill coexist the policy decides (at once when it may, else at the next grid tick).

    With two arms (an A/B experiment) each decides for its own tasks (or agents) in turn, the first
    alternating by second, exactly as the live dispatcher's routes."""

    def __init__(self, center: Center, arms: list[Arm], expected_handle_s: FloatArray) -> None:
        self.arms = arms
        self.expected_handle_s = expected_handle_s
        sla = arms[0].policy.weights.sla
        self.window_s = np.array([sla.target(q).response_s for q in Quadrant], dtype=np.float64)
        # agents in the order of their ids, as the live dispatcher sorts them
        ids = center.staffing.agent_ids
        self.id_order = {a: k for k, a in enumerate(sorted(range(len(ids)), key=lambda a: ids[a]))}
        self.tick_at: list[float | None] = [None] * len(arms)
        """Per arm, when its next grid batch is due (None: none scheduled)."""

    def arrived(self, center: Center, x: int, now: float) -> None:
        center.enqueue(x, now)
        if center.idle_by_queue[center.task_queue[x]]:
            self.route(center, now)

    def agent_free(self, center: Center, a: int, now: float) -> None:
        center.make_idle(a, now)
        if any(center.waiting_n[q] for q in center.agent_queues[a]):
            self.route(center, now)

    def changed(self, center: Center, now: float) -> None:
        """An abandonment or a break may leave the remaining tasks free of contention."""
        if center.can_match(range(center.n_queues)):
            self.route(center, now)

    def tick(self, center: Center, now: float, x: int) -> None:
        due = {k for k, at in enumerate(self.tick_at) if at is not None and at <= now}
        if not due:
            return  # another arm's tick at the same moment already ran every due batch
        for k in due:
            self.tick_at[k] = None
        if center.can_match(range(center.n_queues)):
            self.route(center, now, due=due)

    def route(self, center: Center, now: float, *, due: frozenset[int] | set[int] = frozenset()) -> None:
        """Let every arm decide for its share (``due``: the arms whose grid batch is now), as one live tick."""
        idle = sorted(center.idle_agents(), key=self.id_order.__getitem__)
        per_queue = max(arm.policy.batch_size(len(idle)) for arm in self.arms)
        waiting = self.candidates(center, per_queue)
        first = first_arm(round(now * 1000), [arm.policy.batch_interval_s for arm in self.arms])
        order = range(len(self.arms)) if first == 0 else range(len(self.arms) - 1, -1, -1)
        for k in order:
            arm = self.arms[k]
            tasks = waiting if arm.tasks is None else [x for x in waiting if arm.tasks[x]]
            agents = [a for a in idle if not center.busy[a] and (arm.agents is None or arm.agents[a])]
            tasks = [x for x in tasks if center.state[x] == WAITING]
            tasks_batch, agent_batch = self.batches(center, tasks, agents, now)
            chosen = arm.policy.decide(tasks_batch, agent_batch, batch_due=k in due)
            if chosen is None:
                if self.tick_at[k] is None:
                    at = arm.policy.next_batch_s(now)
                    self.tick_at[k] = at
                    heapq.heappush(center.heap, (at, TICK, -k - 1))
                continue
            for row, col in enumerate(chosen.result.task_agent.tolist()):
                if col >= 0:
                    center.begin(tasks[row], agents[col], now)

    def candidates(self, center: Center, per_queue: int) -> list[int]:
        """Per queue the ``per_queue`` waiting tasks due first, all in arrival order: the live batch
        (queues without an idle agent included: their tasks get no pairs but keep the rows aligned)."""
        chosen: list[int] = []
        for q in range(center.n_queues):
            if not center.waiting_n[q]:
                continue
            due = [
                ((center.arrival[x] + self.window_s[rank], x) for x in dq if center.state[x] == WAITING)
                for rank, dq in enumerate(center.waiting_in(q))
            ]
            chosen.extend(x for _, x in heapq.nsmallest(per_queue, heapq.merge(*due)))
        chosen.sort()
        return chosen

    def batches(
        self, center: Center, tasks: list[int], agents: list[int], now: float
    ) -> tuple[TaskBatch, AgentBatch]:
        """The waiting tasks and idle agents as the policy's arrays (what the live dispatcher builds)."""
        x = np.asarray(tasks, dtype=np.int64)
        rank = center.quadrant_rank[x]
        a = np.asarray(agents, dtype=np.int64)
        n = len(agents)
        return (
            TaskBatch(
                skill=center.tasks.queue[x],
                rank=rank,
                age_s=now - center.tasks.arrival_s[x],
                window_s=self.window_s[rank],
                handle_s=self.expected_handle_s[x],
                sticky=np.full(len(x), -1, dtype=np.int64),
            ),
            AgentBatch(
                proficiency=np.where(center.allowed[a], center.staffing.proficiency[a], 0),
                primary=center.staffing.primary[a],
                capacity=np.ones(n, dtype=np.int64),
                spare=np.ones(n, dtype=np.int64),
                ready=np.ones(n, dtype=bool),
                time_left_s=center.duty_until[a] - now,
                handled_s=center.busy_s[a],
                idle_s=now - center.idle_since[a],
            ),
        )


def simulate(
    tasks: Tasks,
    staffing: Staffing,
    cfg: SimulationConfig,
    *,
    queues: tuple[str, ...],
    horizon_s: float,
    expected_handle_s: FloatArray | None = None,
    arms: list[Arm] | None = None,
) -> SimulatedDay:
    """Run one replication to the end (every task served, abandoned or stranded when nobody is left).

    ``expected_handle_s`` per task is what the policy's shift guard knows in advance (default: the
    mean handle time of the task's queue). ``arms`` (an A/B experiment) replace the config's policy."""
    center = Center(tasks, staffing, cfg)
    router: Router
    if cfg.routing == "optimizer" or arms:
        expected = _expected_handle(tasks, center.n_queues, expected_handle_s)
        router = PolicyRouter(center, arms or [Arm(cfg.routing_policy)], expected)
    else:
        router = OnEventRouter(center, cfg.routing)
    now = run_events(center, router)
    return center.result(queues, horizon_s, now)


def _expected_handle(tasks: Tasks, n_queues: int, given: FloatArray | None) -> FloatArray:
    if given is not None:
        return np.asarray(given, dtype=np.float64)
    sums = np.bincount(tasks.queue, weights=tasks.handle_s, minlength=n_queues)
    counts = np.bincount(tasks.queue, minlength=n_queues)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    out: FloatArray = means[tasks.queue]
    return out


def run_events(center: Center, router: Router) -> float:
    """The event loop: the next timed event or arrival, whichever comes first, until both run out."""
    heap, arrival, n = center.heap, center.arrival, len(center.arrival)
    i = 0
    now = 0.0
    while True:
        if heap and (i >= n or heap[0][0] <= arrival[i]):
            now, kind, x = heapq.heappop(heap)
        elif i < n:
            now, kind, x = arrival[i], ARRIVE, i
            i += 1
        else:
            return now
        center.events += 1
        if kind == ARRIVE:
            router.arrived(center, x, now)
        elif kind == COMPLETE:
            a = center.served_by[x]
            center.end[x] = now
            center.busy_s[a] += now - center.start[x]
            center.handled[a] += 1
            center.busy[a] = False
            center.state[x] = GONE
            center.idle_since[a] = now
            if center.on_duty[a]:
                router.agent_free(center, a, now)
        elif kind == ABANDON:
            if center.state[x] != WAITING:
                center.events -= 1  # a stale timer, not an event of the system
                continue
            center.state[x] = GONE
            center.abandoned[x] = True
            center.waiting_n[center.task_queue[x]] -= 1
            router.changed(center, now)
        elif kind == TICK:
            router.tick(center, now, x)
        elif kind == DUTY_ON:
            center.come_on_duty(x, now)
            if not center.on_duty[x]:
                center.on_duty[x] = True
                if not center.busy[x]:
                    router.agent_free(center, x, now)
        else:  # DUTY_OFF
            center.take_off_duty(x)
            router.changed(center, now)
