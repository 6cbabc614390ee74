"""Shared by the plan, adherence and intraday tests: a service on real Redis with a test-driven clock,
and small CSV builders. The clock starts at 2027-01-15 08:00 UTC (the site timezone is UTC)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from api.live.dispatch import Dispatcher
from tests.test_api import BOOT, T0, Clock, new_key, put_agent, service_client, sup

__all__ = [
    "BOOT",
    "DAY",
    "Clock",
    "at",
    "clock",
    "dispatch_round",
    "forecast_csv",
    "new_key",
    "offered_event",
    "plan_client",
    "publish",
    "put_agent",
    "roster_csv",
    "set_clock",
    "sup",
]

DAY = "2027-01-15"


def at(hhmm: str, day: str = DAY) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00+00:00")


def roster_csv(*shifts: tuple[str, str, str, str] | tuple[str, str, str, str, str]) -> str:
    """Rows (agent, start HH:MM, end HH:MM, breaks 'HH:MM-HH:MM;…'[, skills]) on DAY."""
    lines = ["agent_id,date,start,end,breaks,skills"]
    for agent, start, end, breaks, *skills in shifts:
        spans = ";".join(f"{at(a).isoformat()}/{at(b).isoformat()}" for a, b in
                         (part.split("-") for part in breaks.split(";") if part))
        skill = skills[0] if skills else ""
        lines.append(f"{agent},{DAY},{at(start).isoformat()},{at(end).isoformat()},{spans},{skill}")
    return "\n".join(lines) + "\n"


def forecast_csv(queue: str, volumes: list[float], aht_s: float = 300.0, start: str = "00:00",
                 period_min: int = 15) -> str:
    lines = ["queue,period_start,volume,aht_s"]
    t0 = at(start)
    for i, v in enumerate(volumes):
        lines.append(f"{queue},{(t0 + timedelta(minutes=period_min * i)).isoformat()},{v},{aht_s}")
    return "\n".join(lines) + "\n"


def set_clock(clock: Clock, moment: datetime) -> None:
    clock.now = moment.astimezone(UTC).timestamp()


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture()
def plan_client(redis_url: str, redis_client: redis.Redis, clock: Clock, tmp_path: Any) -> Iterator[TestClient]:
    yield from service_client(redis_url, clock, tmp_path)


def publish(client: TestClient, kind: str, text: str) -> Any:
    return client.put(f"/v1/plan/{kind}", content=text.encode(), headers={**sup(), "Content-Type": "text/csv"})


def dispatch_round(client: TestClient) -> Any:
    """One batch dispatch round of the service behind ``client`` (the loop is not running in tests)."""
    queue = client.app.state.queue  # type: ignore[attr-defined]
    return client.portal.call(Dispatcher(queue, owner="test").tick)  # type: ignore[union-attr]


def offered_event(client: TestClient, task_id: str) -> dict[str, Any]:
    """The task's ``offered`` audit event (with the optimizer's explanation)."""
    history = client.get(f"/v1/tasks/{task_id}/history", headers=sup()).json()
    return next(e for e in history if e["event"] == "offered")
