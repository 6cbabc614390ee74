"""The pull path of /next follows the published roster as batch dispatch does: no new offer during a
scheduled break, no task whose expected handling runs past the next break or shift end, and the 204 or
the offer's explanation says why. The clock reads 2027-01-15 08:00 UTC unless a test moves it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import plan_support
from tests.plan_support import Clock, at, dispatch_round, offered_event, publish, put_agent, roster_csv, set_clock, sup
from tests.test_api import create_task

clock = plan_support.clock
plan_client = plan_support.plan_client

NO_OFFER = "Dispatchwise-No-Offer"
PULL_RULE = "earliest response due among the agent skills; important tasks only to primary owners"


def _next(client: TestClient, agent_id: str = "ann", wait: float = 0.0) -> Any:
    return client.post(f"/v1/agents/{agent_id}/next", params={"wait": wait}, headers=sup())


def _status(client: TestClient, task_id: str) -> str:
    return str(client.get(f"/v1/tasks/{task_id}", headers=sup()).json()["status"])


def _roster(client: TestClient, *shifts: tuple[str, str, str, str]) -> None:
    assert publish(client, "roster", roster_csv(*shifts)).status_code == 200


def test_agent_on_a_scheduled_break_is_pulled_no_task_and_told_why(plan_client: TestClient, clock: Clock) -> None:
    put_agent(plan_client, "ann", {"billing": 5})
    _roster(plan_client, ("ann", "06:00", "14:00", "07:50-08:05"))
    task = create_task(plan_client, "ZD-1", expected_handle_s=60)
    refused = _next(plan_client)
    assert refused.status_code == 204 and refused.headers[NO_OFFER] == "schedule"
    waited = _next(plan_client, wait=0.3)  # the long-poll says the same when its wait runs out
    assert waited.status_code == 204 and waited.headers[NO_OFFER] == "schedule"
    assert _status(plan_client, task["id"]) == "queued"

    set_clock(clock, at("08:05"))  # the break is over
    pulled = _next(plan_client)
    assert pulled.status_code == 200 and pulled.json()["task"]["id"] == task["id"]
    offered = offered_event(plan_client, task["id"])
    assert offered["actor"] == "pull" and offered["agent_id"] == "ann"
    shift = offered["data"]["shift"]
    assert shift["end"] == "2027-01-15T14:00:00+00:00" and shift["next_break"] is None
    assert shift["seconds_to_interruption"] == 21300.0
    assert shift["guard"] == "expected handling 60 s fits in 21300 s before the next break or shift end"


def test_agent_near_its_shift_end_is_pulled_the_task_that_fits_not_the_longer_one_due_first(
    plan_client: TestClient, clock: Clock,
) -> None:
    put_agent(plan_client, "ann", {"billing": 5})
    _roster(plan_client, ("ann", "00:10", "08:10", ""))  # 10 minutes left
    long = create_task(plan_client, "ZD-1", expected_handle_s=1800)
    refused = _next(plan_client)
    assert refused.status_code == 204 and refused.headers[NO_OFFER] == "guard"

    clock.advance(60)
    short = create_task(plan_client, "ZD-2", expected_handle_s=300)
    pulled = _next(plan_client)
    assert pulled.status_code == 200 and pulled.json()["task"]["id"] == short["id"]
    assert _status(plan_client, long["id"]) == "queued"
    why = offered_event(plan_client, short["id"])["data"]
    assert why["path"] == "pull" and why["rule"].startswith(PULL_RULE)
    assert why["skipped"] == [{"task_id": long["id"], "expected_handle_s": 1800, "reason": "guard"}]
    assert why["shift"]["guard"] == "expected handling 300 s fits in 540 s before the next break or shift end"


@pytest.mark.parametrize("handle_s", [599.0, 600.0, 601.0])
@pytest.mark.parametrize("path", ["pull", "batch"])
def test_pull_and_batch_agree_on_what_fits_before_the_shift_end(plan_client: TestClient, path: str,
                                                                handle_s: float) -> None:
    put_agent(plan_client, "ann", {"billing": 5})
    _roster(plan_client, ("ann", "00:10", "08:10", ""))  # 600 s left
    create_task(plan_client, "ZD-1", expected_handle_s=handle_s)
    offered = _next(plan_client).status_code == 200 if path == "pull" else dispatch_round(plan_client).offered == 1
    assert offered == (handle_s <= 600)


def test_without_a_published_roster_pull_is_unchanged(plan_client: TestClient) -> None:
    put_agent(plan_client, "ann", {"billing": 5})
    empty = _next(plan_client)
    assert empty.status_code == 204 and empty.headers[NO_OFFER] == "empty"
    task = create_task(plan_client, "ZD-1", expected_handle_s=8 * 3600)  # longer than any shift
    assert _next(plan_client).status_code == 200
    why = offered_event(plan_client, task["id"])["data"]
    assert set(why) == {"path", "skill", "due_ms", "primary", "proficiency", "rule"} and why["rule"] == PULL_RULE


def test_agent_off_shift_pulls_as_without_a_roster(plan_client: TestClient) -> None:
    put_agent(plan_client, "ann", {"billing": 5})
    put_agent(plan_client, "bob", {"billing": 5})
    # today has a roster, but ann's shift starts at noon; bob is on his break
    _roster(plan_client, ("ann", "12:00", "20:00", "15:00-15:15"), ("bob", "06:00", "14:00", "07:50-08:05"))
    task = create_task(plan_client, "ZD-1", expected_handle_s=8 * 3600)
    assert _next(plan_client, "bob").headers[NO_OFFER] == "schedule"
    pulled = _next(plan_client, "ann")
    assert pulled.status_code == 200 and pulled.json()["task"]["id"] == task["id"]
    why = offered_event(plan_client, task["id"])["data"]
    assert "shift" not in why and "skipped" not in why and why["rule"] == PULL_RULE


def test_an_offer_made_before_a_break_is_still_served_during_it(plan_client: TestClient, clock: Clock) -> None:
    # hiding it would let it expire as a miss against the agent; the agent may still reject it
    put_agent(plan_client, "ann", {"billing": 5})
    _roster(plan_client, ("ann", "06:00", "14:00", "08:01-08:15"))
    clock.advance(45)
    create_task(plan_client, "ZD-1", expected_handle_s=10)
    first = _next(plan_client)
    assert first.status_code == 200
    clock.advance(20)  # 08:01:05, on the break, the offer not yet expired
    again = _next(plan_client)
    assert again.status_code == 200 and again.json()["offer_id"] == first.json()["offer_id"]
