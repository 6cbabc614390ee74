"""Feedback loop: re-estimate agent proficiencies from outcomes, as a preview a supervisor accepts.

Per agent × skill, handle time and first-contact resolution are shrunk toward the team's mean for that
skill (``prior_outcomes`` pseudo-observations), combined into a performance index (1.0 = team mean) and
mapped to a level around the team's mean level. The move from the current level is bounded: at most
``small_sample_step`` for fewer than ``min_outcomes`` outcomes, at most ``max_step`` otherwise. Only
skills an agent already holds are re-estimated. Nothing is applied here: :func:`preview_proficiencies`
returns a diff, :func:`apply_preview` returns new agents (and refuses a stale preview).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from dispatcher.domain import MAX_PROFICIENCY, MIN_PROFICIENCY, Agent
from dispatcher.errors import Conflict, InvalidInput
from dispatcher.scorecard import EventKind, EventLog, OutcomeConfig, task_outcomes

OUTCOME_COLUMNS = ("agent_id", "skill", "handle_s", "fcr")


@dataclass(frozen=True, slots=True)
class ReestimationConfig:
    min_outcomes: int = 30
    """Agents with fewer outcomes on a skill move at most ``small_sample_step`` levels."""
    small_sample_step: int = 1
    max_step: int = 2
    prior_outcomes: float = 20.0
    """Shrinkage strength: the team mean counts as this many outcomes."""
    levels_per_10pct: float = 1.0
    """How many levels a performance index 10% above the team mean is worth."""
    aht_weight: float = 0.5
    """Weight of handle time in the index; FCR gets the rest."""

    def __post_init__(self) -> None:
        if self.min_outcomes < 0:
            raise InvalidInput(f"min_outcomes must be >= 0, got {self.min_outcomes}", field="min_outcomes")
        if not 0 <= self.small_sample_step <= self.max_step <= MAX_PROFICIENCY - MIN_PROFICIENCY:
            raise InvalidInput(
                f"need 0 <= small_sample_step ({self.small_sample_step}) <= max_step ({self.max_step}) <= 4",
                field="small_sample_step")
        if not self.prior_outcomes >= 0 or not math.isfinite(self.prior_outcomes):
            raise InvalidInput(f"prior_outcomes must be >= 0, got {self.prior_outcomes}", field="prior_outcomes")
        if not self.levels_per_10pct > 0:
            raise InvalidInput("levels_per_10pct must be > 0", field="levels_per_10pct")
        if not 0 <= self.aht_weight <= 1:
            raise InvalidInput(f"aht_weight must be in [0, 1], got {self.aht_weight}", field="aht_weight")


@dataclass(frozen=True, slots=True)
class ProficiencyChange:
    """The evidence and the proposal for one agent × skill."""

    agent_id: str
    skill: str
    team: str
    outcomes: int
    aht_s: float
    fcr: float
    shrunk_aht_s: float
    shrunk_fcr: float
    team_aht_s: float
    team_fcr: float
    index: float
    """Performance relative to the team (1.0 = team mean, 1.1 = 10% better)."""
    estimated_level: int
    current: int
    proposed: int
    step_limit: int

    @property
    def changed(self) -> bool:
        return self.proposed != self.current

    @property
    def bounded(self) -> bool:
        """The estimate lay further than the step limit allows."""
        return abs(self.estimated_level - self.current) > self.step_limit


@dataclass(frozen=True, slots=True)
class ProficiencyPreview:
    changes: tuple[ProficiencyChange, ...]
    config: ReestimationConfig

    @property
    def diff(self) -> tuple[ProficiencyChange, ...]:
        return tuple(c for c in self.changes if c.changed)

    def to_frame(self) -> pd.DataFrame:
        fields = ("agent_id", "skill", "team", "outcomes", "aht_s", "fcr", "shrunk_aht_s", "shrunk_fcr",
                  "team_aht_s", "team_fcr", "index", "estimated_level", "current", "proposed", "step_limit")
        return pd.DataFrame([{f: getattr(c, f) for f in fields} for c in self.changes], columns=list(fields))


def outcomes_from_log(
    log: EventLog, *, config: OutcomeConfig | None = None, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """One row per completed task created in [start, end) (its first completion): agent_id, skill, handle_s, fcr."""
    tasks = task_outcomes(log, config=config)
    if start is not None:
        tasks = tasks.loc[tasks["created_at"] >= pd.Timestamp(start)]
    if end is not None:
        tasks = tasks.loc[tasks["created_at"] < pd.Timestamp(end)]
    ev = log.frame
    first = ev.loc[ev["event"] == EventKind.COMPLETED].groupby("task_id", sort=False)[["agent_id", "handle_s"]].first()
    done = tasks.loc[tasks["completions"] > 0]
    return pd.DataFrame({
        "agent_id": first["agent_id"].reindex(done.index).to_numpy(),
        "skill": done["queue"].to_numpy(),
        "handle_s": first["handle_s"].reindex(done.index).to_numpy(dtype=float),
        "fcr": done["fcr"].to_numpy(dtype=float),
    })


def _shrink(agent_mean: np.ndarray, n: np.ndarray, prior_mean: np.ndarray, k: float) -> np.ndarray:
    total = n + k
    return np.where(total > 0, (n * agent_mean + k * prior_mean) / np.where(total > 0, total, 1.0), prior_mean)


def preview_proficiencies(
    agents: Iterable[Agent], outcomes: pd.DataFrame, *, config: ReestimationConfig | None = None
) -> ProficiencyPreview:
    """Re-estimated proficiency per agent × held skill with outcomes; a preview, nothing is applied."""
    cfg = config or ReestimationConfig()
    missing = [c for c in OUTCOME_COLUMNS if c not in outcomes.columns]
    if missing:
        raise InvalidInput(f"outcomes lack columns {missing}", field=missing[0])
    roster = {a.id: a for a in agents}
    data = outcomes.loc[outcomes["agent_id"].isin(roster.keys()), list(OUTCOME_COLUMNS)].copy()
    data["handle_s"] = data["handle_s"].astype(float)
    data["fcr"] = data["fcr"].astype(float)
    held = np.array([roster[a].has_skill(s) for a, s in zip(data["agent_id"], data["skill"], strict=True)], dtype=bool)
    data = data.loc[held] if len(data) else data
    if data.empty:
        return ProficiencyPreview(changes=(), config=cfg)
    data["team"] = data["agent_id"].map(lambda a: roster[a].team)
    per_agent = data.groupby(["agent_id", "skill"], sort=True).agg(
        team=("team", "first"), outcomes=("handle_s", "size"), aht_s=("handle_s", "mean"), fcr=("fcr", "mean"))
    team_stats = data.groupby(["team", "skill"]).agg(team_aht_s=("handle_s", "mean"), team_fcr=("fcr", "mean"))
    per_agent = per_agent.join(team_stats, on=["team", "skill"])

    levels = pd.DataFrame([(a.team, s, lvl) for a in roster.values() for s, lvl in a.skills.items()],
                          columns=["team", "skill", "level"])
    team_level = levels.groupby(["team", "skill"])["level"].mean().rename("team_level")
    per_agent = per_agent.join(team_level, on=["team", "skill"])

    n = per_agent["outcomes"].to_numpy(dtype=float)
    k = cfg.prior_outcomes
    team_aht = per_agent["team_aht_s"].to_numpy(dtype=float)
    team_fcr = per_agent["team_fcr"].to_numpy(dtype=float)
    fcr = per_agent["fcr"].to_numpy(dtype=float)
    fcr_known = ~np.isnan(fcr)
    shrunk_aht = _shrink(per_agent["aht_s"].to_numpy(dtype=float), n, team_aht, k)
    shrunk_fcr = np.where(fcr_known, _shrink(np.nan_to_num(fcr), n, np.nan_to_num(team_fcr), k), np.nan)
    aht_ratio = np.where(shrunk_aht > 0, team_aht / np.where(shrunk_aht > 0, shrunk_aht, 1.0), 1.0)
    fcr_ratio = np.where(fcr_known & (team_fcr > 0), shrunk_fcr / np.where(team_fcr > 0, team_fcr, 1.0), 1.0)
    index = cfg.aht_weight * aht_ratio + (1 - cfg.aht_weight) * fcr_ratio
    raw_level = per_agent["team_level"].to_numpy(dtype=float) + (index - 1.0) * 10.0 * cfg.levels_per_10pct
    estimated = np.clip(np.rint(raw_level), MIN_PROFICIENCY, MAX_PROFICIENCY).astype(np.int64)

    changes = []
    agent_ids = per_agent.index.get_level_values("agent_id").astype(str)
    skills = per_agent.index.get_level_values("skill").astype(str)
    team_names = per_agent["team"].astype(str).to_numpy()
    agent_aht = per_agent["aht_s"].to_numpy(dtype=float)
    for i, (agent_id, skill) in enumerate(zip(agent_ids, skills, strict=True)):
        current = roster[agent_id].proficiency(skill)
        limit = cfg.small_sample_step if n[i] < cfg.min_outcomes else cfg.max_step
        proposed = current + int(np.clip(estimated[i] - current, -limit, limit))
        changes.append(ProficiencyChange(
            agent_id=agent_id, skill=skill, team=str(team_names[i]), outcomes=int(n[i]),
            aht_s=float(agent_aht[i]), fcr=float(fcr[i]), shrunk_aht_s=float(shrunk_aht[i]),
            shrunk_fcr=float(shrunk_fcr[i]), team_aht_s=float(team_aht[i]), team_fcr=float(team_fcr[i]),
            index=float(index[i]), estimated_level=int(estimated[i]), current=current, proposed=proposed,
            step_limit=limit,
        ))
    return ProficiencyPreview(changes=tuple(changes), config=cfg)


def apply_preview(agents: Iterable[Agent], changes: Iterable[ProficiencyChange]) -> list[Agent]:
    """New agents with the accepted changes; Conflict if an agent's level moved since the preview."""
    by_agent: dict[str, dict[str, ProficiencyChange]] = {}
    for change in changes:
        by_agent.setdefault(change.agent_id, {})[change.skill] = change
    roster = list(agents)
    known = {a.id for a in roster}
    unknown = sorted(set(by_agent) - known)
    if unknown:
        raise InvalidInput(f"preview names unknown agents {unknown}", field="agent_id")
    out = []
    for agent in roster:
        accepted: Mapping[str, ProficiencyChange] = by_agent.get(agent.id, {})
        if not accepted:
            out.append(agent)
            continue
        skills = dict(agent.skills)
        for skill, change in accepted.items():
            if skills.get(skill) != change.current:
                raise Conflict(f"agent {agent.id}: {skill} is now {skills.get(skill)}, the preview assumed "
                               f"{change.current}; preview again", field="skills")
            skills[skill] = change.proposed
        out.append(replace(agent, skills=skills))
    return out
