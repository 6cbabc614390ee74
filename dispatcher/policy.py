"""Scoring policy for live assignment: tasks and agent states at ``now`` -> eligible pairs and scores.

Every score is a sum of non-negative weighted terms (so it is > 0), each reported by name so that
``Assignment.explain`` can say why an agent was chosen. By default quadrants are strictly dominant:
the solver first serves as many Q1 tasks as possible, then Q2, Q3, Q4 (see ``dispatcher.assign``);
a task past its SLA alert (and again past escalation) moves up one layer so nothing starves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from dispatcher.assign import ArrayAssignment, assign_arrays
from dispatcher.domain import Agent, Quadrant, Shift, SlaPolicy, Task, require_aware
from dispatcher.errors import InvalidInput

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

TERM_GRID = 1024.0
"""Terms are quantised to 1/1024: sums stay exact in floating point, so the solver's integer costs are
exact and tasks with equal profiles stay interchangeable (its fast path)."""
TERM_NAMES = ("base", "quadrant", "urgency", "proficiency", "owner", "load", "fairness", "sticky")


# The two schedule questions, answered once for batch dispatch (AgentState) and the /next pull path.


def scheduled_to_work(shift: Shift | None, now: datetime) -> bool:
    """The roster lets the agent work at ``now``: no known shift, or on its shift and not on a break."""
    return shift is None or shift.on_duty(now)


def seconds_until_interruption(shift: Shift | None, now: datetime) -> float:
    """Seconds until the next break or shift end: infinite without a known shift, 0 when not on duty.
    The shift guard offers only tasks whose expected handling time is at most this."""
    if shift is None:
        return float("inf")
    nxt = shift.next_interruption(now)
    return 0.0 if nxt is None else (nxt - now).total_seconds()


@dataclass(frozen=True, slots=True)
class AgentState:
    """Live state of one agent at ``now``."""

    agent: Agent
    available: bool = True
    """Status available (not on break or offline)."""
    active_tasks: int = 0
    """Tasks it holds now; spare capacity is ``agent.capacity - active_tasks``."""
    handled_today_s: float = 0.0
    """Handling time so far today, for effort fairness."""
    shift: Shift | None = None
    """None = no roster known: on shift while available."""
    idle_since: datetime | None = None
    """When the agent last became free (a status change or a finished task); None = unknown."""

    def __post_init__(self) -> None:
        if isinstance(self.active_tasks, bool) or not isinstance(self.active_tasks, int) or self.active_tasks < 0:
            raise InvalidInput(
                f"agent {self.agent.id}: active_tasks must be an integer >= 0, got {self.active_tasks!r}",
                field="active_tasks",
            )
        if not (0 <= self.handled_today_s < float("inf")):
            raise InvalidInput(
                f"agent {self.agent.id}: handled_today_s must be >= 0 seconds, got {self.handled_today_s!r}",
                field="handled_today_s",
            )
        if self.shift is not None and self.shift.agent_id != self.agent.id:
            raise InvalidInput(f"agent {self.agent.id}: shift belongs to {self.shift.agent_id}", field="shift")

    @property
    def spare(self) -> int:
        return max(0, self.agent.capacity - self.active_tasks)

    def on_duty(self, now: datetime) -> bool:
        return self.available and scheduled_to_work(self.shift, now)

    def idle_s(self, now: datetime) -> float:
        return 0.0 if self.idle_since is None else max(0.0, (now - self.idle_since).total_seconds())

    def seconds_until_interruption(self, now: datetime) -> float:
        return seconds_until_interruption(self.shift, now)


def _default_quadrant_weights() -> Mapping[Quadrant, float]:
    return {Quadrant.Q1: 40.0, Quadrant.Q2: 30.0, Quadrant.Q3: 20.0, Quadrant.Q4: 10.0}


class ScoredPairs(NamedTuple):
    """Eligible pairs in task-major order, their scores and the weighted value of every term."""

    task: IntArray
    agent: IntArray
    score: FloatArray
    terms: Mapping[str, FloatArray]


@dataclass(frozen=True, slots=True)
class TaskBatch:
    """Waiting tasks as arrays, one row a task: what the score terms read."""

    skill: IntArray
    """Column of the task's skill in ``AgentBatch.proficiency``; any value >= its width = held by nobody."""
    rank: IntArray
    """Quadrant rank, 0 = Q1 … 3 = Q4."""
    age_s: FloatArray
    """Seconds since the task was created."""
    window_s: FloatArray
    """Seconds from creation to the response due time."""
    handle_s: FloatArray
    """Expected handling time (the shift guard compares it with the time left before a break)."""
    sticky: IntArray
    """Row of the agent who last held the task or customer, -1 for none."""


