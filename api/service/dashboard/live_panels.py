"""Dashboard panels from the published plan (forecast vs actual, coverage vs requirement, today's shifts);
the file panels the demo writes are used only where nothing is published for today."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.live.adherence import adherence_board
from api.live.intraday import Targets, intraday_view
from api.service.dashboard.panels import CoverageToday, ForecastToday, PanelModel, QueueSeries, ShiftsToday
from api.store.plan import PlanStore
from api.store.queue import LiveQueue

LIVE_PANELS = ("forecast_today", "coverage_today", "shifts_today")


async def live_panel(name: str, queue: LiveQueue, plan: PlanStore, now: datetime,
                     targets: Targets) -> PanelModel | None:
    """The panel built from today's published plan, or None when nothing is published for today."""
    day = plan.local_day(now)
    tz = str(plan.tz)
    if name == "shifts_today":
        rosters = await plan.roster_days([day])
        if day not in rosters:
            return None
        names = {h["id"]: h.get("name", "") for h in await queue.agent_hashes()}
        now_adherence = {row.agent_id: row.view() for row in await adherence_board(queue, plan, now)}
        bars = [
            {"agent_id": s.agent_id, "agent_name": names.get(s.agent_id, ""), "start": s.start, "end": s.end,
             "breaks": [{"start": b.start, "end": b.end} for b in s.breaks],
             "skills": sorted({b.skill for b in s.skill_plan}),
             "adherence": _bar_adherence(now_adherence.get(s.agent_id))}
            for agent in sorted(rosters[day]) for s in rosters[day][agent]
        ]
        return ShiftsToday.model_validate({"date": day, "timezone": tz, "shifts": bars})
    queues = await plan.forecast_queues(day)
    if not queues:
        return None
    views = [await intraday_view(queue, plan, q, day, now, targets) for q in queues]
    axis = [p["period_start"] for p in views[0]["periods"]]
    aligned = [v for v in views if [p["period_start"] for p in v["periods"]] == axis]
    base: dict[str, Any] = {"date": day, "timezone": tz, "period_minutes": int(views[0]["period_minutes"]),
                            "period_start": axis}
    if name == "forecast_today":
        series = {v["queue"]: QueueSeries(forecast=[p["forecast"] for p in v["periods"]],
                                          actual=[p["actual"] for p in v["periods"]],
                                          reforecast=_rest_of_day(v["periods"]))
                  for v in aligned}
        return ForecastToday.model_validate({**base, "queues": series})
    return CoverageToday.model_validate({
        **base, "required": [sum(v["periods"][i]["required"] for v in aligned) for i in range(len(axis))],
        "scheduled": [sum(v["periods"][i]["scheduled"] for v in aligned) for i in range(len(axis))],
    })


def _bar_adherence(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {k: row[k] for k in ("scheduled", "status", "in_adherence", "out_since")}


def _rest_of_day(periods: list[dict[str, Any]]) -> list[float | None]:
    """The reforecast where actual is not known yet, joined to the last observed period so the lines meet."""
    out: list[float | None] = []
    for i, p in enumerate(periods):
        later_known = i + 1 < len(periods) and periods[i + 1]["actual"] is not None
        out.append(None if later_known else max(float(p["reforecast"]), 0.0))
    return out
