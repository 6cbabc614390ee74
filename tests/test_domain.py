from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from dispatcher.domain import (
    Agent,
    BreakRule,
    Contract,
    Interval,
    Quadrant,
    Roster,
    Shift,
    ShiftTemplate,
    Site,
    SlaPolicy,
    SlaTarget,
    Task,
)
from dispatcher.errors import InvalidInput

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_task(**overrides: object) -> Task:
    fields: dict[str, object] = dict(id="t1", skill="billing", urgent=True, important=True, created_at=NOW)
    fields.update(overrides)
    return Task(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("urgent", "important", "quadrant", "action"),
    [(True, True, Quadrant.Q1, "do now"), (False, True, Quadrant.Q2, "schedule"),
     (True, False, Quadrant.Q3, "delegate"), (False, False, Quadrant.Q4, "defer")],
)
def test_task_quadrant_follows_the_urgent_important_matrix(
    urgent: bool, important: bool, quadrant: Quadrant, action: str
) -> None:
    task = make_task(urgent=urgent, important=important)
    assert task.quadrant is quadrant
    assert task.quadrant.action == action
    assert (task.quadrant.urgent, task.quadrant.important) == (urgent, important)


def test_quadrant_rank_orders_q1_first() -> None:
    assert sorted(Quadrant, key=lambda q: q.rank) == [Quadrant.Q1, Quadrant.Q2, Quadrant.Q3, Quadrant.Q4]


def test_naive_timestamp_is_rejected_naming_the_field() -> None:
    with pytest.raises(InvalidInput, match="created_at"):
        make_task(created_at=datetime(2026, 3, 2, 9, 0))


def test_due_before_created_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="due_at"):
        make_task(due_at=NOW - timedelta(minutes=1))


@pytest.mark.parametrize("level", [0, 6, -1])
def test_proficiency_outside_one_to_five_is_rejected(level: int) -> None:
    with pytest.raises(InvalidInput, match="proficiency"):
        Agent(id="a1", name="A", skills={"billing": level})


def test_primary_skill_must_be_held() -> None:
    with pytest.raises(InvalidInput, match="primary"):
        Agent(id="a1", name="A", skills={"billing": 3}, primary_skills=frozenset({"tech"}))


def test_agent_separates_primary_and_auxiliary_skills() -> None:
    agent = Agent(id="a1", name="A", skills={"billing": 4, "tech": 2}, primary_skills=frozenset({"billing"}))
    assert agent.is_primary("billing") and not agent.is_primary("tech")
    assert agent.auxiliary_skills == frozenset({"tech"})
    assert agent.proficiency("sales") == 0
    assert agent.capacity == 1


def test_agent_skills_cannot_be_mutated_after_construction() -> None:
    skills = {"billing": 4}
    agent = Agent(id="a1", name="A", skills=skills)
    skills["tech"] = 1
    assert "tech" not in agent.skills
    with pytest.raises(TypeError):
        agent.skills["tech"] = 2  # type: ignore[index]


def test_contract_rejects_min_hours_above_max() -> None:
    with pytest.raises(InvalidInput, match="max_hours_week"):
        Contract(max_hours_week=20, min_hours_week=30)


def test_default_sla_is_ten_minutes_urgent_thirty_otherwise_with_alert_fifteen_past() -> None:
    policy = SlaPolicy()
    urgent = make_task(urgent=True, important=False)
    normal = make_task(urgent=False, important=True)
    assert policy.response_due(urgent) - NOW == timedelta(minutes=10)
    assert policy.response_due(normal) - NOW == timedelta(minutes=30)
    assert policy.alert_at(urgent) - NOW == timedelta(minutes=25)


def test_task_due_time_earlier_than_policy_wins() -> None:
    task = make_task(urgent=False, important=False, due_at=NOW + timedelta(minutes=5))
    assert SlaPolicy().response_due(task) == NOW + timedelta(minutes=5)


def test_sla_policy_is_configurable_per_quadrant() -> None:
    targets = {q: SlaTarget(response_s=60 * (q.rank + 1), resolution_s=3600) for q in Quadrant}
    policy = SlaPolicy(targets=targets, alert_after_s=60, escalate_after_s=120)
    assert policy.response_due(make_task(urgent=False, important=False)) - NOW == timedelta(minutes=4)


def test_sla_policy_missing_a_quadrant_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="Q4"):
        SlaPolicy(targets={Quadrant.Q1: SlaTarget(60, 60)})


def test_shift_longer_than_a_day_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="24 h"):
        Shift(agent_id="a1", start=NOW, end=NOW + timedelta(hours=25))
    with pytest.raises(InvalidInput, match="length"):
        ShiftTemplate("long", time(8), timedelta(hours=25))


def test_break_outside_the_template_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="break"):
        ShiftTemplate("short", time(8), timedelta(hours=4), (BreakRule(30, 200, 230),))


def test_shift_knows_duty_time_and_next_interruption() -> None:
    brk = Interval(NOW + timedelta(hours=2), NOW + timedelta(hours=2, minutes=30))
    shift = Shift(agent_id="a1", start=NOW, end=NOW + timedelta(hours=8), breaks=(brk,))
    assert shift.on_duty(NOW + timedelta(hours=1))
    assert not shift.on_duty(NOW + timedelta(hours=2, minutes=10))
    assert shift.next_interruption(NOW + timedelta(hours=1)) == brk.start
    assert shift.next_interruption(NOW + timedelta(hours=3)) == shift.end
    assert shift.working_hours == pytest.approx(7.5)
    roster = Roster(week_start=NOW.date(), shifts=(shift,))
    assert [s.agent_id for s in roster.on_duty(NOW + timedelta(hours=1))] == ["a1"]
    assert roster.on_duty(NOW + timedelta(hours=2, minutes=5)) == []


def test_template_paid_hours_exclude_unpaid_breaks() -> None:
    template = ShiftTemplate("F", time(8), timedelta(hours=8, minutes=30),
                             (BreakRule(30, 180, 300), BreakRule(15, 90, 150, paid=True)))
    assert template.paid_hours == pytest.approx(8.0)


def test_site_rejects_unknown_timezone_and_localizes_naive_times() -> None:
    with pytest.raises(InvalidInput, match="timezone"):
        Site(timezone="Mars/Olympus")
    site = Site(timezone="America/New_York")
    local = site.localize(datetime(2026, 7, 1, 9, 0))
    assert local.utcoffset() == timedelta(hours=-4)
