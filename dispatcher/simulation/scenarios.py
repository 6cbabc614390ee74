"""What-if scenarios: a named variant of the baseline (volume, AHT, absentees, roster edits, routing,
service-level target, shrinkage, patience) applied to the inputs of one replication."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dispatcher.errors import InvalidInput
from dispatcher.policy import RoutingPolicy
from dispatcher.simulation.model import ROUTING_POLICIES, SimulationConfig, Staffing


@dataclass(frozen=True, slots=True)
class ShiftEdit:
    """Replace (or add) an agent's duty with one interval, in seconds from the simulation start."""

    agent_id: str
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not self.end_s > self.start_s:
            raise InvalidInput(f"shift edit for {self.agent_id}: end is not after start", field="roster_edits")


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    volume_multiplier: float = 1.0
    aht_multiplier: float = 1.0
    absentees: tuple[str, ...] = ()
    """Named agents who do not show up."""
    random_absentees: int = 0
    """That many rostered agents, drawn per replication (the same ones in every scenario), do not show up."""
    roster_edits: tuple[ShiftEdit, ...] = ()
    routing: str | None = None
    answer_within_s: float | None = None
    shrinkage: float = 0.0
    """Share of each on-duty stretch lost to unplanned off-queue time (a random block inside it)."""
    mean_patience_s: float | None = None
    policy: RoutingPolicy | None = None
    """Route by this policy (``routing`` becomes the policy router) instead of the base config's."""

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidInput("scenario name must not be empty", field="name")
        for key in ("volume_multiplier", "aht_multiplier"):
            value = getattr(self, key)
            if not np.isfinite(value) or value < 0 or (key == "aht_multiplier" and value == 0):
                raise InvalidInput(f"scenario {self.name}: {key} must be a positive number, got {value}", field=key)
        if self.random_absentees < 0:
            raise InvalidInput(
                f"scenario {self.name}: random_absentees must be >= 0, got {self.random_absentees}",
                field="random_absentees",
            )
        if not 0 <= self.shrinkage < 1:
            raise InvalidInput(f"scenario {self.name}: shrinkage must be in [0, 1), got {self.shrinkage}",
                               field="shrinkage")
        if self.routing is not None and self.routing not in ROUTING_POLICIES:
            raise InvalidInput(
                f"scenario {self.name}: routing must be one of {ROUTING_POLICIES}, got {self.routing!r}",
                field="routing",
            )
        for key in ("answer_within_s", "mean_patience_s"):
            value = getattr(self, key)
            if value is not None and not value > 0:
                raise InvalidInput(f"scenario {self.name}: {key} must be > 0, got {value}", field=key)

    def config(self, base: SimulationConfig) -> SimulationConfig:
        changes: dict[str, object] = {}
        if self.routing is not None:
            changes["routing"] = self.routing
        if self.policy is not None:
            changes["routing"] = "optimizer"
            changes["policy"] = self.policy
        if self.answer_within_s is not None:
            changes["answer_within_s"] = self.answer_within_s
        if self.mean_patience_s is not None:
            changes["mean_patience_s"] = self.mean_patience_s
        return replace(base, **changes)  # type: ignore[arg-type]

    def staffing(self, base: Staffing, rng: np.random.Generator) -> Staffing:
        """The staffing of this scenario; ``rng`` must be the replication's (scenario-independent) stream."""
        index = {agent_id: i for i, agent_id in enumerate(base.agent_ids)}
        unknown = sorted({*self.absentees, *(e.agent_id for e in self.roster_edits)} - set(index))
        if unknown:
            raise InvalidInput(f"scenario {self.name}: unknown agents {unknown[:5]}", field="absentees")
        duty = [list(d) for d in base.duty]
        for edit in self.roster_edits:
            duty[index[edit.agent_id]] = [(edit.start_s, edit.end_s)]
        # draws happen in every scenario, so replication r removes the same people everywhere
        rostered = np.flatnonzero([bool(d) for d in base.duty])
        order = rng.permutation(rostered)
        for i in order[: self.random_absentees]:
            duty[int(i)] = []
        for agent_id in self.absentees:
            duty[index[agent_id]] = []
        positions = rng.random(sum(len(d) for d in duty) + len(base.agent_ids) * 4)
        if self.shrinkage > 0:
            k = 0
            for a, intervals in enumerate(duty):
                shrunk = []
                for start, end in intervals:
                    lost = (end - start) * self.shrinkage
                    cut = start + positions[k % len(positions)] * (end - start - lost)
                    k += 1
                    shrunk += [(start, cut), (cut + lost, end)]
                duty[a] = [(s, e) for s, e in shrunk if e > s]
        return replace(base, duty=tuple(tuple(d) for d in duty))


BASELINE = Scenario("baseline")