@dataclass(frozen=True, slots=True)
class AgentBatch:
    """Agents as arrays, one row an agent."""

    proficiency: IntArray
    """(agents, skills): level 1..5, 0 = lacks the skill."""
    primary: BoolArray
    capacity: IntArray
    spare: IntArray
    ready: BoolArray
    """On duty and available."""
    time_left_s: FloatArray
    """Seconds until the next break or shift end (inf when unknown)."""
    handled_s: FloatArray
    idle_s: FloatArray
    """Seconds since the agent last became free (longest-idle routing)."""


@dataclass(frozen=True, slots=True)
class AssignmentPolicy:
    """Weights of the score terms; all have defaults. Scores are ``base`` plus non-negative terms."""

    strict_quadrants: bool = True
    """Q1 > Q2 > Q3 > Q4 lexicographically (layers); else ``quadrant_weights`` enter the score."""
    quadrant_weights: Mapping[Quadrant, float] = field(default_factory=_default_quadrant_weights)
    promote_overdue: bool = True
    """A task past its SLA alert moves up one layer, past escalation one more (ageing across layers)."""
    base: float = 1.0
    urgency_weight: float = 10.0
    """Times the fraction of the response window used up (ageing within a layer), capped below."""
    urgency_cap: float = 3.0
    proficiency_weight: float = 4.0
    """Times (proficiency - 1) / 4."""
    primary_bonus: float = 5.0
    """Important work (Q1/Q2) to a primary owner of the skill."""
    delegate_bonus: float = 1.0
    """Not-important work (Q3/Q4) to an auxiliary holder, keeping primary owners free."""
    auxiliary_quadrants: frozenset[Quadrant] = frozenset(Quadrant)
    """Quadrants whose tasks may go to agents holding the skill as auxiliary."""
    load_weight: float = 3.0
    """Times the agent's spare fraction of capacity (prefer the less loaded)."""
    fairness_weight: float = 2.0
    """Times (1 - handled_today_s / fairness_horizon_s), floored at 0."""
    fairness_horizon_s: float = 8 * 3600.0
    sticky_bonus: float = 6.0
    """The agent who last held this ticket or customer (``Task.previous_agent``)."""
    shift_guard: bool = True
    """Skip pairs whose expected handling time runs past the agent's next break or shift end."""
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    skills: frozenset[str] | None = None
    """The site's skill catalogue. When given, a task needing a skill outside it is an error; a skill
    in it that no agent of the batch holds just waits (live batches pass only the free agents)."""

    def __post_init__(self) -> None:
        weights = {Quadrant(q): float(w) for q, w in self.quadrant_weights.items()}
        if set(weights) != set(Quadrant):
            raise InvalidInput("quadrant_weights needs a weight for each of Q1..Q4", field="quadrant_weights")
        object.__setattr__(self, "quadrant_weights", MappingProxyType(weights))
        object.__setattr__(self, "auxiliary_quadrants", frozenset(Quadrant(q) for q in self.auxiliary_quadrants))
        if self.skills is not None:
            object.__setattr__(self, "skills", frozenset(self.skills))
        for name in (
            "base",
            "urgency_weight",
            "urgency_cap",
            "proficiency_weight",
            "primary_bonus",
            "delegate_bonus",
            "load_weight",
            "fairness_weight",
            "sticky_bonus",
        ):
            value = getattr(self, name)
            if not (0 <= value < float("inf")):
                raise InvalidInput(f"{name} must be a finite number >= 0, got {value!r}", field=name)
        if not self.base >= 1 / TERM_GRID:
            raise InvalidInput(f"base must be >= 1/{TERM_GRID:.0f} so every score is positive", field="base")
        if any(not (0 <= w < float("inf")) for w in weights.values()):
            raise InvalidInput("quadrant weights must be finite and >= 0", field="quadrant_weights")
        if not self.fairness_horizon_s > 0:
            raise InvalidInput("fairness_horizon_s must be > 0", field="fairness_horizon_s")

    # -- arrays: the one scoring core, fed by the live service (domain objects) and the simulator --

    def batches(
        self, tasks: Sequence[Task], agents: Sequence[AgentState], now: datetime
    ) -> tuple[TaskBatch, AgentBatch]:
        """Domain objects at ``now`` as the arrays :meth:`score` reads (rows keep the input order)."""
        require_aware(now, "now")
        _check_unique([t.id for t in tasks], "tasks")
        _check_unique([s.agent.id for s in agents], "agents")
        if self.skills is not None:
            for row, t in enumerate(tasks):
                if t.skill not in self.skills:
                    raise InvalidInput(
                        f"task {t.id}: unknown skill {t.skill!r} (known: {sorted(self.skills)})",
                        field="tasks",
                        row=row,
                    )
        skills = sorted({skill for s in agents for skill in s.agent.skills})
        skill_index = {name: k for k, name in enumerate(skills)}
        prof = np.zeros((len(agents), len(skills)), dtype=np.int64)
        primary = np.zeros_like(prof, dtype=bool)
        for a, state in enumerate(agents):
            for name, level in state.agent.skills.items():
                prof[a, skill_index[name]] = level
                primary[a, skill_index[name]] = state.agent.is_primary(name)
        agent_ids = {s.agent.id: k for k, s in enumerate(agents)}
        agent_batch = AgentBatch(
            proficiency=prof,
            primary=primary,
            capacity=np.array([s.agent.capacity for s in agents], dtype=np.int64),
            spare=np.array([s.spare for s in agents], dtype=np.int64),
            ready=np.array([s.on_duty(now) for s in agents], dtype=bool),
            time_left_s=np.array([s.seconds_until_interruption(now) for s in agents], dtype=np.float64),
            handled_s=np.array([s.handled_today_s for s in agents], dtype=np.float64),
            idle_s=np.array([s.idle_s(now) for s in agents], dtype=np.float64),
        )
        task_batch = TaskBatch(
            skill=np.array([skill_index.get(t.skill, len(skills)) for t in tasks], dtype=np.int64),
            rank=np.array([t.quadrant.rank for t in tasks], dtype=np.int64),
            age_s=np.array([(now - t.created_at).total_seconds() for t in tasks], dtype=np.float64),
            window_s=np.array(
                [(self.sla.response_due(t) - t.created_at).total_seconds() for t in tasks], dtype=np.float64
            ),
            handle_s=np.array([t.expected_handle_s for t in tasks], dtype=np.float64),
            sticky=np.array(
                [agent_ids.get(t.previous_agent, -1) if t.previous_agent else -1 for t in tasks], dtype=np.int64
            ),
        )
        return task_batch, agent_batch

    def layers(self, tasks: TaskBatch) -> IntArray | None:
        """Priority layer per task (0 = first) under strict quadrants, else None: a task past its SLA
        alert moves up one layer, past escalation one more."""
        if not self.strict_quadrants:
            return None
        layers = tasks.rank.copy()
        if self.promote_overdue and len(layers):
            alert = tasks.age_s >= tasks.window_s + self.sla.alert_after_s
            escalate = tasks.age_s >= tasks.window_s + self.sla.escalate_after_s
            layers = np.maximum(layers - alert - escalate, 0)
        return layers

    def score(self, tasks: TaskBatch, agents: AgentBatch) -> ScoredPairs:
        """All eligible (task, agent) pairs in task-major order (agents ascending), scores and terms."""
        n_tasks, n_agents = len(tasks.rank), len(agents.spare)
        if n_tasks == 0 or n_agents == 0:
            empty_i = np.zeros(0, dtype=np.int64)
            empty_f = np.zeros(0, dtype=np.float64)
            return ScoredPairs(empty_i, empty_i, empty_f, {name: empty_f for name in TERM_NAMES})
        # last column: a skill no agent of the batch holds
        prof = np.concatenate([agents.proficiency, np.zeros((n_agents, 1), np.int64)], axis=1)
        primary = np.concatenate([agents.primary, np.zeros((n_agents, 1), bool)], axis=1)
        skill_of = np.minimum(tasks.skill, prof.shape[1] - 1)
        ready = agents.ready & (agents.spare > 0)
        important = tasks.rank <= 1
        aux_ok = np.array([q in self.auxiliary_quadrants for q in Quadrant], dtype=bool)[tasks.rank]

        has = prof.T[skill_of] > 0  # (tasks, agents)
        is_primary = primary.T[skill_of]
        eligible = has & ready[None, :] & (is_primary | aux_ok[:, None])
        if self.shift_guard:
            eligible &= tasks.handle_s[:, None] <= agents.time_left_s[None, :]
        ti, ai = np.nonzero(eligible)
        ti = ti.astype(np.int64)
        ai = ai.astype(np.int64)

        qweights = np.array([self.quadrant_weights[q] for q in Quadrant], dtype=np.float64)
        primary_pair = is_primary[ti, ai]
        urgency = self.urgency_weight * np.clip(tasks.age_s / np.maximum(tasks.window_s, 1.0), 0.0, self.urgency_cap)
        capacity = agents.capacity.astype(np.float64)
        n = len(ti)
        terms: dict[str, FloatArray] = {
            "base": np.full(n, self.base),
            "quadrant": (np.zeros(n) if self.strict_quadrants else qweights[tasks.rank[ti]]),
            "urgency": urgency[ti],
            "proficiency": self.proficiency_weight * (prof[ai, skill_of[ti]] - 1).astype(np.float64) / 4.0,
            "owner": np.where(
                important[ti],
                np.where(primary_pair, self.primary_bonus, 0.0),
                np.where(primary_pair, 0.0, self.delegate_bonus),
            ),
            "load": self.load_weight * (agents.spare / capacity)[ai],
            "fairness": self.fairness_weight
            * np.clip(1.0 - agents.handled_s / self.fairness_horizon_s, 0.0, 1.0)[ai],
            "sticky": np.where(tasks.sticky[ti] == ai, self.sticky_bonus, 0.0),
        }
        score = np.zeros(n)
        for name in TERM_NAMES:
            terms[name] = np.round(terms[name] * TERM_GRID) / TERM_GRID
            score = score + terms[name]
        return ScoredPairs(ti, ai, score, terms)

    # -- domain-level conveniences ----------------------------------------------------------------

    def task_layers(self, tasks: Sequence[Task], now: datetime) -> IntArray | None:
        """Priority layer per task (0 = first) under strict quadrants, else None."""
        task_batch, _ = self.batches(tasks, (), now)
        return self.layers(task_batch)

    def score_pairs(self, tasks: Sequence[Task], agents: Sequence[AgentState], now: datetime) -> ScoredPairs:
        """All eligible (task, agent) pairs in task-major order with scores and named terms.

        A task whose skill is outside ``self.skills`` (when set) is an error (``InvalidInput`` naming
        it); a task whose skill no agent in ``agents`` holds gets no pairs and waits.
        """
        return self.score(*self.batches(tasks, agents, now))


