"""Intraday view of one queue and day: forecast, actual, re-forecast, required, scheduled and available
agents per period, and the ``staffing`` alert when the next hour's projected service level misses target.

Actual = tasks created in the period (counted from the audit stream); re-forecast = the rest of the day
scaled by actual/forecast so far, shrunk toward 1 (forecasting.intraday); required = Erlang C for the
target on the re-forecast; scheduled = agents on duty (not on break) at the period start whose skill plan
(or, without one, whose skills) covers the queue; available = agents available now with the skill (the
current period only). The projection staffs each coming period with its scheduled agents, or with the
agents available now when no roster covers the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from api.live.sla import queue_supervisors
from api.store.plan import PlanStore
from api.store.queue import LiveQueue, iso_from_ms
from dispatcher.domain import DEFAULT_HANDLE_S, Shift
from dispatcher.erlang import required_agents, service_level
from dispatcher.errors import NotFound
from forecasting.intraday import reforecast_rest_of_day

ALERT_MEMORY_MS = 2 * 3600 * 1000
LOOKAHEAD_S = 3600.0


@dataclass(frozen=True, slots=True)
class Targets:
    service_level: float = 0.8
    answer_within_s: float = 20.0


@dataclass(frozen=True, slots=True)
class DutySpans:
    """Signed time spans of duty: +1 over a shift (or a skill-plan block), -1 over each break inside it.
    ``skill`` is the planned skill, or None for a shift without a skill plan (any skill the agent holds)."""

    agent: list[str]
    skill: list[str | None]
    start_ms: NDArray[np.int64]
    end_ms: NDArray[np.int64]
    sign: NDArray[np.int64]


def duty_spans(shifts: list[Shift]) -> DutySpans:
    agent: list[str] = []
    skill: list[str | None] = []
    rows: list[tuple[int, int, int]] = []
    for shift in shifts:
        blocks: list[tuple[str | None, datetime, datetime]] = [(b.skill, b.start, b.end) for b in shift.skill_plan]
        blocks = blocks or [(None, shift.start, shift.end)]
        for name, start, end in blocks:
            agent.append(shift.agent_id)
            skill.append(name)
            rows.append((_ms(start), _ms(end), 1))
            for brk in shift.breaks:
                lo, hi = max(start, brk.start), min(end, brk.end)
                if lo < hi:
                    agent.append(shift.agent_id)
                    skill.append(name)
                    rows.append((_ms(lo), _ms(hi), -1))
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return DutySpans(agent, skill, table[:, 0], table[:, 1], table[:, 2])


def scheduled_counts(spans: DutySpans, skill: str, skills_of: dict[str, set[str]],
                     starts_ms: NDArray[np.int64]) -> NDArray[np.int64]:
    """Agents on duty at each period start whose skill plan (else skills) covers ``skill``."""
    mine = np.array([s == skill if s is not None else skill in skills_of.get(a, ()) for a, s in
                     zip(spans.agent, spans.skill, strict=True)], dtype=bool)
    lo = np.searchsorted(starts_ms, spans.start_ms[mine])
    hi = np.searchsorted(starts_ms, spans.end_ms[mine])
    steps = np.zeros(starts_ms.size + 1, dtype=np.int64)
    np.add.at(steps, lo, spans.sign[mine])
    np.add.at(steps, hi, -spans.sign[mine])
    return np.cumsum(steps[:-1])


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def intraday_view(queue: LiveQueue, plan: PlanStore, skill: str, day: date, now: datetime,
                        targets: Targets) -> dict[str, Any]:
    fc = await plan.forecast_day(day, skill)
    if fc is None:
        raise NotFound(f"no forecast published for queue {skill!r} on {day}", field="queue")
    starts = np.array(fc.start_ms, dtype=np.int64)
    order = np.argsort(starts)
    starts = starts[order]
    volume = np.array(fc.volume, dtype=np.float64)[order]
    aht = np.array([np.nan if a is None else a for a in fc.aht_s], dtype=np.float64)[order]
    aht = np.where(np.isfinite(aht) & (aht > 0), aht, np.nanmean(aht) if np.isfinite(aht).any() else DEFAULT_HANDLE_S)
    period_ms = int(np.median(np.diff(starts))) if starts.size > 1 else 900_000
    period_s = period_ms / 1000

    await plan.catch_up_actuals()
    actual = np.array(await plan.actual_counts(skill, starts.tolist(), period_ms), dtype=np.float64)
    now_ms = _ms(now)
    elapsed = int(np.searchsorted(starts + period_ms, now_ms, side="right"))
    refc = reforecast_rest_of_day(volume, actual[:elapsed])
    rate = refc / period_s
    required = required_agents(rate, aht, target_sl=targets.service_level, answer_within_s=targets.answer_within_s)

    agents = await plan.agent_board()
    skills_of = {h["id"]: set(orjson.loads(h.get("skills") or "{}")) for h in agents}
    days = [day - timedelta(days=1), day]
    rosters = await plan.roster_days(days)
    key = ("duty", day, plan.roster_version(day), plan.roster_version(days[0]))
    spans = plan.derived.get(key)
    if spans is None:
        spans = plan.derived[key] = duty_spans([s for r in rosters.values() for own in r.values() for s in own])
    scheduled = scheduled_counts(spans, skill, skills_of, starts)
    available_now = sum(1 for h in agents if h.get("status") == "available" and skill in skills_of[h["id"]])
    current = elapsed if elapsed < starts.size and starts[elapsed] <= now_ms else None

    staffed = scheduled if day in rosters else np.full(starts.size, available_now)
    projected = service_level(staffed, rate, aht, targets.answer_within_s)
    ahead = np.flatnonzero((starts + period_ms > now_ms) & (starts < now_ms + LOOKAHEAD_S * 1000))
    periods = [
        {"period_start": iso_from_ms(int(starts[i])), "forecast": round(float(volume[i]), 3),
         "actual": int(actual[i]) if i < elapsed or i == current else None,
         "reforecast": round(float(refc[i]), 3), "required": int(required[i]), "scheduled": int(scheduled[i]),
         "available": available_now if i == current else None,
         "projected_service_level": round(float(projected[i]), 4)}
        for i in range(starts.size)
    ]
    short = [i for i in ahead if projected[i] < targets.service_level]
    rest = float(volume[elapsed:].sum())
    return {
        "queue": skill, "date": day.isoformat(), "period_minutes": period_ms / 60_000,
        "target": {"service_level": targets.service_level, "answer_within_s": targets.answer_within_s},
        "roster_published": day in rosters,
        "ratio": round(float(refc[elapsed:].sum()) / rest, 4) if rest > 0 else None,
        "periods": periods,
        "next_hour_short": [
            {"period_start": periods[i]["period_start"], "projected_service_level": float(round(projected[i], 4)),
             "required": int(required[i]), "staffed": int(staffed[i]), "shortfall": int(required[i] - staffed[i])}
            for i in short
        ],
    }


async def raise_staffing_alerts(queue: LiveQueue, plan: PlanStore, now: datetime, targets: Targets) -> int:
    """For each queue with a forecast today: alert its supervisor when the next hour misses the target
    (once per queue and current period)."""
    day = plan.local_day(now)
    raised = 0
    supervisors: dict[str, str] | None = None
    for skill in await plan.forecast_queues(day):
        view = await intraday_view(queue, plan, skill, day, now, targets)
        short = view["next_hour_short"]
        if not short:
            continue
        if supervisors is None:
            supervisors = queue_supervisors(await queue.agent_hashes())  # only when alerting
        worst = min(p["projected_service_level"] for p in short)
        detail = ", ".join(f"{p['period_start'][11:16]} short {p['shortfall']}" for p in short)
        message = (f"queue {skill}: next hour projected service level {worst:.0%} below the "
                   f"{targets.service_level:.0%} target; {detail} agents")
        alert = await plan.raise_once(
            f"staffing:{skill}:{short[0]['period_start']}", ttl_ms=ALERT_MEMORY_MS, kind="staffing", level="alert",
            owner=supervisors.get(skill, f"supervisor:{skill}"), message=message, skill=skill,
            event="staffing_alert", data={"queue": skill, "periods": short},
        )
        raised += alert is not None
    return raised
