"""What a roster solve returns: the roster, its coverage, objective vs bound, and explanations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

import numpy as np
import numpy.typing as npt

from dispatcher.domain import Roster
from dispatcher.roster.problem import PERIOD, PERIOD_MIN
from dispatcher.roster.weeks import PlanningWeek


@dataclass(frozen=True, slots=True)
class Coverage:
    """Required and scheduled agents per skill (rows) and 15-minute period (columns)."""

    origin: datetime
    skills: tuple[str, ...]
    required: npt.NDArray[np.int64]
    scheduled: npt.NDArray[np.int64]

    def period_start(self, p: int) -> datetime:
        tz: tzinfo | None = self.origin.tzinfo
        return (self.origin + p * PERIOD).astimezone(tz)

    @property
    def under_hours(self) -> dict[str, float]:
        short = np.clip(self.required - self.scheduled, 0, None).sum(axis=1) * PERIOD_MIN / 60
        return {s: float(v) for s, v in zip(self.skills, short, strict=True)}

    @property
    def over_hours(self) -> dict[str, float]:
        extra = np.clip(self.scheduled - self.required, 0, None).sum(axis=1) * PERIOD_MIN / 60
        return {s: float(v) for s, v in zip(self.skills, extra, strict=True)}


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the roster falls short: the rule, and the agent / skill / file row that binds."""

    rule: str
    message: str
    agent_id: str | None = None
    skill: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = ", ".join(x for x in (
            f"agent {self.agent_id}" if self.agent_id else "",
            f"skill {self.skill}" if self.skill else "",
            f"row {self.row}" if self.row else "",
        ) if x)
        return f"[{self.rule}] {where + ': ' if where else ''}{self.message}"


@dataclass(frozen=True, slots=True)
class Objective:
    """The roster's objective split into its terms (penalty points)."""

    under: float
    over: float
    labour: float
    auxiliary: float
    changes: float = 0.0

    @property
    def total(self) -> float:
        return self.under + self.over + self.labour + self.auxiliary + self.changes


@dataclass(frozen=True, slots=True)
class Fairness:
    """Spread (max - min) across agents of the same contract; hours as used / contract maximum."""

    weekend_shifts_spread: int
    late_shifts_spread: int
    hours_ratio_spread: float
    no_two_days_off: int
    """Agents without two consecutive days off in some planning week (of two days or more)."""
    days_off_pair_share: float = 1.0
    """Share of (agent, planning week) with two consecutive days off."""


@dataclass(frozen=True, slots=True)
class RosterResult:
    roster: Roster
    coverage: Coverage
    objective: Objective
    bound: float
    """LP relaxation of the count model: no roster can score below it."""
    status: str
    """optimal | feasible | partial (a hard rule had to be relaxed, see explanations)."""
    fairness: Fairness
    paid_hours: float
    changed_shifts: int
    explanations: tuple[Explanation, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    weeks: tuple[PlanningWeek, ...] = ()
    """The planning weeks the contract limits held in."""
    first_objective: float = float("nan")
    """The first complete roster's objective (named, before the local search), at ``timings["first"]`` s."""

    @property
    def gap(self) -> float:
        """Relative distance of the objective above the bound."""
        return relative_gap(self.objective.total, self.bound)

    @property
    def first_gap(self) -> float:
        """The first roster's distance above the bound (NaN when none was recorded)."""
        return relative_gap(self.first_objective, self.bound)


def relative_gap(objective: float, bound: float) -> float:
    """(objective - bound) / objective, at least 0; NaN for a NaN objective."""
    if math.isnan(objective):
        return math.nan
    return 0.0 if objective <= 1e-9 else max(objective - bound, 0.0) / abs(objective)
