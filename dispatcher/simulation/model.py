"""What a simulation consumes: demand per queue and period, staffing on a time line, and settings.

Everything is measured in seconds from ``Demand.start`` so the event loop works on plain floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from dispatcher.domain import Agent, Roster, SlaPolicy
from dispatcher.errors import InvalidInput
from dispatcher.policy import LIVE, RoutingPolicy

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ROUTING_POLICIES = ("optimizer", "greedy", "round_robin", "least_busy")
HANDLE_DISTRIBUTIONS = ("lognormal", "exponential")


@dataclass(frozen=True, slots=True)
class Demand:
    """Expected arrivals and mean handle time per period (rows) and queue (columns)."""

    queues: tuple[str, ...]
    start: datetime
    period_s: float
    volume: FloatArray
    aht_s: FloatArray
    volume_rel_sd: FloatArray | None = None
    """Relative standard deviation of each expected volume (the forecast's own uncertainty), if known."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise InvalidInput("demand start must be timezone-aware", field="period_start")
        if not self.queues or len(set(self.queues)) != len(self.queues):
            raise InvalidInput(f"queues must be distinct and non-empty, got {self.queues}", field="queue")
        if self.period_s <= 0:
            raise InvalidInput(f"period length must be positive, got {self.period_s}", field="period_s")
        shape = (self.volume.shape[0], len(self.queues))
        if self.volume.ndim != 2 or self.volume.shape != shape or self.aht_s.shape != shape:
            raise InvalidInput(
                f"volume and aht_s must be (periods, {len(self.queues)}) arrays, got "
                f"{self.volume.shape} and {self.aht_s.shape}",
                field="volume",
            )
        if not np.all(np.isfinite(self.volume)) or np.any(self.volume < 0):
            raise InvalidInput("volume must be finite and >= 0", field="volume")
        if not np.all(np.isfinite(self.aht_s)) or np.any(self.aht_s[self.volume > 0] <= 0):
            raise InvalidInput("aht_s must be finite and > 0 wherever volume > 0", field="aht_s")
        if self.volume_rel_sd is not None and (
            self.volume_rel_sd.shape != shape or not np.all(np.isfinite(self.volume_rel_sd))
            or np.any(self.volume_rel_sd < 0)
        ):
            raise InvalidInput("volume_rel_sd must be a finite (periods, queues) array >= 0", field="volume_rel_sd")

    @property
    def horizon_s(self) -> float:
        return float(self.volume.shape[0] * self.period_s)


@dataclass(frozen=True, slots=True)
class Staffing:
    """Agents as arrays: proficiency (0 = lacks the skill) and primary flags per queue, on-duty intervals."""

    agent_ids: tuple[str, ...]
    proficiency: IntArray
    primary: BoolArray
    duty: tuple[tuple[tuple[float, float], ...], ...]
    """Per agent, sorted (start_s, end_s) intervals on duty (shift minus breaks)."""
    skill_plan: tuple[tuple[tuple[float, float, int], ...], ...] = ()
    """Per agent, the roster's skill blocks (start_s, end_s, queue index; -1 = a skill with no queue)."""

    def __post_init__(self) -> None:
        n = len(self.agent_ids)
        if self.proficiency.shape[0] != n or self.primary.shape != self.proficiency.shape or len(self.duty) != n:
            raise InvalidInput("staffing arrays disagree on the number of agents", field="agents")
        if self.skill_plan and len(self.skill_plan) != n:
            raise InvalidInput("skill_plan needs one entry per agent", field="skill_plan")

    def duty_pieces(self, agent: int, honour_skill_plan: bool) -> list[tuple[float, float, tuple[int, ...]]]:
        """On-duty intervals with the queues the agent may serve in each: all its skills, or only the
        planned skill inside a skill block when the plan is honoured."""
        skilled = tuple(int(q) for q in np.flatnonzero(self.proficiency[agent] > 0))
        plan = self.skill_plan[agent] if honour_skill_plan and self.skill_plan else ()
        pieces: list[tuple[float, float, tuple[int, ...]]] = []
        for start, end in self.duty[agent]:
            cursor = start
            for b_start, b_end, queue in sorted(plan):
                lo, hi = max(b_start, cursor), min(b_end, end)
                if hi <= lo:
                    continue
                if lo > cursor:
                    pieces.append((cursor, lo, skilled))
                pieces.append((lo, hi, (queue,) if queue in skilled else ()))
                cursor = hi
            if end > cursor:
                pieces.append((cursor, end, skilled))
        return pieces

    @property
    def on_duty_s(self) -> float:
        return float(sum(end - start for intervals in self.duty for start, end in intervals))


def staffing_from_roster(
    roster: Roster, agents: Sequence[Agent], queues: Sequence[str], start: datetime
) -> Staffing:
    """Turn named shifts into on-duty intervals in seconds after ``start``; unknown agents are an error.

    Agents without a shift stay in the staffing (with no duty) so scenarios can add shifts for them."""
    by_id = {a.id: a for a in agents}
    unknown = sorted({s.agent_id for s in roster.shifts} - set(by_id))
    if unknown:
        raise InvalidInput(f"roster references unknown agents {unknown[:5]}", field="agent_id")
    index = {a.id: i for i, a in enumerate(agents)}
    duty: list[list[tuple[float, float]]] = [[] for _ in agents]
    plan: list[list[tuple[float, float, int]]] = [[] for _ in agents]
    queue_index = {q: i for i, q in enumerate(queues)}
    for shift in roster.shifts:
        cursor = shift.start
        pieces = []
        for brk in shift.breaks:
            if brk.start > cursor:
                pieces.append((cursor, brk.start))
            cursor = max(cursor, brk.end)
        if shift.end > cursor:
            pieces.append((cursor, shift.end))
        duty[index[shift.agent_id]].extend(
            ((a - start).total_seconds(), (b - start).total_seconds()) for a, b in pieces
        )
        plan[index[shift.agent_id]].extend(
            ((b.start - start).total_seconds(), (b.end - start).total_seconds(), queue_index.get(b.skill, -1))
            for b in shift.skill_plan
        )
    base = staffing_from_agents(agents, queues, [sorted(d) for d in duty])
    return replace(base, skill_plan=tuple(tuple(sorted(p)) for p in plan))


def staffing_from_agents(
    agents: Sequence[Agent], queues: Sequence[str], duty: Iterable[Sequence[tuple[float, float]]]
) -> Staffing:
    prof = np.array([[a.proficiency(q) for q in queues] for a in agents], dtype=np.int64).reshape(-1, len(queues))
    primary = np.array([[a.is_primary(q) for q in queues] for a in agents], dtype=np.bool_).reshape(
        -1, len(queues)
    )
    return Staffing(
        agent_ids=tuple(a.id for a in agents),
        proficiency=prof,
        primary=primary,
        duty=tuple(tuple((float(s), float(e)) for s, e in d) for d in duty),
    )


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """How the center behaves: routing, service-level threshold, patience, handle-time model."""

    routing: str = "optimizer"
    """optimizer = the live routing ``policy``; greedy, round_robin, least_busy = classic on-event ACD rules."""
    policy: RoutingPolicy = LIVE
    """What ``optimizer`` routing runs: the live service's policy (weights, mode, batch grid)."""
    batch_interval_s: float | None = None
    """Overrides the policy's batch interval when given (older scenario files set it here)."""
    answer_within_s: float = 20.0
    """Service level threshold: answered within this many seconds."""
    mean_patience_s: float = 300.0
    handle_distribution: str = "lognormal"
    handle_sigma: float = 0.6
    urgent_share: float = 0.22
    important_share: float = 0.45
    proficiency_handle_factor: tuple[float, float, float, float, float] = (1.3, 1.15, 1.0, 0.95, 0.9)
    """Handle time multiplier for proficiency 1..5 (novices are slower)."""
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    volume_uncertainty: bool = False
    """Scale each replication's volume per queue by a lognormal draw with the forecast's uncertainty."""
    honour_skill_plan: bool = False
    """Inside a roster skill block an agent serves only that skill (default: all skills, routing decides)."""

    def __post_init__(self) -> None:
        if self.routing not in ROUTING_POLICIES:
            raise InvalidInput(f"routing must be one of {ROUTING_POLICIES}, got {self.routing!r}", field="routing")
        if self.handle_distribution not in HANDLE_DISTRIBUTIONS:
            raise InvalidInput(
                f"handle_distribution must be one of {HANDLE_DISTRIBUTIONS}, got {self.handle_distribution!r}",
                field="handle_distribution",
            )
        if not isinstance(self.policy, RoutingPolicy):
            raise InvalidInput(f"policy must be a RoutingPolicy, got {self.policy!r}", field="policy")
        if self.batch_interval_s is not None and not 0 <= self.batch_interval_s <= 3600:
            raise InvalidInput(f"batch_interval_s must be in [0, 3600], got {self.batch_interval_s}",
                               field="batch_interval_s")
        for name in ("answer_within_s", "mean_patience_s"):
            value = getattr(self, name)
            if not value > 0:
                raise InvalidInput(f"{name} must be > 0, got {value}", field=name)
        if not 0 <= self.urgent_share <= 1 or not 0 <= self.important_share <= 1:
            raise InvalidInput("urgent_share and important_share must be in [0, 1]", field="urgent_share")
        if len(self.proficiency_handle_factor) != 5 or min(self.proficiency_handle_factor) <= 0:
            raise InvalidInput("proficiency_handle_factor needs 5 positive values", field="proficiency_handle_factor")

    @property
    def routing_policy(self) -> RoutingPolicy:
        """The policy ``optimizer`` routing runs, with this config's batch interval if it sets one."""
        if self.batch_interval_s is None:
            return self.policy
        return replace(self.policy, batch_interval_s=self.batch_interval_s)
