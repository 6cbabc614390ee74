"""Dispatch follows the published roster: the shift and break guard works live, and offers say so."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests import plan_support
from tests.plan_support import dispatch_round, offered_event, publish, put_agent, roster_csv, sup
from tests.test_api import create_task

clock = plan_support.clock
plan_client = plan_support.plan_client


def test_agent_ten_minutes_before_shift_end_is_not_offered_a_30_minute_task(plan_client: TestClient) -> None:
    # ann is the better match (proficiency 5 against 1), but her shift ends at 08:10 (the clock reads 08:00)
    put_agent(plan_client, "ann", {"billing": 5})
    put_agent(plan_client, "bob", {"billing": 1})
    assert publish(plan_client, "roster", roster_csv(("ann", "00:10", "08:10", ""),
                                                     ("bob", "07:00", "15:00", "10:00-10:15"))).status_code == 200
    task = create_task(plan_client, "ZD-1", expected_handle_s=1800)
    assert dispatch_round(plan_client).offered == 1
    offered = offered_event(plan_client, task["id"])
    assert offered["agent_id"] == "bob"
    shift = offered["data"]["shift"]
    assert shift["end"] == "2027-01-15T15:00:00+00:00" and shift["next_break"] == "2027-01-15T10:00:00+00:00"
    assert shift["seconds_to_interruption"] == 7200.0
    # a 5-minute task still fits in ann's last 10 minutes, and she scores higher
    short = create_task(plan_client, "ZD-2", expected_handle_s=300)
    assert dispatch_round(plan_client).offered == 1
    assert offered_event(plan_client, short["id"])["agent_id"] == "ann"


def test_without_a_published_roster_dispatch_is_unchanged(plan_client: TestClient) -> None:
    put_agent(plan_client, "ann", {"billing": 5})
    put_agent(plan_client, "bob", {"billing": 1})
    task = create_task(plan_client, "ZD-1", expected_handle_s=1800)
    assert dispatch_round(plan_client).offered == 1
    offered = offered_event(plan_client, task["id"])
    assert offered["agent_id"] == "ann" and "shift" not in offered["data"]


def test_agent_on_a_scheduled_break_gets_no_offer(plan_client: TestClient) -> None:
    put_agent(plan_client, "ann", {"billing": 5})
    assert publish(plan_client, "roster", roster_csv(("ann", "06:00", "14:00", "07:50-08:05"))).status_code == 200
    task = create_task(plan_client, "ZD-1", expected_handle_s=60)
    assert dispatch_round(plan_client).offered == 0
    assert plan_client.get(f"/v1/tasks/{task['id']}", headers=sup()).json()["status"] == "queued"
