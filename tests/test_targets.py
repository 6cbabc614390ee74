"""Targets: achievement rate, trend and projection, measurement from the event log, overdue actions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.errors import InvalidInput
from dispatcher.scorecard import event_log_from_frame
from dispatcher.targets import (
    MAX_ACHIEVEMENT,
    Action,
    ImprovementPlan,
    Measurement,
    Target,
    measure,
    overdue_actions,
    status_frame,
    target_status,
    trend_of,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)
DEADLINE = datetime(2026, 3, 2, tzinfo=UTC)


def sla_target(**kw: object) -> Target:
    args: dict[str, object] = {"id": "billing-sl", "kpi": "sla", "level": "queue", "scope": "billing",
                               "value": 0.8, "owner": "team lead B", "deadline": DEADLINE, "start": T0}
    args.update(kw)
    return Target(**args)  # type: ignore[arg-type]


def weekly(values: list[float]) -> list[Measurement]:
    return [Measurement(T0 + timedelta(weeks=i), T0 + timedelta(weeks=i + 1), v, 100) for i, v in enumerate(values)]


def test_achievement_rate_is_actual_over_target_or_inverse_when_lower_is_better() -> None:
    assert sla_target().achievement(0.6) == pytest.approx(0.75)
    asa = sla_target(kpi="asa_s", value=60.0)
    assert asa.achievement(120.0) == pytest.approx(0.5)
    assert asa.achievement(0.0) == MAX_ACHIEVEMENT
    assert asa.met_by(60.0) and not asa.met_by(61.0)
    assert math.isnan(sla_target().achievement(math.nan))


def test_improving_series_projects_to_the_deadline() -> None:
    status = target_status(sla_target(baseline=0.6), weekly([0.60, 0.65, 0.70]), now=T0 + timedelta(weeks=3))
    assert status.trend == "improving" and status.slope_per_day == pytest.approx(0.05 / 7)
    # last mid-point is day 17.5; deadline is day 56: 0.70 + 38.5 * 0.05/7 = 0.975
    assert status.projected_at_deadline == pytest.approx(0.975)
    assert status.on_track and not status.met and not status.overdue
    assert status.achievement_rate == pytest.approx(0.70 / 0.8)
    assert status.progress == pytest.approx(0.5)


def test_worsening_abandonment_is_off_track_and_overdue_after_deadline() -> None:
    target = sla_target(kpi="abandonment", value=0.05)
    status = target_status(target, weekly([0.06, 0.07, 0.08]), now=DEADLINE + timedelta(days=1))
    assert status.trend == "worsening" and not status.on_track and status.overdue


def test_flat_and_unknown_trends() -> None:
    assert trend_of(weekly([0.8, 0.8, 0.8]), sla_target())[1] == "flat"
    assert trend_of(weekly([0.8]), sla_target())[1] == "unknown"
    empty = target_status(sla_target(), [], now=T0)
    assert math.isnan(empty.actual) and not empty.met and not empty.on_track


@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12))
def test_trend_direction_agrees_with_the_sign_of_the_fitted_slope(values: list[float]) -> None:
    slope, trend = trend_of(weekly(values), sla_target())
    if trend == "improving":
        assert slope > 0
    elif trend == "worsening":
        assert slope < 0


def test_target_rejects_bad_fields_by_name() -> None:
    with pytest.raises(InvalidInput) as err:
        sla_target(kpi="happiness")
    assert err.value.field == "kpi"
    with pytest.raises(InvalidInput) as err:
        sla_target(owner=" ")
    assert err.value.field == "owner"
    with pytest.raises(InvalidInput) as err:
        sla_target(deadline=datetime(2026, 3, 1))
    assert err.value.field == "deadline"
    with pytest.raises(InvalidInput) as err:
        sla_target(value=-1)
    assert err.value.field == "value"


def test_measure_reads_the_kpi_per_week_from_the_event_log() -> None:
    rows = []
    # week 1: 1 of 2 billing tasks answered in time; week 2: 2 of 2
    for i, (day, wait_min) in enumerate([(0, 5), (1, 45), (7, 1), (8, 2)]):
        created = T0 + timedelta(days=day, hours=10)
        rows += [(f"t{i}", "created", created.isoformat(), "billing", "Q2", "", ""),
                 (f"t{i}", "accepted", (created + timedelta(minutes=wait_min)).isoformat(), "", "", "a1", ""),
                 (f"t{i}", "completed", (created + timedelta(minutes=wait_min + 5)).isoformat(), "", "", "a1", "60")]
    log = event_log_from_frame(pd.DataFrame(rows, columns=["task_id", "event", "at", "queue", "quadrant",
                                                           "agent_id", "handle_s"]))
    history = measure(log, sla_target(), until=T0 + timedelta(weeks=2))
    assert [(m.value, m.sample) for m in history] == [(0.5, 2), (1.0, 2)]
    status = target_status(sla_target(), history, now=T0 + timedelta(weeks=2))
    assert status.met and status.trend == "improving"
    frame = status_frame([status])
    assert frame.loc[0, "owner"] == "team lead B" and bool(frame.loc[0, "met"])


def plan() -> ImprovementPlan:
    return ImprovementPlan("p1", "billing-sl", "Lift billing SL", "team lead B", (
        Action("a1", "coach new hires on refunds", "coach C", T0 + timedelta(days=7)),
        Action("a2", "add a noon shift", "planner D", T0 + timedelta(days=14)),
        Action("a3", "fix the IVR menu", "it E", T0 + timedelta(days=3), done_at=T0 + timedelta(days=2)),
    ))


def test_overdue_open_actions_alert_their_owners_most_overdue_first() -> None:
    alerts = overdue_actions([plan()], now=T0 + timedelta(days=20))
    assert [(a.action_id, a.owner) for a in alerts] == [("a1", "coach C"), ("a2", "planner D")]
    assert alerts[0].overdue_s == 13 * 86400 and alerts[0].plan_owner == "team lead B"
    assert overdue_actions([plan()], now=T0 + timedelta(days=5)) == []


def test_marking_an_action_done_clears_its_alert_and_raises_completion() -> None:
    done = plan().mark_done("a1", T0 + timedelta(days=8))
    assert done.completion == pytest.approx(2 / 3) and plan().completion == pytest.approx(1 / 3)
    assert [a.action_id for a in overdue_actions([done], now=T0 + timedelta(days=20))] == ["a2"]
    with pytest.raises(InvalidInput, match="no action"):
        plan().mark_done("zz", T0)


def test_plan_rejects_duplicate_action_ids() -> None:
    action = Action("a1", "x", "o", T0)
    with pytest.raises(InvalidInput, match="unique"):
        ImprovementPlan("p", "t", "title", "owner", (action, action))
