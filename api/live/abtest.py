"""The running A/B experiment's report from the audit trail: each task counts for the arm that made
its first offer under the experiment (recorded on the ``offered`` event), from the experiment's start."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from api.live.audit_log import audit_events_to_frame
from dispatcher.abtest import AbReport, Arm, Experiment, ab_report, power_analysis
from dispatcher.domain import SlaPolicy
from dispatcher.scorecard import event_log_from_frame

ARM_KPIS = {"sla": "service_level", "asa_s": "asa_s", "abandonment": "abandonment", "fcr": "fcr",
            "satisfaction": "satisfaction"}


def first_offer_arms(events: Iterable[Mapping[str, Any]], experiment: str) -> dict[str, str]:
    """Task id -> the arm of its first offer made under ``experiment``."""
    arms: dict[str, str] = {}
    for e in events:
        data = e.get("data")
        if e.get("event") == "offered" and isinstance(data, dict) and data.get("experiment") == experiment:
            arms.setdefault(str(e.get("task_id")), str(data.get("arm", "")))
    return arms


def experiment_report(events: Sequence[Mapping[str, Any]], experiment: Experiment, sla: SlaPolicy) -> dict[str, Any]:
    """Per arm n and KPIs, B − A with 95% intervals, and what the sample can detect."""
    arms = first_offer_arms(events, experiment.name)
    frame = audit_events_to_frame(events)
    created = frame["event"] == "created"
    frame.loc[created, "policy"] = [arms.get(str(t), "") for t in frame.loc[created, "task_id"]]
    kept = frame["task_id"].isin(arms.keys())
    start = datetime.fromtimestamp(experiment.started_ms / 1000, tz=UTC)
    body: dict[str, Any] = {"experiment": experiment.to_dict(), "tasks": len(arms)}
    if not arms or set(arms.values()) != {"A", "B"}:
        body.update(arms={}, differences=[], sample_ratio_p=None,
                    note="no offers in both arms yet" if arms else "no offers under this experiment yet")
        return body
    log = event_log_from_frame(frame.loc[kept].reset_index(drop=True), sla_policy=sla, drop_orphans=True)
    report = ab_report(log, start=start, share_b=experiment.share_b, policies=("A", "B"))
    body.update(arms=_arms(report, experiment), differences=_differences(report), sample_ratio_p=_num(
        report.sample_ratio_p))
    return body


def _arms(report: AbReport, experiment: Experiment) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    both: tuple[Arm, Arm] = ("A", "B")
    for index, arm in enumerate(both):
        values: dict[str, Any] = {"policy": experiment.policy(arm).name, "n": report.tasks[index]}
        for diff in report.kpis:
            if diff.kpi in ARM_KPIS:
                values[ARM_KPIS[diff.kpi]] = _num(diff.a if arm == "A" else diff.b)
        out[arm] = values
    return out


def _differences(report: AbReport) -> list[dict[str, Any]]:
    rows = []
    for diff in report.kpis:
        if diff.kpi not in ARM_KPIS:
            continue
        power = power_analysis(diff)
        rows.append({"kpi": ARM_KPIS[diff.kpi], "b_minus_a": _num(diff.difference), "ci95_low": _num(diff.ci_low),
                     "ci95_high": _num(diff.ci_high), "significant": diff.significant,
                     "detectable_difference": _num(power.detectable), "tasks_needed": _num(power.tasks_needed)})
    return rows


def _num(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 6)
