"""SLA stages as a pure function of time: monotone, and the next trigger always lies ahead."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.live.sla import stage_at
from dispatcher.domain import SlaPolicy

policies = st.builds(
    lambda warn, alert, extra: SlaPolicy(warn_before_s=warn, alert_after_s=alert, escalate_after_s=alert + extra),
    st.integers(0, 3600), st.integers(0, 3600), st.integers(0, 3600),
)


@given(policies, st.integers(0, 10**7), st.integers(-10**7, 10**7), st.integers(0, 10**7))
def test_stage_never_goes_down_as_time_passes_and_next_trigger_is_later(
    policy: SlaPolicy, deadline: int, now: int, later_by: int
) -> None:
    first = stage_at(now, deadline, policy)
    second = stage_at(now + later_by, deadline, policy)
    assert first.stage <= second.stage
    if first.next_trigger_ms is None:
        assert first.stage == 3
    else:
        assert first.next_trigger_ms > now
        assert stage_at(first.next_trigger_ms, deadline, policy).stage > first.stage


def test_default_policy_stages_for_an_urgent_task_due_at_ten_minutes() -> None:
    policy = SlaPolicy()
    due = 600_000
    assert stage_at(due - 300_001, due, policy).stage == 0
    assert stage_at(due - 300_000, due, policy).stage == 1  # warn 5 min before
    assert stage_at(due + 900_000, due, policy).stage == 2  # alert 15 min past
    assert stage_at(due + 1_800_000, due, policy).stage == 3  # escalate 30 min past
