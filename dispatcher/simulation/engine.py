"""Discrete-event simulation of a multi-skill center: arrivals, patience, shifts with breaks, routing.

One heap of timed events (completions, duty changes, abandonments, optimizer ticks) merged with the
pre-sorted arrival stream. Routing is either on-event (greedy, round-robin, least-busy: a free agent
takes the oldest waiting task of its skills, an arriving task goes to an idle agent) or the batch
optimizer (every ``batch_interval_s`` while tasks and idle agents coexist: a maximum-weight matching
with quadrant priority). Agents finish the task in hand before a break or the end of their shift.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from dispatcher.simulation.arrivals import Tasks
from dispatcher.simulation.model import (
    BoolArray,
    FloatArray,
    IntArray,
    SimulationConfig,
    Staffing,
)
from dispatcher.simulation.routing import batch_scores, best_matching

COMPLETE, DUTY_OFF, DUTY_ON, TICK, ABANDON = 0, 1, 2, 3, 4
WAITING, SERVING, GONE = 0, 1, 2
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
    """Events processed: arrivals, completions, abandonments, duty changes and optimizer ticks."""


def simulate(
    tasks: Tasks, staffing: Staffing, cfg: SimulationConfig, *, queues: tuple[str, ...], horizon_s: float
) -> SimulatedDay:
    """Run one replication to the end (every task served, abandoned or stranded when nobody is left)."""
    n = len(tasks)
    n_agents = len(staffing.agent_ids)
    n_queues = staffing.proficiency.shape[1]
    arrival = tasks.arrival_s.tolist()
    task_queue = tasks.queue.tolist()
    rank_arr = tasks.quadrant_rank
    rank = rank_arr.tolist()
    handle = tasks.handle_s.tolist()
    patience = tasks.patience_s.tolist()
    prof = staffing.proficiency.tolist()
    factor = cfg.proficiency_handle_factor
    agent_queues = [[q for q in range(n_queues) if prof[a][q] > 0] for a in range(n_agents)]
    optimizer = cfg.routing == "optimizer"
    batch = cfg.batch_interval_s

    state = bytearray(n)
    start = [NAN] * n
    end = [NAN] * n
    served_by = [-1] * n
    abandoned = [False] * n
    waiting: list[list[deque[int]]] = [[deque() for _ in range(4)] for _ in range(n_queues)]
    waiting_n = [0] * n_queues
    idle_by_queue: list[set[int]] = [set() for _ in range(n_queues)]
    idle_by_level: list[list[set[int]]] = [[set() for _ in range(6)] for _ in range(n_queues)]
    on_duty = [False] * n_agents
    busy = [False] * n_agents
    busy_s = [0.0] * n_agents
    handled = [0] * n_agents
    rr_pointer = [0] * n_queues
    queue_agents = [[a for a in range(n_agents) if prof[a][q] > 0] for q in range(n_queues)]

    heap: list[tuple[float, int, int]] = []
    pieces = [staffing.duty_pieces(a, cfg.honour_skill_plan) for a in range(n_agents)]
    next_piece = [0] * n_agents
    for a, agent_pieces in enumerate(pieces):
        for s, e, _ in agent_pieces:
            heap.append((s, DUTY_ON, a))
            heap.append((e, DUTY_OFF, a))
    heapq.heapify(heap)
    push = heapq.heappush
    pop = heapq.heappop
    tick_pending = False
    events = 0

    def begin(x: int, a: int, now: float) -> None:
        q = task_queue[x]
        state[x] = SERVING
        start[x] = now
        served_by[x] = a
        busy[a] = True
        for aq in agent_queues[a]:
            idle_by_queue[aq].discard(a)
            idle_by_level[aq][prof[a][aq]].discard(a)
        push(heap, (now + handle[x] * factor[prof[a][q] - 1], COMPLETE, x))

    def oldest_waiting(a: int) -> int:
        best, best_at, best_dq = -1, math.inf, None
        for q in agent_queues[a]:
            if not waiting_n[q]:
                continue
            for dq in waiting[q]:
                while dq and state[dq[0]] != WAITING:
                    dq.popleft()
                if dq and arrival[dq[0]] < best_at:
                    best, best_at, best_dq = dq[0], arrival[dq[0]], dq
        if best_dq is not None:
            best_dq.popleft()
        return best

    def schedule_tick(now: float) -> None:
        nonlocal tick_pending
        if not tick_pending:
            tick_pending = True
            push(heap, ((math.floor(now / batch) + 1) * batch, TICK, -1))

    def agent_free(a: int, now: float) -> None:
        if optimizer:
            for q in agent_queues[a]:
                idle_by_queue[q].add(a)
            if any(waiting_n[q] for q in agent_queues[a]):
                schedule_tick(now)
            return
        x = oldest_waiting(a)
        if x >= 0:
            waiting_n[task_queue[x]] -= 1
            begin(x, a, now)
        else:
            for q in agent_queues[a]:
                idle_by_queue[q].add(a)
                idle_by_level[q][prof[a][q]].add(a)

    def pick_idle_agent(q: int) -> int:
        idle = idle_by_queue[q]
        if not idle:
            return -1
        if cfg.routing == "greedy":  # any idle agent of the highest proficiency
            for level in idle_by_level[q][:0:-1]:
                if level:
                    return next(iter(level))
            return -1
        if cfg.routing == "least_busy":
            return min(idle, key=lambda a: (busy_s[a], a))
        members = queue_agents[q]  # round robin: next idle agent after the last one chosen
        size = len(members)
        p = rr_pointer[q]
        for step in range(size):
            a = members[(p + step) % size]
            if a in idle:
                rr_pointer[q] = (p + step + 1) % size
                return a
        return -1

    def match(now: float) -> None:
        # only agents who could take one of the waiting tasks
        idle_agents = sorted(set().union(*(idle_by_queue[q] for q in range(n_queues) if waiting_n[q])))
        if not idle_agents:
            return
        cap = len(idle_agents)
        candidates: list[int] = []
        for q in range(n_queues):
            if not waiting_n[q] or not idle_by_queue[q]:
                continue
            for dq in waiting[q]:
                while dq and state[dq[0]] != WAITING:
                    dq.popleft()
                taken = 0
                for x in dq:
                    if taken >= cap:
                        break
                    if state[x] == WAITING:
                        candidates.append(x)
                        taken += 1
        if not candidates:
            return
        cand = np.asarray(candidates, dtype=np.int64)
        agents_arr = np.asarray(idle_agents, dtype=np.int64)
        cand_q = tasks.queue[cand]
        scores = batch_scores(
            rank_arr[cand],
            now - tasks.arrival_s[cand],
            tasks.important[cand],
            staffing.proficiency[np.ix_(agents_arr, cand_q)].T,
            staffing.primary[np.ix_(agents_arr, cand_q)].T,
        )
        for row, col in best_matching(scores):
            x = candidates[row]
            waiting_n[task_queue[x]] -= 1
            begin(x, idle_agents[col], now)

    i = 0
    now = 0.0
    while True:
        if heap and (i >= n or heap[0][0] <= arrival[i]):
            now, kind, x = pop(heap)
        elif i < n:
            now, kind, x = arrival[i], -1, i
            i += 1
        else:
            break
        events += 1
        if kind == -1:  # arrival
            q = task_queue[x]
            if optimizer:
                waiting[q][rank[x]].append(x)
                waiting_n[q] += 1
                if patience[x] < math.inf:
                    push(heap, (now + patience[x], ABANDON, x))
                if idle_by_queue[q]:
                    schedule_tick(now)
            else:
                a = pick_idle_agent(q)
                if a >= 0:
                    begin(x, a, now)
                else:
                    waiting[q][rank[x]].append(x)
                    waiting_n[q] += 1
                    if patience[x] < math.inf:
                        push(heap, (now + patience[x], ABANDON, x))
        elif kind == COMPLETE:
            a = served_by[x]
            end[x] = now
            busy_s[a] += now - start[x]
            handled[a] += 1
            busy[a] = False
            state[x] = GONE
            if on_duty[a]:
                agent_free(a, now)
        elif kind == ABANDON:
            if state[x] == WAITING:
                state[x] = GONE
                abandoned[x] = True
                waiting_n[task_queue[x]] -= 1
            else:
                events -= 1  # a stale timer, not an event of the system
        elif kind == TICK:
            tick_pending = False
            match(now)
        elif kind == DUTY_ON:
            agent_queues[x] = list(pieces[x][next_piece[x]][2])
            next_piece[x] += 1
            if not on_duty[x]:
                on_duty[x] = True
                if not busy[x]:
                    agent_free(x, now)
        else:  # DUTY_OFF
            on_duty[x] = False
            for q in agent_queues[x]:
                idle_by_queue[q].discard(x)
                idle_by_level[q][prof[x][q]].discard(x)
    finish = max(now, horizon_s)
    start_arr = np.asarray(start, dtype=np.float64)
    arrival_arr = tasks.arrival_s
    abandoned_arr = np.asarray(abandoned, dtype=np.bool_)
    served = ~np.isnan(start_arr)
    wait = np.where(served, start_arr - arrival_arr, np.where(abandoned_arr, tasks.patience_s, finish - arrival_arr))
    return SimulatedDay(
        queues=queues,
        agent_ids=staffing.agent_ids,
        horizon_s=horizon_s,
        arrival_s=arrival_arr,
        queue=tasks.queue,
        quadrant_rank=tasks.quadrant_rank,
        start_s=start_arr,
        end_s=np.asarray(end, dtype=np.float64),
        agent=np.asarray(served_by, dtype=np.int64),
        abandoned=abandoned_arr,
        wait_s=wait.astype(np.float64),
        agent_busy_s=np.asarray(busy_s, dtype=np.float64),
        agent_duty_s=np.asarray([sum(e - s for s, e in d) for d in staffing.duty], dtype=np.float64),
        agent_handled=np.asarray(handled, dtype=np.int64),
        events=events,
    )