def _check_unique(ids: Sequence[str], name: str) -> None:
    seen: set[str] = set()
    for row, value in enumerate(ids):
        if value in seen:
            raise InvalidInput(f"duplicate id {value!r} in {name}", field=name, row=row)
        seen.add(value)


def _round(value: float) -> float:
    return round(float(value), 4)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who takes which task now, the total score, and what stays queued; ``explain`` says why."""

    pairs: tuple[tuple[str, str], ...]
    objective: float
    unassigned: tuple[str, ...]
    _tasks: tuple[Task, ...] = field(default=(), repr=False, compare=False)
    _agents: tuple[AgentState, ...] = field(default=(), repr=False, compare=False)
    _scored: ScoredPairs | None = field(default=None, repr=False, compare=False)
    _task_agent: IntArray | None = field(default=None, repr=False, compare=False)
    _layers: IntArray | None = field(default=None, repr=False, compare=False)
    _now: datetime | None = field(default=None, repr=False, compare=False)
    _by_task: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def agent_for(self, task_id: str) -> str | None:
        """The agent chosen for ``task_id``, or None when it stays queued (or was not in the batch)."""
        i = self._by_task.get(task_id)
        if i is None or self._task_agent is None:  # built by hand from pairs only
            return next((aid for tid, aid in self.pairs if tid == task_id), None)
        chosen = int(self._task_agent[i])
        return None if chosen < 0 else self._agents[chosen].agent.id

    def _pair_view(self, k: int) -> dict[str, Any]:
        assert self._scored is not None
        agent = self._agents[int(self._scored.agent[k])]
        return {
            "agent_id": agent.agent.id,
            "score": _round(self._scored.score[k]),
            "terms": {name: _round(self._scored.terms[name][k]) for name in TERM_NAMES},
        }

    def explain(self, task_id: str) -> dict[str, Any]:
        """JSON-serialisable "why this agent": chosen agent and score terms, best runner-up, or why
        the task stays queued."""
        if task_id not in self._by_task:
            raise InvalidInput(f"task {task_id!r} was not part of this assignment", field="task_id")
        i = self._by_task[task_id]
        task = self._tasks[i]
        out: dict[str, Any] = {
            "task_id": task_id,
            "quadrant": task.quadrant.value,
            "layer": None if self._layers is None else int(self._layers[i]),
            "assigned_to": None,
            "score": None,
            "terms": None,
            "runner_up": None,
        }
        assert self._scored is not None and self._task_agent is not None
        lo, hi = np.searchsorted(self._scored.task, [i, i + 1])  # pairs are task-major
        own = np.arange(lo, hi)
        chosen = int(self._task_agent[i])
        if chosen >= 0:
            k = int(own[self._scored.agent[own] == chosen][0])
            view = self._pair_view(k)
            out.update(assigned_to=view["agent_id"], score=view["score"], terms=view["terms"])
            others = own[self._scored.agent[own] != chosen]
        else:
            others = own
        if len(others):
            best = int(others[np.lexsort((self._scored.agent[others], -self._scored.score[others]))[0]])
            runner = self._pair_view(best)
            holder = self._agents[int(self._scored.agent[best])]
            if chosen < 0:
                runner["why_not"] = "its capacity went to higher-priority or better-scoring tasks"
            elif runner["score"] > out["score"]:
                runner["why_not"] = (
                    f"{holder.agent.id} scores higher here, but the batch optimum needs its capacity elsewhere"
                )
            else:
                runner["why_not"] = "lower score for this task"
            out["runner_up"] = runner
        if chosen < 0:
            out["reason"] = self._why_unassigned(task, len(own))
        else:
            out["reason"] = "highest total score across the batch"
        return out

    def _why_unassigned(self, task: Task, n_eligible: int) -> str:
        if n_eligible:
            return f"all {n_eligible} eligible agent(s) are filled with higher-priority or better-scoring tasks"
        holders = [s for s in self._agents if s.agent.has_skill(task.skill)]
        if not holders:
            return f"no agent has skill {task.skill!r}"
        now = self._now
        assert now is not None
        off = sum(1 for s in holders if not s.on_duty(now))
        full = sum(1 for s in holders if s.on_duty(now) and s.spare == 0)
        short = len(holders) - off - full
        parts = []
        if off:
            parts.append(f"{off} off duty or unavailable")
        if full:
            parts.append(f"{full} at capacity")
        if short:
            parts.append(
                f"{short} not allowed (auxiliary skill for {task.quadrant.value}, or shift/break "
                f"starts within {task.expected_handle_s:.0f} s)"
            )
        return f"no eligible agent: of {len(holders)} with skill {task.skill!r}, " + ", ".join(parts)


def build_assignment(
    tasks: Sequence[Task],
    agents: Sequence[AgentState],
    now: datetime,
    scored: ScoredPairs,
    result: ArrayAssignment,
    layers: IntArray | None,
) -> Assignment:
    """Wrap an array result as an :class:`Assignment` (shared by the optimizer and the baselines)."""
    pairs = tuple((tasks[i].id, agents[int(a)].agent.id) for i, a in enumerate(result.task_agent) if a >= 0)
    unassigned = tuple(tasks[i].id for i, a in enumerate(result.task_agent) if a < 0)
    return Assignment(
        pairs=pairs,
        objective=result.objective,
        unassigned=unassigned,
        _tasks=tuple(tasks),
        _agents=tuple(agents),
        _scored=scored,
        _task_agent=result.task_agent,
        _layers=layers,
        _now=now,
        _by_task={t.id: i for i, t in enumerate(tasks)},
    )


class ArrayRule(Protocol):
    """An array-level assignment rule: the exact optimizer or a baseline (greedy, round-robin …)."""

    def __call__(self, task: IntArray, agent: IntArray, score: FloatArray, capacity: IntArray, n_tasks: int, *,
                 task_layer: IntArray | None = None) -> ArrayAssignment: ...


def assign_with(
    rule: ArrayRule,
    tasks: Sequence[Task],
    agents: Sequence[AgentState],
    now: datetime,
    policy: AssignmentPolicy | None = None,
) -> Assignment:
    """Score ``tasks`` × ``agents`` under ``policy`` and let ``rule`` pick the pairs."""
    policy = policy or AssignmentPolicy()
    tasks = tuple(tasks)
    agents = tuple(agents)
    scored = policy.score_pairs(tasks, agents, now)
    layers = policy.task_layers(tasks, now)
    spare = np.array([s.spare for s in agents], dtype=np.int64)
    result = rule(scored.task, scored.agent, scored.score, spare, len(tasks), task_layer=layers)
    return build_assignment(tasks, agents, now, scored, result, layers)


def assign(
    tasks: Sequence[Task],
    agents: Sequence[AgentState],
    now: datetime,
    policy: AssignmentPolicy | None = None,
) -> Assignment:
    """Exact best assignment of ``tasks`` to ``agents`` at ``now`` under ``policy`` (default policy)."""
    return assign_with(assign_arrays, tasks, agents, now, policy)


# -- the routing policy: what the live dispatcher, the simulator and an A/B arm all run -------------

ROUTING_MODES = ("optimal", "greedy", "longest-idle")
_WEIGHT_KEYS = (
    "strict_quadrants", "promote_overdue", "base", "urgency_weight", "urgency_cap", "proficiency_weight",
    "primary_bonus", "delegate_bonus", "load_weight", "fairness_weight", "fairness_horizon_s", "sticky_bonus",
    "shift_guard",
)
"""The ``AssignmentPolicy`` fields a policy file may set (scalars), plus ``quadrant_weights``."""


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One routing decision: the scored pairs, the layers and the solver's choice (rows = batch rows)."""

    scored: ScoredPairs
    layers: IntArray | None
    result: ArrayAssignment


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """A named, serialisable routing policy: score weights, how pairs are chosen and when.

    ``mode`` optimal = the exact batch optimum (``dispatcher.assign``); greedy = tasks by priority, each
    to its best-scoring agent; longest-idle = tasks by priority and arrival, each to the agent free
    the longest. Batches run on a grid of ``batch_interval_s`` (0 = at every event); with
    ``dispatch_at_once`` a batch in which no agent is wanted by more tasks than it has room for (each
    task simply takes its best agent) is dispatched at once instead of waiting for the grid.
    """

    name: str = "live"
    mode: str = "optimal"
    batch_interval_s: float = 2.0
    dispatch_at_once: bool = True
    weights: AssignmentPolicy = field(default_factory=AssignmentPolicy)
    max_batch: int = 500
    """At most this many waiting tasks per skill (earliest response due first) enter one batch ..."""
    batch_factor: int = 3
    """... and at most ``batch_factor`` × the free capacity (but at least 20)."""

    def __post_init__(self) -> None:
        if not self.name or not str(self.name).strip():
            raise InvalidInput("a policy needs a name", field="name")
        if self.mode not in ROUTING_MODES:
            raise InvalidInput(f"mode must be one of {ROUTING_MODES}, got {self.mode!r}", field="mode")
        if not (0 <= self.batch_interval_s <= 3600):
            raise InvalidInput(
                f"batch_interval_s must be in [0, 3600] seconds, got {self.batch_interval_s!r}",
                field="batch_interval_s",
            )
        for key in ("max_batch", "batch_factor"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"{key} must be an integer >= 1, got {value!r}", field=key)

    # -- what enters a batch, and when -----------------------------------------------------------

    def batch_size(self, free_capacity: int) -> int:
        """Waiting tasks per skill that enter one batch, given the free agents' spare capacity."""
        return min(self.max_batch, max(20, self.batch_factor * free_capacity))

    def next_batch_s(self, now_s: float) -> float:
        """The first grid point strictly after ``now_s`` (seconds on any clock whose zero is on the grid)."""
        if self.batch_interval_s == 0:
            return now_s
        return (math.floor(now_s / self.batch_interval_s) + 1) * self.batch_interval_s

    # -- deciding ------------------------------------------------------------------------------------

    def solve(self, tasks: TaskBatch, agents: AgentBatch, scored: ScoredPairs | None = None) -> Dispatch:
        """Score the batch (unless ``scored`` already is its score) and choose pairs by ``mode``."""
        scored = self.weights.score(tasks, agents) if scored is None else scored
        layers = self.weights.layers(tasks)
        args = (scored.task, scored.agent, scored.score, agents.spare, len(tasks.rank))
        if self.mode == "optimal":
            result = assign_arrays(*args, task_layer=layers)
        else:
            from dispatcher import baselines  # baselines build on this module

            if self.mode == "greedy":
                result = baselines.greedy_arrays(*args, task_layer=layers)
            else:
                result = baselines.longest_idle_arrays(*args, task_layer=layers, idle_s=agents.idle_s)
        return Dispatch(scored, layers, result)

    def decide(self, tasks: TaskBatch, agents: AgentBatch, *, batch_due: bool) -> Dispatch | None:
        """The pairs to dispatch now, or None to wait for the next grid batch (the caller schedules it)."""
        if batch_due or self.batch_interval_s == 0:
            return self.solve(tasks, agents)
        if not self.dispatch_at_once:
            return None
        scored = self.weights.score(tasks, agents)
        if contended(scored, agents.spare):
            return None
        return self.solve(tasks, agents, scored)

    def plan(
        self, tasks: Sequence[Task], agents: Sequence[AgentState], now: datetime, *, batch_due: bool = True
    ) -> Assignment | None:
        """:meth:`decide` on domain objects, in canonical order (tasks by creation then id, agents by
        id) so that every caller gets the same answer for the same state; None = wait."""
        tasks = tuple(sorted(tasks, key=lambda t: (t.created_at, t.id)))
        agents = tuple(sorted(agents, key=lambda s: s.agent.id))
        task_batch, agent_batch = self.weights.batches(tasks, agents, now)
        chosen = self.decide(task_batch, agent_batch, batch_due=batch_due)
        if chosen is None:
            return None
        return build_assignment(tasks, agents, now, chosen.scored, chosen.result, chosen.layers)

    # -- files -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data (what ``policy.toml`` holds); :meth:`from_dict` reads it back."""
        w = self.weights
        weights: dict[str, Any] = {key: getattr(w, key) for key in _WEIGHT_KEYS}
        weights["quadrant_weights"] = {q.value: v for q, v in w.quadrant_weights.items()}
        return {
            "name": self.name, "mode": self.mode, "batch_interval_s": self.batch_interval_s,
            "dispatch_at_once": self.dispatch_at_once, "max_batch": self.max_batch,
            "batch_factor": self.batch_factor, "weights": weights,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, default_name: str = "live") -> RoutingPolicy:
        """A policy from plain data; unknown keys and bad values are ``InvalidInput`` naming the key."""
        if not isinstance(data, Mapping):
            raise InvalidInput(f"a policy must be a table, got {data!r}", field="policy")
        top = {"name", "mode", "batch_interval_s", "dispatch_at_once", "max_batch", "batch_factor", "weights"}
        unknown = sorted(set(data) - top)
        if unknown:
            raise InvalidInput(f"unknown policy keys {unknown} (known: {sorted(top)})", field=unknown[0])
        raw_weights = data.get("weights", {})
        if not isinstance(raw_weights, Mapping):
            raise InvalidInput(f"weights must be a table, got {raw_weights!r}", field="weights")
        unknown = sorted(set(raw_weights) - {*_WEIGHT_KEYS, "quadrant_weights"})
        if unknown:
            raise InvalidInput(
                f"unknown weights {unknown} (known: {sorted(_WEIGHT_KEYS)})", field=f"weights.{unknown[0]}"
            )
        weights: dict[str, Any] = {}
        for key, value in raw_weights.items():
            if key == "quadrant_weights":
                if not isinstance(value, Mapping) or set(value) != {q.value for q in Quadrant}:
                    raise InvalidInput("quadrant_weights needs Q1..Q4", field="weights.quadrant_weights")
                weights[key] = {Quadrant(q): _number(v, f"weights.quadrant_weights.{q}") for q, v in value.items()}
            elif key in ("strict_quadrants", "promote_overdue", "shift_guard"):
                weights[key] = _flag(value, f"weights.{key}")
            else:
                weights[key] = _number(value, f"weights.{key}")
        settings: dict[str, Any] = {"name": str(data.get("name", default_name))}
        if "mode" in data:
            settings["mode"] = str(data["mode"])
        if "batch_interval_s" in data:
            settings["batch_interval_s"] = _number(data["batch_interval_s"], "batch_interval_s")
        if "dispatch_at_once" in data:
            settings["dispatch_at_once"] = _flag(data["dispatch_at_once"], "dispatch_at_once")
        for key in ("max_batch", "batch_factor"):
            if key in data:
                settings[key] = data[key]
        try:
            return cls(weights=AssignmentPolicy(**weights), **settings)
        except InvalidInput as exc:
            field_name = exc.field or "policy"
            if field_name in _WEIGHT_KEYS or field_name == "quadrant_weights":
                field_name = f"weights.{field_name}"
            raise InvalidInput(exc.message, field=field_name) from exc


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{key} must be a finite number, got {value!r}", field=key)
    return float(value)


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{key} must be true or false, got {value!r}", field=key)
    return value


def contended(scored: ScoredPairs, spare: IntArray) -> bool:
    """Some agent is eligible for more tasks than it has room for (else each task takes its best agent)."""
    if len(scored.agent) == 0:
        return False
    demand = np.bincount(scored.agent, minlength=len(spare))
    return bool(np.any(demand > spare))


LIVE = RoutingPolicy()
GREEDY = RoutingPolicy(name="greedy", mode="greedy", batch_interval_s=0.0)
LONGEST_IDLE = RoutingPolicy(name="longest-idle", mode="longest-idle", batch_interval_s=0.0)
BUILTIN_POLICIES: Mapping[str, RoutingPolicy] = MappingProxyType({p.name: p for p in (LIVE, GREEDY, LONGEST_IDLE)})
"""Policies a scenario or an A/B test may name without a file."""
