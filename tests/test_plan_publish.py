"""Publishing the plan through the real service on a real Redis: versions, days in force, schedules,
and all-or-nothing refusal of a bad body (422 naming the row)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests import plan_support
from tests.plan_support import DAY, forecast_csv, new_key, publish, put_agent, roster_csv, sup

clock = plan_support.clock
plan_client = plan_support.plan_client


def _agents(client: TestClient) -> None:
    put_agent(client, "ann", {"billing": 3})
    put_agent(client, "bob", {"billing": 2, "tech": 4})


def test_published_roster_is_readable_as_each_agents_schedule(plan_client: TestClient) -> None:
    _agents(plan_client)
    r = publish(plan_client, "roster", roster_csv(("ann", "08:00", "16:00", "12:00-12:30"),
                                                  ("bob", "10:00", "18:00", "", "tech")))
    assert r.status_code == 200, r.text
    assert r.json() == {"version": 1, "rows": 2, "from": DAY, "to": DAY}

    ann_key = new_key(plan_client, "agent", "ann")
    mine = plan_client.get(f"/v1/agents/ann/schedule?date={DAY}", headers=ann_key)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["version"] == 1
    assert [(s["start"], s["end"]) for s in body["shifts"]] == [(f"{DAY}T08:00:00+00:00", f"{DAY}T16:00:00+00:00")]
    assert body["shifts"][0]["breaks"] == [{"start": f"{DAY}T12:00:00+00:00", "end": f"{DAY}T12:30:00+00:00"}]
    # today (the clock's date) is the default
    assert plan_client.get("/v1/agents/ann/schedule", headers=ann_key).json()["shifts"] == body["shifts"]
    # an agent key may not read another agent's schedule; a supervisor may
    assert plan_client.get(f"/v1/agents/bob/schedule?date={DAY}", headers=ann_key).status_code == 403
    bob = plan_client.get(f"/v1/agents/bob/schedule?date={DAY}", headers=sup()).json()
    assert bob["shifts"][0]["skills"][0]["skill"] == "tech"


def test_newer_publish_replaces_overlapping_days_and_keeps_the_history(plan_client: TestClient) -> None:
    _agents(plan_client)
    two_days = roster_csv(("ann", "08:00", "16:00", "")) + (
        "bob,2027-01-16,2027-01-16T09:00:00+00:00,2027-01-16T17:00:00+00:00,,\n")
    assert publish(plan_client, "roster", two_days).json()["to"] == "2027-01-16"
    assert publish(plan_client, "roster", roster_csv(("bob", "06:00", "14:00", ""))).json()["version"] == 2

    in_force = plan_client.get("/v1/plan/roster", headers=sup()).json()
    assert in_force["days"] == {DAY: 2, "2027-01-16": 1}
    assert [(r["agent_id"], r["date"], r["start"][11:16]) for r in in_force["rows"]] == [
        ("bob", DAY, "06:00"), ("bob", "2027-01-16", "09:00")]
    versions = plan_client.get("/v1/plan/roster/versions", headers=sup()).json()
    assert [(v["version"], v["days_in_force"]) for v in versions] == [(2, [DAY]), (1, ["2027-01-16"])]
    assert versions[0]["actor"] == "supervisor"
    # the publish is in the audit stream
    r = plan_client.get("/v1/events?since=0&max_events=100&timeout_s=1", headers=sup())
    assert r.text.count('"plan_published"') == 2


def test_forecast_publish_reads_back_per_day_and_queue(plan_client: TestClient) -> None:
    _agents(plan_client)
    r = publish(plan_client, "forecast", forecast_csv("billing", [1, 2, 3]))
    assert r.status_code == 200, r.text
    assert r.json() == {"version": 1, "rows": 3, "from": DAY, "to": DAY}
    rows = plan_client.get(f"/v1/plan/forecast?from={DAY}&to={DAY}", headers=sup()).json()["rows"]
    assert [(x["queue"], x["period_start"][11:16], x["volume"]) for x in rows] == [
        ("billing", "00:00", 1.0), ("billing", "00:15", 2.0), ("billing", "00:30", 3.0)]


def test_bad_roster_row_publishes_nothing_and_names_the_row(plan_client: TestClient) -> None:
    _agents(plan_client)
    assert publish(plan_client, "roster", roster_csv(("ann", "08:00", "16:00", ""))).status_code == 200
    before = plan_client.get("/v1/plan/roster", headers=sup()).json()
    cases = {
        "unknown agent": (roster_csv(("bob", "08:00", "12:00", ""), ("zed", "08:00", "16:00", "")), 3, "agent_id"),
        "overlap": (roster_csv(("bob", "08:00", "12:00", ""), ("bob", "11:00", "15:00", "")), 3, "start"),
        "skill not held": (roster_csv(("ann", "08:00", "12:00", "", "tech")), 2, "skills"),
        "bad time": (roster_csv(("bob", "08:00", "12:00", "")).replace("T12:00:00", "T1x:00:00"), 2, "end"),
        "break outside": (roster_csv(("bob", "08:00", "12:00", "13:00-13:30")), 2, "breaks"),
    }
    for name, (text, row, column) in cases.items():
        r = publish(plan_client, "roster", text)
        assert r.status_code == 422, (name, r.text)
        assert (r.json()["row"], r.json()["field"]) == (row, column), (name, r.json())
    assert plan_client.get("/v1/plan/roster", headers=sup()).json() == before
    assert len(plan_client.get("/v1/plan/roster/versions", headers=sup()).json()) == 1


def test_forecast_for_a_skill_no_agent_holds_is_refused(plan_client: TestClient) -> None:
    _agents(plan_client)
    text = forecast_csv("billing", [1, 2]) + forecast_csv("sales", [4]).split("\n", 1)[1]
    r = publish(plan_client, "forecast", text)
    assert r.status_code == 422
    assert (r.json()["row"], r.json()["field"]) == (4, "queue") and "sales" in r.json()["message"]
    bad = publish(plan_client, "forecast", forecast_csv("billing", [1]).replace(",1,", ",-1,"))
    assert bad.status_code == 422 and bad.json()["field"] == "volume"
    assert plan_client.get("/v1/plan/forecast", headers=sup()).json()["rows"] == []


def test_publishing_needs_the_supervisor_role(plan_client: TestClient) -> None:
    _agents(plan_client)
    key = new_key(plan_client, "integration")
    r = plan_client.put("/v1/plan/roster", content=roster_csv(("ann", "08:00", "16:00", "")).encode(), headers=key)
    assert r.status_code == 403
