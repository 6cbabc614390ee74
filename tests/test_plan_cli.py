"""``dispatchwise publish``: the file reaches the real service; a refusal names the file and row."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli.commands.publish import publish_file
from api.cli.main import app
from dispatcher.errors import InvalidInput
from tests import plan_support
from tests.plan_support import BOOT, DAY, put_agent, roster_csv, sup

clock = plan_support.clock
plan_client = plan_support.plan_client


def test_publish_roster_file_through_the_service(plan_client: TestClient, tmp_path: Path) -> None:
    put_agent(plan_client, "ann", {"billing": 3})
    path = tmp_path / "roster.csv"
    path.write_text(roster_csv(("ann", "08:00", "16:00", "12:00-12:30")))
    reply = publish_file("roster", path, url="http://testserver", key=BOOT, transport=plan_client._transport)
    assert reply == {"version": 1, "rows": 1, "from": DAY, "to": DAY}
    assert plan_client.get("/v1/plan/roster", headers=sup()).json()["rows"][0]["agent_id"] == "ann"

    path.write_text(roster_csv(("ann", "08:00", "16:00", ""), ("nobody", "08:00", "16:00", "")))
    with pytest.raises(InvalidInput) as err:
        publish_file("roster", path, url="http://testserver", key=BOOT, transport=plan_client._transport)
    assert err.value.row == 3 and err.value.file == str(path) and "nobody" in err.value.message


def test_publish_command_needs_a_key(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("agent_id,date,start,end\n")
    result = CliRunner().invoke(app, ["publish", "roster", str(path), "--url", "http://127.0.0.1:9"],
                                env={"DISPATCHWISE_KEY": ""})
    assert result.exit_code != 0
    assert "supervisor key" in str(result.exception)
