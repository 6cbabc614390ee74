"""What-if simulation endpoints: ``POST /simulations`` starts a run in the background, ``GET
/simulations/{id}`` reports progress and, when done, KPI means with 95% CIs per scenario.

Inputs are the CLI's files sent as text (forecast, roster and agents CSV) plus the scenario file's
structure as JSON. Runs live in process memory (the last ``KEEP_RUNS``), one study at a time, each
using the replication process pool. Mounted under /v1 with supervisor auth by the app factory.
"""

from __future__ import annotations

import math
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from dispatcher.errors import InvalidInput, NotFound
from dispatcher.simulation.replicate import Study, compare, run_study

router = APIRouter(tags=["simulations"])

KEEP_RUNS = 50
INPUT_FILES = {"forecast_csv": "forecast.csv", "roster_csv": "roster.csv", "agents_csv": "agents.csv"}


class SimulationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    forecast_csv: str = Field(description="forecast.csv text: queue,period_start,volume,...,aht_s")
    roster_csv: str = Field(description="roster.csv text: agent_id,date,start,end,breaks,skills")
    agents_csv: str = Field(description="agents.csv text")
    scenarios: dict[str, Any] | None = Field(
        default=None, description="the scenario file as JSON: {simulation: {...}, scenarios: [{name, ...}]}"
    )
    replications: int = Field(default=20, ge=1, le=500)
    seed: int = 1
    routing: str | None = Field(default=None, description="optimizer, greedy, round_robin or least_busy")
    workers: int = Field(default=2, ge=1, le=8)


class SimulationStatus(BaseModel):
    id: str
    status: Literal["running", "done", "failed"]
    created_at: datetime
    finished_at: datetime | None = None
    completed: int
    total: int
    scenarios: list[str]
    results: list[dict[str, Any]] | None = None
    error: str | None = None


@dataclass
class SimulationRun:
    id: str
    study: Study
    workers: int
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: Literal["running", "done", "failed"] = "running"
    completed: int = 0
    finished_at: datetime | None = None
    results: list[dict[str, Any]] | None = None
    error: str | None = None

    @property
    def total(self) -> int:
        return len(self.study.scenarios) * self.study.replications

    def view(self) -> SimulationStatus:
        return SimulationStatus(
            id=self.id, status=self.status, created_at=self.created_at, finished_at=self.finished_at,
            completed=self.completed, total=self.total, scenarios=[s.name for s in self.study.scenarios],
            results=self.results, error=self.error,
        )


class SimulationRegistry:
    """Runs in memory, executed one at a time on a background thread."""

    def __init__(self, keep: int = KEEP_RUNS) -> None:
        self._runs: dict[str, SimulationRun] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulation")
        self._keep = keep

    def start(self, study: Study, workers: int) -> SimulationRun:
        run = SimulationRun(id=uuid.uuid4().hex[:12], study=study, workers=workers)
        with self._lock:
            self._runs[run.id] = run
            while len(self._runs) > self._keep:
                oldest = next((k for k, v in self._runs.items() if v.status != "running"), None)
                if oldest is None:
                    break
                del self._runs[oldest]
        self._executor.submit(self._execute, run)
        return run

    def get(self, run_id: str) -> SimulationRun:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            raise NotFound(f"no simulation {run_id!r}", field="simulation_id")
        return run

    @staticmethod
    def _execute(run: SimulationRun) -> None:
        def progress(done: int, _total: int) -> None:
            run.completed = done

        try:
            per_scenario = run_study(run.study, workers=run.workers, progress=progress)
            table = compare(per_scenario, run.study.scenarios[0].name)
            run.results = [
                {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in table.to_dict(orient="records")
            ]
            run.status = "done"
        except Exception as exc:  # a failed run reports why instead of vanishing
            run.error = f"{type(exc).__name__}: {exc}"
            run.status = "failed"
        finally:
            run.finished_at = datetime.now(UTC)


REGISTRY = SimulationRegistry()


def study_from_request(body: SimulationRequest) -> Study:
    """Validate the request by loading it exactly as the CLI loads files; errors name the body field."""
    from api.formats.simulation import load_study

    with tempfile.TemporaryDirectory(prefix="dw-sim-") as tmp:
        paths = {key: Path(tmp) / name for key, name in INPUT_FILES.items()}
        for key, path in paths.items():
            path.write_text(getattr(body, key), encoding="utf-8")
        try:
            return load_study(
                forecast=paths["forecast_csv"], roster=paths["roster_csv"], agents=paths["agents_csv"],
                scenarios=body.scenarios, replications=body.replications, seed=body.seed, routing=body.routing,
            )
        except InvalidInput as exc:
            by_path = {str(path): key for key, path in paths.items()}
            source = by_path.get(exc.file or "", exc.file)
            raise InvalidInput(exc.message, file=source, row=exc.row, field=exc.field, rule=exc.rule) from exc


@router.post("/simulations", status_code=202, response_model=SimulationStatus)
def start_simulation(body: SimulationRequest) -> SimulationStatus:
    """Check the inputs now (422 naming field, row and value), then simulate in the background."""
    study = study_from_request(body)
    return REGISTRY.start(study, body.workers).view()


@router.get("/simulations/{simulation_id}", response_model=SimulationStatus)
def get_simulation(simulation_id: str) -> SimulationStatus:
    return REGISTRY.get(simulation_id).view()
