"""Scoring policy for live assignment: tasks and agent states at ``now`` -> eligible pairs and scores.

Every score is a sum of non-negative weighted terms (so it is > 0), each reported by name so that
``Assignment.explain`` can say why an agent was chosen. By default quadrants are strictly dominant:
the solver first serves as many Q1 tasks as possible, then Q2, Q3, Q4 (see ``dispatcher.assign``);
a task past its SLA alert (and again past escalation) moves up one layer so nothing starves.
"""

from __future__ import annotations

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

TERM_GRID = 1024.0
"""Terms are quantised to 1/1024: sums stay exact in floating point, so the solver's integer costs are
exact and tasks with equal profiles stay interchangeable (its fast path)."""
TERM_NAMES = ("base", "quadrant", "urgency", "proficiency", "owner", "load", "fairness", "sticky")


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
        return self.available and (self.shift is None or self.shift.on_duty(now))

    def seconds_until_interruption(self, now: datetime) -> float:
        """Seconds until the next break or shift end; infinite without a known shift."""
        if self.shift is None:
            return float("inf")
        nxt = self.shift.next_interruption(now)
        return 0.0 if nxt is None else (nxt - now).total_seconds()


def _default_quadrant_weights() -> Mapping[Quadrant, float]:
    return {Quadrant.Q1: 40.0, Quadrant.Q2: 30.0, Quadrant.Q3: 20.0, Quadrant.Q4: 10.0}


class ScoredPairs(NamedTuple):
    """Eligible pairs in task-major order, their scores and the weighted value of every term."""

    task: IntArray
    agent: IntArray
    score: FloatArray
    terms: Mapping[str, FloatArray]


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

    # -- per-task quantities ---------------------------------------------------------------------

    def task_layers(self, tasks: Sequence[Task], now: datetime) -> IntArray | None:
        """Priority layer per task (0 = first) under strict quadrants, else None."""
        if not self.strict_quadrants:
            return None
        layers = np.array([t.quadrant.rank for t in tasks], dtype=np.int64)
        if self.promote_overdue and len(tasks):
            alert = np.array([now >= self.sla.alert_at(t) for t in tasks])
            escalate = np.array([now >= self.sla.escalate_at(t) for t in tasks])
            layers = np.maximum(layers - alert - escalate, 0)
        return layers

    def _urgency(self, tasks: Sequence[Task], now: datetime) -> FloatArray:
        used = np.empty(len(tasks))
        for i, t in enumerate(tasks):
            window = max((self.sla.response_due(t) - t.created_at).total_seconds(), 1.0)
            used[i] = (now - t.created_at).total_seconds() / window
        return self.urgency_weight * np.clip(used, 0.0, self.urgency_cap)

    # -- pairs ----------------------------------------------------------------------------------

    def score_pairs(self, tasks: Sequence[Task], agents: Sequence[AgentState], now: datetime) -> ScoredPairs:
        """All eligible (task, agent) pairs in task-major order with scores and named terms.

        A task whose skill is outside ``self.skills`` (when set) is an error (``InvalidInput`` naming
        it); a task whose skill no agent in ``agents`` holds gets no pairs and waits.
        """
        require_aware(now, "now")
        _check_unique([t.id for t in tasks], "tasks")
        _check_unique([s.agent.id for s in agents], "agents")
        skills = sorted({skill for s in agents for skill in s.agent.skills})
        skill_index = {name: k for k, name in enumerate(skills)}
        if self.skills is not None:
            for row, t in enumerate(tasks):
                if t.skill not in self.skills:
                    raise InvalidInput(
                        f"task {t.id}: unknown skill {t.skill!r} (known: {sorted(self.skills)})",
                        field="tasks",
                        row=row,
                    )
        n_tasks, n_agents = len(tasks), len(agents)
        if n_tasks == 0 or n_agents == 0:
            empty_i = np.zeros(0, dtype=np.int64)
            empty_f = np.zeros(0, dtype=np.float64)
            return ScoredPairs(empty_i, empty_i, empty_f, {name: empty_f for name in TERM_NAMES})
        prof = np.zeros((n_agents, len(skills) + 1), dtype=np.int64)  # last column: held by nobody
        primary = np.zeros_like(prof, dtype=bool)
        for a, state in enumerate(agents):
            for name, level in state.agent.skills.items():
                prof[a, skill_index[name]] = level
                primary[a, skill_index[name]] = state.agent.is_primary(name)
        spare = np.array([s.spare for s in agents], dtype=np.int64)
        ready = np.array([s.on_duty(now) for s in agents], dtype=bool) & (spare > 0)
        time_left = np.array([s.seconds_until_interruption(now) for s in agents], dtype=np.float64)

        skill_of = np.array([skill_index.get(t.skill, len(skills)) for t in tasks], dtype=np.int64)
        quadrant_rank = np.array([t.quadrant.rank for t in tasks], dtype=np.int64)
        important = quadrant_rank <= 1
        aux_ok = np.array([t.quadrant in self.auxiliary_quadrants for t in tasks], dtype=bool)
        handle_s = np.array([t.expected_handle_s for t in tasks], dtype=np.float64)

        # Eligibility, dense tasks x agents (task-major order from nonzero, agents ascending).
        has = prof.T[skill_of] > 0  # (tasks, agents)
        is_primary = primary.T[skill_of]
        eligible = has & ready[None, :] & (is_primary | aux_ok[:, None])
        if self.shift_guard:
            eligible &= handle_s[:, None] <= time_left[None, :]
        ti, ai = np.nonzero(eligible)
        ti = ti.astype(np.int64)
        ai = ai.astype(np.int64)

        qweights = np.array([self.quadrant_weights[q] for q in Quadrant], dtype=np.float64)
        primary_pair = is_primary[ti, ai]
        important_pair = important[ti]
        capacity = np.array([s.agent.capacity for s in agents], dtype=np.float64)
        handled = np.array([s.handled_today_s for s in agents], dtype=np.float64)
        agent_ids = {s.agent.id: k for k, s in enumerate(agents)}
        sticky_agent = np.array(
            [agent_ids.get(t.previous_agent, -1) if t.previous_agent else -1 for t in tasks], dtype=np.int64
        )
        n = len(ti)
        terms: dict[str, FloatArray] = {
            "base": np.full(n, self.base),
            "quadrant": (np.zeros(n) if self.strict_quadrants else qweights[quadrant_rank[ti]]),
            "urgency": self._urgency(tasks, now)[ti],
            "proficiency": self.proficiency_weight * (prof[ai, skill_of[ti]] - 1).astype(np.float64) / 4.0,
            "owner": np.where(
                important_pair,
                np.where(primary_pair, self.primary_bonus, 0.0),
                np.where(primary_pair, 0.0, self.delegate_bonus),
            ),
            "load": self.load_weight * (spare / capacity)[ai],
            "fairness": self.fairness_weight * np.clip(1.0 - handled / self.fairness_horizon_s, 0.0, 1.0)[ai],
            "sticky": np.where(sticky_agent[ti] == ai, self.sticky_bonus, 0.0),
        }
        score = np.zeros(n)
        for name in TERM_NAMES:
            terms[name] = np.round(terms[name] * TERM_GRID) / TERM_GRID
            score = score + terms[name]
        return ScoredPairs(ti, ai, score, terms)


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
