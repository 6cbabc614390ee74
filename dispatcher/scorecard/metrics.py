"""The raw KPI table per agent, team or queue (:func:`scorecard_metrics`) from per-task outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from dispatcher import kpis
from dispatcher.domain import Quadrant
from dispatcher.errors import InvalidInput
from dispatcher.scorecard.events import EventKind, EventLog
from dispatcher.scorecard.outcomes import OutcomeConfig, task_outcomes

Level = Literal["agent", "team", "queue"]
LEVELS: tuple[Level, ...] = ("agent", "team", "queue")

SAMPLE_OF: Mapping[str, str] = MappingProxyType({
    "sla": "sla_n", "sla_Q1": "sla_n", "sla_Q2": "sla_n", "sla_Q3": "sla_n", "sla_Q4": "sla_n",
    "fcr": "fcr_n", "complaint_rate": "fcr_n", "satisfaction": "satisfaction_n", "satisfaction_mean": "satisfaction_n",
    "asa_s": "answered", "abandonment": "tasks", "abandoned": "tasks", "aht_s": "handled",
    "aht_vs_forecast": "handled", "occupancy": "handled", "adherence": "handled",
})
"""The count a metric rests on (its sample size)."""

METRIC_COLUMNS: tuple[str, ...] = (
    "tasks", "handled", "answered", "asa_s", "sla", "sla_n", "sla_Q1", "sla_Q2", "sla_Q3", "sla_Q4",
    "aht_s", "forecast_aht_s", "aht_vs_forecast", "fcr", "fcr_n", "abandonment", "abandoned",
    "complaint_rate", "satisfaction", "satisfaction_mean", "satisfaction_n", "handled_s", "occupancy",
    "adherence",
)


def _safe_div(num: pd.Series, den: pd.Series) -> pd.Series:
    return pd.Series(kpis.ratio(num.to_numpy(dtype=float), den.to_numpy(dtype=float)), index=num.index)


def _keys(level: Level) -> dict[str, str]:
    """Which task column attributes each metric family to an entity of ``level``."""
    if level == "queue":
        return dict.fromkeys(("cohort", "response", "fcr", "satisfaction", "handled"), "queue")
    if level == "team":
        return {"cohort": "", "response": "responder_team", "fcr": "completer_team",
                "satisfaction": "satisfaction_team", "handled": "team"}
    return {"cohort": "", "response": "responder", "fcr": "completer", "satisfaction": "satisfaction_agent",
            "handled": "agent_id"}


def scorecard_metrics(
    log: EventLog,
    *,
    level: Level = "agent",
    start: datetime | None = None,
    end: datetime | None = None,
    outcome: OutcomeConfig | None = None,
    forecast_aht_s: Mapping[str, float] | None = None,
    agent_time: pd.DataFrame | None = None,
    agent_teams: Mapping[str, str] | None = None,
    outcomes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The raw KPI table (index: entity key, columns ``METRIC_COLUMNS``) for tasks created in [start, end).

    ``outcomes``: this log's :func:`task_outcomes` computed once, to measure many windows cheaply.
    """
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {list(LEVELS)}, got {level!r}", field="level")
    for name, moment in (("from", start), ("to", end)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=name)
    if start is not None and end is not None and end <= start:
        raise InvalidInput(f"'to' ({end}) must be after 'from' ({start})", field="to")
    tasks = outcomes if outcomes is not None else task_outcomes(log, config=outcome, agent_teams=agent_teams)
    codes, _ = pd.factorize(log.frame["task_id"])  # the same order as the rows of ``tasks``
    queue_by_code = tasks["queue"].to_numpy(dtype=object)
    cohort = pd.Series(True, index=tasks.index)
    if start is not None:
        cohort &= tasks["created_at"] >= pd.Timestamp(start)
    if end is not None:
        cohort &= tasks["created_at"] < pd.Timestamp(end)
    in_cohort = cohort.to_numpy(dtype=bool)
    tasks = tasks.loc[cohort]
    keys = _keys(level)
    ev = log.frame
    done_rows = np.flatnonzero((ev["event"] == EventKind.COMPLETED).to_numpy(dtype=bool) & in_cohort[codes])
    done = ev.iloc[done_rows].assign(queue=queue_by_code[codes[done_rows]])
    if level == "team" and agent_teams:
        done = done.assign(team=done["team"].where(done["team"] != "", done["agent_id"].map(agent_teams)).fillna(""))

    def by(frame: pd.DataFrame, key: str) -> Any:
        return frame.loc[frame[key] != ""].groupby(key, sort=True)

    resp = by(tasks, keys["response"])
    decided = tasks.loc[tasks["sla_decided"]]
    sla_groups = by(decided, keys["response"])
    out = pd.DataFrame({
        "answered": resp["wait_s"].count(),
        "asa_s": _safe_div(resp["wait_s"].sum(), resp["wait_s"].count()),
        "sla": _safe_div(sla_groups["sla_met"].sum(), sla_groups["sla_met"].size()),
        "sla_n": sla_groups["sla_met"].size(),
    })
    for quadrant in Quadrant:
        part = decided.loc[decided["quadrant"] == quadrant.value]
        met = by(part, keys["response"])["sla_met"]
        out[f"sla_{quadrant.value}"] = _safe_div(met.sum(), met.size())
    handled = by(done, keys["handled"])
    out = out.join(pd.DataFrame({"handled": handled.size(), "handled_s": handled["handle_s"].sum(),
                                 "aht_s": handled["handle_s"].mean()}), how="outer")
    if forecast_aht_s:
        expected = done["queue"].map(dict(forecast_aht_s)).astype(float)
        out["forecast_aht_s"] = by(done.assign(expected=expected), keys["handled"])["expected"].mean()
    else:
        out["forecast_aht_s"] = np.nan
    fcr = by(tasks.loc[tasks["fcr"].notna()], keys["fcr"])
    out = out.join(pd.DataFrame({"fcr": fcr["fcr"].mean(), "fcr_n": fcr["fcr"].size(),
                                 "complaint_rate": fcr["complaint"].mean()}), how="outer")
    rated = by(tasks.loc[tasks["satisfaction"].notna()], keys["satisfaction"])
    out = out.join(pd.DataFrame({"satisfaction": rated["satisfied"].mean(),
                                 "satisfaction_mean": rated["satisfaction"].mean(),
                                 "satisfaction_n": rated["satisfaction"].size()}), how="outer")
    if level == "queue":
        live = tasks.loc[~tasks["cancelled"]].groupby("queue", sort=True)
        abandoned = live["abandoned"]
        out = out.join(pd.DataFrame({"tasks": tasks.groupby("queue").size(), "abandoned": abandoned.sum(),
                                     "abandonment": _safe_div(abandoned.sum(), abandoned.size())}), how="outer")
    else:
        out["tasks"] = out["answered"]
        out["abandoned"] = np.nan
        out["abandonment"] = np.nan
    out["occupancy"] = np.nan
    out["adherence"] = np.nan
    if agent_time is not None and level != "queue":
        at = agent_time
        if level == "team":
            team_of = pd.Series(dict(agent_teams or {}))
            if team_of.empty:
                seen = done.loc[done["team"] != "", ["agent_id", "team"]].drop_duplicates("agent_id")
                team_of = seen.set_index("agent_id")["team"]
            at = agent_time.assign(team=team_of.reindex(agent_time.index)).dropna(subset=["team"])
            at = at.groupby("team", sort=True)[["scheduled_s", "on_shift_s"]].sum()
        out = out.join(at[["scheduled_s", "on_shift_s"]], how="outer")
        out["occupancy"] = _safe_div(out["handled_s"].fillna(0.0), out["on_shift_s"])
        out["adherence"] = kpis.adherence(out["on_shift_s"].to_numpy(dtype=float),
                                          out["scheduled_s"].to_numpy(dtype=float))
    for count in ("answered", "sla_n", "handled", "fcr_n", "satisfaction_n", "tasks"):
        out[count] = out[count].fillna(0).astype(np.int64)
    out["handled_s"] = out["handled_s"].fillna(0.0)
    out["aht_vs_forecast"] = _safe_div(out["aht_s"], out["forecast_aht_s"])
    out.index.name = level
    return out[list(METRIC_COLUMNS)].sort_index()
