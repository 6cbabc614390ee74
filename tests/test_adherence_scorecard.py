"""Adherence % per agent feeds the scorecard's adherence and occupancy from live data: the floor samples
the adherence board against the published roster (clock injected), no --agent-time table needed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.live.adherence import MAX_SAMPLE_GAP_S, record_adherence_time
from api.store.plan import PlanStore
from tests import plan_support
from tests.plan_support import Clock, at, publish, put_agent, roster_csv, set_clock, sup
from tests.test_api import create_task

clock = plan_support.clock
plan_client = plan_support.plan_client


def _sample(client: TestClient, moment: datetime, clock: Clock) -> int:
    set_clock(clock, moment)
    queue = client.app.state.queue  # type: ignore[attr-defined]
    portal = client.portal
    assert portal is not None
    return int(portal.call(lambda: record_adherence_time(queue, PlanStore(queue), moment)))


def _cards(client: TestClient, **params: str) -> dict[str, dict[str, float | None]]:
    r = client.get("/v1/scorecards", params={"level": "agent", **params}, headers=sup())
    assert r.status_code == 200, r.text
    return {c["key"]: c["metrics"] for c in r.json()["cards"]}


def test_adherence_and_occupancy_come_from_live_adherence(plan_client: TestClient, clock: Clock) -> None:
    set_clock(clock, at("07:50"))
    put_agent(plan_client, "ann", {"billing": 3})
    put_agent(plan_client, "bob", {"billing": 3}, status="offline")
    assert publish(plan_client, "roster", roster_csv(("ann", "08:00", "12:00", ""),
                                                     ("bob", "08:00", "12:00", ""))).status_code == 200
    assert _sample(plan_client, at("08:00"), clock) == 0  # the first sample only starts the count
    task = create_task(plan_client, "t1")
    offer = plan_client.post("/v1/agents/ann/next", headers=sup()).json()
    assert plan_client.post(f"/v1/offers/{offer['offer_id']}/accept", headers=sup()).status_code == 200
    assert _sample(plan_client, at("08:00") + timedelta(seconds=30), clock) == 2  # ann busy, bob offline
    set_clock(clock, at("08:01"))
    assert plan_client.post(f"/v1/tasks/{task['id']}/complete", headers=sup(), json={}).status_code == 200
    _sample(plan_client, at("08:01"), clock)
    _sample(plan_client, at("08:03"), clock)  # a 2-minute gap credits only MAX_SAMPLE_GAP_S
    cards = _cards(plan_client, **{"from": at("07:00").isoformat()})
    scheduled = 30 + 30 + MAX_SAMPLE_GAP_S
    assert cards["ann"]["adherence"] == pytest.approx(1.0)
    assert cards["ann"]["occupancy"] == pytest.approx(60 / scheduled)  # 60 s handling over 120 s working
    assert cards["bob"]["adherence"] == pytest.approx(0.0)
    assert cards["bob"]["occupancy"] is None  # never worked: no denominator, not 0 %


def test_samples_outside_scheduled_work_and_other_days_do_not_count(plan_client: TestClient, clock: Clock) -> None:
    set_clock(clock, at("07:50"))
    put_agent(plan_client, "ann", {"billing": 3})
    assert publish(plan_client, "roster", roster_csv(("ann", "08:00", "12:00", "10:00-10:30"))).status_code == 200
    _sample(plan_client, at("10:05"), clock)
    _sample(plan_client, at("10:05") + timedelta(seconds=20), clock)  # on break: scheduled work is 0
    assert "ann" not in _cards(plan_client) or _cards(plan_client)["ann"]["adherence"] is None
    _sample(plan_client, at("10:40"), clock)
    _sample(plan_client, at("10:40") + timedelta(seconds=20), clock)  # available during work: in adherence
    assert _cards(plan_client)["ann"]["adherence"] == pytest.approx(1.0)
    # a window on another day sees none of it
    other = _cards(plan_client, **{"from": at("00:00", "2027-01-16").isoformat(),
                                   "to": at("23:00", "2027-01-16").isoformat()})
    assert "ann" not in other or other["ann"]["adherence"] is None


def test_without_a_published_roster_nothing_is_sampled(plan_client: TestClient, clock: Clock) -> None:
    put_agent(plan_client, "ann", {"billing": 3})
    assert _sample(plan_client, at("08:00"), clock) == 0
    assert _sample(plan_client, at("08:00") + timedelta(seconds=30), clock) == 0
    assert all(m["adherence"] is None for m in _cards(plan_client).values())


@given(rows=st.lists(st.tuples(st.sampled_from(["work", "break", "off"]), st.booleans()), max_size=30),
       dt=st.floats(min_value=0.0, max_value=60.0))
def test_one_sample_credits_working_time_only_within_scheduled_work(rows: list[tuple[str, bool]], dt: float) -> None:
    from api.live.adherence import AgentAdherence, adherence_seconds
    from dispatcher.adherence import Adherence

    board = [AgentAdherence(f"a{i}", "", Adherence(state, "available" if ok else "offline", ok, None))  # type: ignore[arg-type]
             for i, (state, ok) in enumerate(rows)]
    credit = adherence_seconds(board, dt)
    assert set(credit) == {f"a{i}" for i, (state, _) in enumerate(rows) if state == "work"}
    for agent_id, (scheduled, working) in credit.items():
        assert scheduled == dt and working in (0.0, dt)
        assert (working == dt) == rows[int(agent_id[1:])][1] or dt == 0.0
