"""Composite scores: dimensions normalised against targets, weighted, kept with their parts; :func:`scorecards`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

import pandas as pd

from dispatcher.errors import InvalidInput, NotFound
from dispatcher.scorecard.events import EventLog
from dispatcher.scorecard.metrics import METRIC_COLUMNS, SAMPLE_OF, Level, scorecard_metrics
from dispatcher.scorecard.outcomes import OutcomeConfig


@dataclass(frozen=True, slots=True)
class Dimension:
    """One scored KPI: its metric column, whether higher is better, the target and the weight."""

    metric: str
    higher_is_better: bool
    target: float
    weight: float

    def __post_init__(self) -> None:
        if not self.target > 0 or not math.isfinite(self.target):
            raise InvalidInput(f"target of {self.metric} must be a positive number, got {self.target}",
                               field="target")
        if not self.weight >= 0 or not math.isfinite(self.weight):
            raise InvalidInput(f"weight of {self.metric} must be >= 0, got {self.weight}", field="weights")

    def normalise(self, value: float, cap: float) -> float:
        """Attainment against target: value/target (or target/value when lower is better), capped."""
        if self.higher_is_better:
            return min(value / self.target, cap)
        return cap if value <= 0 else min(self.target / value, cap)


DEFAULT_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("sla", True, 0.80, 0.25),
    Dimension("fcr", True, 0.75, 0.20),
    Dimension("satisfaction", True, 0.90, 0.15),
    Dimension("asa_s", False, 300.0, 0.10),
    Dimension("aht_vs_forecast", False, 1.0, 0.10),
    Dimension("abandonment", False, 0.05, 0.05),
    Dimension("complaint_rate", False, 0.02, 0.05),
    Dimension("adherence", True, 0.95, 0.05),
    Dimension("occupancy", True, 0.80, 0.05),
)


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    dimensions: tuple[Dimension, ...] = DEFAULT_DIMENSIONS
    cap: float = 1.0
    """Highest normalised score of one dimension (1.0: meeting the target earns full marks)."""
    min_sample: int = 0
    """A dimension resting on fewer observations (``SAMPLE_OF``) is shown but left out of the composite."""

    def __post_init__(self) -> None:
        if self.min_sample < 0:
            raise InvalidInput(f"min_sample must be >= 0, got {self.min_sample}", field="min_sample")
        names = [d.metric for d in self.dimensions]
        unknown = [m for m in names if m not in METRIC_COLUMNS]
        if unknown:
            raise InvalidInput(f"unknown scorecard metrics {unknown}; known: {list(METRIC_COLUMNS)}",
                               field="weights")
        if len(set(names)) != len(names):
            raise InvalidInput("a metric is scored twice", field="weights")
        if not self.cap >= 1.0:
            raise InvalidInput(f"cap must be >= 1, got {self.cap}", field="cap")
        if not any(d.weight > 0 for d in self.dimensions):
            raise InvalidInput("at least one weight must be > 0", field="weights")

    def with_weights(self, weights: Mapping[str, float]) -> ScoringConfig:
        """The same dimensions with some weights replaced; unknown names are InvalidInput."""
        by_name = {d.metric: d for d in self.dimensions}
        unknown = sorted(set(weights) - set(by_name))
        if unknown:
            raise InvalidInput(f"no scored dimension {unknown}; scored: {sorted(by_name)}", field="weights")
        dims = tuple(Dimension(d.metric, d.higher_is_better, d.target, float(weights.get(d.metric, d.weight)))
                     for d in self.dimensions)
        return ScoringConfig(dimensions=dims, cap=self.cap, min_sample=self.min_sample)

    def with_targets(self, targets: Mapping[str, float]) -> ScoringConfig:
        by_name = {d.metric: d for d in self.dimensions}
        unknown = sorted(set(targets) - set(by_name))
        if unknown:
            raise InvalidInput(f"no scored dimension {unknown}; scored: {sorted(by_name)}", field="targets")
        dims = tuple(Dimension(d.metric, d.higher_is_better, float(targets.get(d.metric, d.target)), d.weight)
                     for d in self.dimensions)
        return ScoringConfig(dimensions=dims, cap=self.cap, min_sample=self.min_sample)


@dataclass(frozen=True, slots=True)
class ScoreComponent:
    """One dimension of a composite: the value, its target, the normalised score and its share."""

    metric: str
    value: float
    target: float
    higher_is_better: bool
    weight: float
    score: float
    """value normalised against target (NaN when the value is unavailable)."""
    contribution: float
    """Points this dimension adds to the composite: 100 * (weight / sum of counted weights) * score."""
    sample: float = math.nan
    counted: bool = True
    """False when the value is missing or rests on fewer than ``min_sample`` observations."""


@dataclass(frozen=True, slots=True)
class Scorecard:
    level: Level
    key: str
    metrics: Mapping[str, float]
    components: tuple[ScoreComponent, ...]
    composite: float
    """0..100*cap; NaN when no weighted dimension has a value."""

    def explain(self) -> str:
        parts = [f"{c.metric} {c.value:.3g} vs {c.target:g} -> {c.score:.2f} x w{c.weight:g} = {c.contribution:.1f}"
                 for c in self.components if c.counted and c.weight > 0]
        return f"{self.level} {self.key}: {self.composite:.1f} = " + " + ".join(parts)


@dataclass(frozen=True, slots=True)
class ScorecardTable:
    level: Level
    start: datetime | None
    end: datetime | None
    cards: tuple[Scorecard, ...]
    config: ScoringConfig = field(default_factory=ScoringConfig)

    def card(self, key: str) -> Scorecard:
        for card in self.cards:
            if card.key == key:
                return card
        raise NotFound(f"no {self.level} {key!r} in this scorecard", field=self.level)

    def to_frame(self) -> pd.DataFrame:
        """One row per entity: metrics, then score_<metric> and points_<metric> per dimension, composite."""
        rows = []
        for card in self.cards:
            row: dict[str, Any] = {self.level: card.key, **card.metrics}
            for comp in card.components:
                row[f"score_{comp.metric}"] = comp.score
                row[f"points_{comp.metric}"] = comp.contribution
            row["composite"] = card.composite
            rows.append(row)
        columns = [self.level, *METRIC_COLUMNS,
                   *(f"{p}_{d.metric}" for d in self.config.dimensions for p in ("score", "points")), "composite"]
        return pd.DataFrame(rows, columns=columns)


def composite_score(metrics: Mapping[str, float], config: ScoringConfig) -> tuple[tuple[ScoreComponent, ...], float]:
    """Weighted mean of target-normalised dimensions, in points (100 = every target met)."""
    raw: list[tuple[Dimension, float, float, float, bool]] = []
    for dim in config.dimensions:
        value = float(metrics.get(dim.metric, math.nan))
        sample = float(metrics.get(SAMPLE_OF.get(dim.metric, ""), math.nan))
        score = dim.normalise(value, config.cap) if not math.isnan(value) else math.nan
        counted = not math.isnan(value) and not (config.min_sample > 0 and sample < config.min_sample)
        raw.append((dim, value, score, sample, counted))
    total_weight = sum(d.weight for d, _, _, _, counted in raw if counted)
    components = tuple(
        ScoreComponent(
            metric=d.metric, value=v, target=d.target, higher_is_better=d.higher_is_better, weight=d.weight,
            score=s, contribution=(100.0 * (d.weight / total_weight) * s) if total_weight > 0 and counted else 0.0,
            sample=n, counted=counted,
        )
        for d, v, s, n, counted in raw
    )
    composite = sum(c.contribution for c in components) if total_weight > 0 else math.nan
    return components, composite


def scorecards(
    log: EventLog,
    *,
    level: Level = "agent",
    start: datetime | None = None,
    end: datetime | None = None,
    scoring: ScoringConfig | None = None,
    outcome: OutcomeConfig | None = None,
    forecast_aht_s: Mapping[str, float] | None = None,
    agent_time: pd.DataFrame | None = None,
    agent_teams: Mapping[str, str] | None = None,
) -> ScorecardTable:
    """Scorecards of every agent, team or queue active in the window, each with its composite and parts."""
    config = scoring or ScoringConfig()
    metrics = scorecard_metrics(log, level=level, start=start, end=end, outcome=outcome,
                                forecast_aht_s=forecast_aht_s, agent_time=agent_time, agent_teams=agent_teams)
    cards = []
    for key, row in zip(metrics.index, metrics.to_dict("records"), strict=True):
        values = MappingProxyType({str(k): float(v) for k, v in row.items()})
        components, composite = composite_score(values, config)
        cards.append(Scorecard(level=level, key=str(key), metrics=values, components=components,
                               composite=composite))
    return ScorecardTable(level=level, start=start, end=end, cards=tuple(cards), config=config)
