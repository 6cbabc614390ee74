"""Real-time adherence: the pure verdicts by hand, and the service's board and alerts on a real Redis
with the clock driven by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.live.adherence import raise_adherence_alerts
from api.live.floor import MIN_TICK_S, Floor
from api.store.plan import PlanStore
from dispatcher.adherence import adherence, live_status, scheduled_state
from dispatcher.domain import Interval, Shift
from tests import plan_support
from tests.plan_support import Clock, at, publish, put_agent, roster_csv, set_clock, sup

clock = plan_support.clock
plan_client = plan_support.plan_client

SHIFT = Shift("ann", at("08:00"), at("16:00"), (Interval(at("12:00"), at("12:30")),))


def test_scheduled_state_follows_shift_and_break_by_hand() -> None:
    assert scheduled_state([SHIFT], at("07:59")).state == "off"
    assert scheduled_state([SHIFT], at("08:00")).state == "work"
    brk = scheduled_state([SHIFT], at("12:10"))
    assert (brk.state, brk.since) == ("break", at("12:00"))
    back = scheduled_state([SHIFT], at("13:00"))
    assert (back.state, back.since) == ("work", at("12:30"))
    gone = scheduled_state([SHIFT], at("17:00"))
    assert (gone.state, gone.since) == ("off", at("16:00"))


def test_working_through_a_break_is_out_of_adherence_from_the_break_start() -> None:
    verdict = adherence(scheduled_state([SHIFT], at("12:10")), "available", at("09:00"))
    assert not verdict.in_adherence and verdict.out_since == at("12:00")
    late_back = adherence(scheduled_state([SHIFT], at("12:40")), "break", at("12:00"))
    assert not late_back.in_adherence and late_back.out_since == at("12:30")
    assert adherence(scheduled_state([SHIFT], at("12:40")), "busy", at("12:00")).in_adherence


@given(st.integers(min_value=0, max_value=24 * 60 - 1), st.sampled_from(["available", "busy", "break", "offline"]),
       st.integers(min_value=0, max_value=24 * 60 - 1))
def test_out_since_is_never_after_now_nor_before_either_change(minute: int, status: str, since_min: int) -> None:
    now = at("00:00") + timedelta(minutes=minute)
    since = min(now, at("00:00") + timedelta(minutes=since_min))
    state = scheduled_state([SHIFT], now)
    verdict = adherence(state, live_status(status, 0) if status != "busy" else "busy", since)
    assert verdict.in_adherence == ((status in ("available", "busy")) == (state.state == "work"))
    if not verdict.in_adherence:
        assert verdict.out_since is not None and since <= verdict.out_since <= now
        assert state.since is None or state.since <= verdict.out_since


def test_holding_tasks_counts_as_busy_and_unavailable_as_offline() -> None:
    assert live_status("break", 1) == "busy"
    assert live_status("unavailable", 0) == "offline"


def _alerts(client: TestClient) -> list[dict[str, object]]:
    return [a for a in client.get("/v1/alerts", headers=sup()).json() if a["kind"] == "adherence"]


def _raise(client: TestClient, clock: Clock) -> int:
    queue = client.app.state.queue  # type: ignore[attr-defined]
    plan = PlanStore(queue)
    now = datetime.fromtimestamp(clock.now, UTC)
    portal = client.portal
    assert portal is not None
    return int(portal.call(lambda: raise_adherence_alerts(queue, plan, now, threshold_s=300)))


def test_offline_agent_during_scheduled_work_is_alerted_to_its_supervisor_after_the_threshold(
        plan_client: TestClient, clock: Clock) -> None:
    put_agent(plan_client, "ann", {"billing": 3}, status="offline", supervisor="sue")  # offline since 08:00
    put_agent(plan_client, "bob", {"billing": 3}, status="available", supervisor="sue")
    assert publish(plan_client, "roster", roster_csv(("ann", "07:00", "15:00", ""),
                                                     ("bob", "07:00", "15:00", ""))).status_code == 200
    board = {r["agent_id"]: r for r in plan_client.get("/v1/adherence", headers=sup()).json()}
    assert board["ann"] == {"agent_id": "ann", "scheduled": "work", "status": "offline", "in_adherence": False,
                            "out_since": "2027-01-15T08:00:00Z"}
    assert board["bob"]["in_adherence"] and board["bob"]["out_since"] is None

    set_clock(clock, at("08:04") + timedelta(seconds=59))
    assert _raise(plan_client, clock) == 0 and _alerts(plan_client) == []
    set_clock(clock, at("08:05"))
    assert _raise(plan_client, clock) == 1
    (alert,) = _alerts(plan_client)
    assert alert["owner"] == "sue" and alert["agent_id"] == "ann"
    assert "out of adherence for 5 min" in str(alert["message"])
    # once per spell: later ticks do not repeat it
    set_clock(clock, at("08:20"))
    assert _raise(plan_client, clock) == 0 and len(_alerts(plan_client)) == 1
    events = plan_client.get("/v1/events?since=0&max_events=50&timeout_s=1", headers=sup()).text
    assert "event: alert" in events and '"adherence_alert"' in events


def test_no_roster_no_adherence_and_no_alerts(plan_client: TestClient, clock: Clock) -> None:
    put_agent(plan_client, "ann", {"billing": 3}, status="offline", supervisor="sue")
    assert plan_client.get("/v1/adherence", headers=sup()).json() == []
    set_clock(clock, at("09:00"))
    assert _raise(plan_client, clock) == 0


def test_floor_rhythm_runs_on_the_service_clock_so_a_fast_replay_still_alerts(
        plan_client: TestClient, clock: Clock) -> None:
    """A replay's clock runs 300x: its 15-min late spell lasts 3 wall seconds. The floor's 5-s rhythm is
    on the service's clock, so a tick 5 simulated minutes on (a few wall ms later) raises the alert."""
    put_agent(plan_client, "ann", {"billing": 3}, status="offline", supervisor="sue")  # offline since 08:00
    assert publish(plan_client, "roster", roster_csv(("ann", "07:00", "15:00", ""))).status_code == 200
    floor = Floor(plan_client.app.state.queue, clock_speed=300.0)  # type: ignore[attr-defined]
    portal = plan_client.portal
    assert portal is not None

    def tick(moment: datetime) -> int:
        return int(portal.call(lambda: floor.tick(moment)))

    assert tick(at("08:00")) == 0
    assert tick(at("08:05")) == 1 and [a["agent_id"] for a in _alerts(plan_client)] == ["ann"]
    # the 300 s between the two samples are one tick gap of the fast clock, credited whole (not capped at 60 s)
    credited = portal.call(lambda: floor.plan.adherence_time(None, None))
    assert credited["ann"] == (300.0, 0.0)
    # within the 5-s rhythm of the service clock nothing is checked again; past it, the spell is not repeated
    assert floor._last_adherence == at("08:05")
    tick(at("08:05") + timedelta(seconds=4))
    assert floor._last_adherence == at("08:05")
    tick(at("08:05") + timedelta(seconds=5))
    assert floor._last_adherence == at("08:05") + timedelta(seconds=5)
    assert len(_alerts(plan_client)) == 1
    # and the loop wakes often enough that 5 simulated seconds are never more than a second of wall time
    assert floor.tick_every_s == MIN_TICK_S and Floor(plan_client.app.state.queue).tick_every_s == 1.0  # type: ignore[attr-defined]
