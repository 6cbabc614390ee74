"""POST /simulations runs in the background; GET /simulations/{id} reports progress and results."""

from __future__ import annotations

import time
from datetime import date

import pandas as pd
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from api.formats.agents import write_agents
from api.formats.roster import write_roster
from api.service.routes.simulations import router
from dispatcher.datagen import GeneratorConfig, default_templates, generate
from dispatcher.errors import DispatchwiseError
from dispatcher.simulation.rosters import cyclic_roster


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()

    async def problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DispatchwiseError)
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    app.add_exception_handler(DispatchwiseError, problem)
    app.include_router(router, prefix="/v1")
    return TestClient(app)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("simapi")
    data = generate(GeneratorConfig(days=7, horizon_days=7, agents=30, seed=5))
    truth = data.truth.copy()
    truth["period_start"] = truth["period_start"].map(lambda t: t.isoformat())
    truth.to_csv(out / "truth.csv", index=False)
    write_agents(out / "agents.csv", data.agents)
    full = [t for t in default_templates() if t.name.startswith("F")]
    write_roster(out / "roster.csv", cyclic_roster(data.agents, full, date(2026, 1, 13), "America/New_York"))
    return {
        "forecast_csv": (out / "truth.csv").read_text(),
        "roster_csv": (out / "roster.csv").read_text(),
        "agents_csv": (out / "agents.csv").read_text(),
    }


def test_simulation_runs_in_the_background_and_reports_results(client: TestClient, inputs: dict[str, str]) -> None:
    body = {**inputs, "replications": 3, "routing": "greedy", "workers": 1,
            "scenarios": {"scenarios": [{"name": "two sick", "random_absentees": 2}]}}
    started = client.post("/v1/simulations", json=body)
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["total"] == 6 and run["scenarios"] == ["baseline", "two sick"]
    deadline = time.monotonic() + 120
    while run["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        run = client.get(f"/v1/simulations/{run['id']}").json()
    assert run["status"] == "done", run
    assert run["completed"] == 6
    table = pd.DataFrame(run["results"]).set_index(["scenario", "kpi"])
    assert table.loc[("two sick", "occupancy"), "diff_vs_baseline"] > 0, "fewer people, busier people"
    assert table.loc[("baseline", "service_level"), "replications"] == 3


def test_bad_roster_is_rejected_at_once_naming_the_body_field_and_row(
    client: TestClient, inputs: dict[str, str]
) -> None:
    roster = inputs["roster_csv"].replace("a003,", "nobody,", 1)
    response = client.post("/v1/simulations", json={**inputs, "roster_csv": roster})
    assert response.status_code == 422
    problem = response.json()
    assert problem["file"] == "roster_csv" and problem["row"] == 4 and "nobody" in problem["message"]


def test_unknown_scenario_key_and_unknown_body_field_are_422(client: TestClient, inputs: dict[str, str]) -> None:
    bad = client.post("/v1/simulations", json={**inputs, "scenarios": {"scenarios": [{"name": "x", "vol": 2}]}})
    assert bad.status_code == 422
    assert bad.json()["field"] == "scenarios[0].vol" and bad.json()["file"] == "scenarios"
    assert client.post("/v1/simulations", json={**inputs, "replicates": 3}).status_code == 422


def test_unknown_simulation_is_404(client: TestClient) -> None:
    assert client.get("/v1/simulations/nope").status_code == 404


def test_routes_are_relative_so_the_app_can_mount_them() -> None:
    assert {r.path for r in router.routes} == {"/simulations", "/simulations/{simulation_id}"}  # type: ignore[attr-defined]
