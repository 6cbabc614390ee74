"""Replications of every scenario with common random numbers, in parallel processes, with 95% CIs.

Replication r of every scenario uses the same seeds, so differences to the baseline are paired and
their confidence intervals are much tighter than the scenarios' own.
"""

from __future__ import annotations

import copyreg
import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from dispatcher.errors import InvalidInput
from dispatcher.simulation.arrivals import History, Tasks, generate_tasks, replay_tasks
from dispatcher.simulation.engine import simulate
from dispatcher.simulation.kpis import summarize
from dispatcher.simulation.model import Demand, FloatArray, SimulationConfig, Staffing
from dispatcher.simulation.scenarios import Scenario

if TYPE_CHECKING:  # pandas and scipy load lazily: replication workers start faster without them
    import pandas as pd


def _mapping_proxy(items: dict[object, object]) -> MappingProxyType[object, object]:
    return MappingProxyType(items)


def _reduce_mapping_proxy(proxy: MappingProxyType[object, object]) -> tuple[object, tuple[dict[object, object]]]:
    return _mapping_proxy, (dict(proxy),)


# Domain objects freeze their mappings in MappingProxyType; let them travel to worker processes.
copyreg.pickle(MappingProxyType, _reduce_mapping_proxy)  # type: ignore[arg-type]

SERIAL_BELOW_TASKS = 150_000
"""Below this many simulated tasks in total, process start-up costs more than it saves."""

RESULT_COLUMNS = [
    "scenario", "kpi", "mean", "ci95_lo", "ci95_hi", "diff_vs_baseline", "diff_ci95_lo", "diff_ci95_hi",
    "replications",
]


@dataclass(frozen=True, slots=True)
class Study:
    demand: Demand
    staffing: Staffing
    config: SimulationConfig
    scenarios: tuple[Scenario, ...]
    replications: int = 20
    seed: int = 1
    history: History | None = None
    """Replay these recorded contacts instead of drawing arrivals from the demand."""

    def __post_init__(self) -> None:
        if not self.scenarios:
            raise InvalidInput("a study needs at least one scenario", field="scenarios")
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            raise InvalidInput(f"scenario names must be unique, got {names}", field="name")
        if self.replications < 1:
            raise InvalidInput(f"replications must be >= 1, got {self.replications}", field="replications")


def run_replication(study: Study, scenario_index: int, replication: int) -> dict[str, float]:
    """KPIs of one replication of one scenario (a pure function of the study, so it runs anywhere)."""
    scenario = study.scenarios[scenario_index]
    cfg = scenario.config(study.config)
    staff_rng = np.random.default_rng([study.seed, replication, 7_919])
    staffing = scenario.staffing(study.staffing, staff_rng)
    tasks = draw_tasks(study, scenario, cfg, replication)
    log = simulate(tasks, staffing, cfg, queues=study.demand.queues, horizon_s=study.demand.horizon_s,
                   expected_handle_s=expected_handle(study.demand, tasks, scenario.aht_multiplier))
    kpis = summarize(log, answer_within_s=cfg.answer_within_s, sla=cfg.sla)
    kpis["events"] = float(log.events)
    return kpis


def draw_tasks(study: Study, scenario: Scenario, cfg: SimulationConfig, replication: int) -> Tasks:
    """Replication ``replication``'s tasks: the same random numbers in every scenario and experiment."""
    if study.history is not None:
        return replay_tasks(
            study.history, study.demand, cfg, seed=study.seed, replication=replication,
            volume_multiplier=scenario.volume_multiplier, aht_multiplier=scenario.aht_multiplier,
        )
    return generate_tasks(
        study.demand, cfg, seed=study.seed, replication=replication,
        volume_multiplier=scenario.volume_multiplier, aht_multiplier=scenario.aht_multiplier,
    )


def expected_handle(demand: Demand, tasks: Tasks, aht_multiplier: float = 1.0) -> FloatArray:
    """What the policy's shift guard knows of each task in advance: its queue's forecast AHT then."""
    period = np.clip((tasks.arrival_s // demand.period_s).astype(np.int64), 0, demand.volume.shape[0] - 1)
    expected: FloatArray = demand.aht_s[period, tasks.queue] * aht_multiplier
    return expected


def _job(args: tuple[Study, int, int]) -> tuple[int, int, dict[str, float]]:
    study, s, r = args
    return s, r, run_replication(study, s, r)


def run_study(
    study: Study,
    *,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    min_parallel_tasks: float = SERIAL_BELOW_TASKS,
) -> dict[str, list[dict[str, float]]]:
    """KPIs per scenario name and replication. Runs in ``workers`` processes unless the study is tiny
    (fewer than ``min_parallel_tasks`` expected tasks over all runs). Workers are spawned (safe from a
    threaded server), so a calling script needs the ``if __name__ == "__main__":`` guard."""
    jobs = [(s, r) for r in range(study.replications) for s in range(len(study.scenarios))]
    results: dict[tuple[int, int], dict[str, float]] = {}
    total_tasks = float(study.demand.volume.sum()) * len(jobs)
    done = 0
    if workers <= 1 or len(jobs) < 2 or total_tasks < min_parallel_tasks:
        for s, r in jobs:
            results[(s, r)] = run_replication(study, s, r)
            done += 1
            if progress is not None:
                progress(done, len(jobs))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_job, (study, s, r)) for s, r in jobs]
            for future in as_completed(futures):
                s, r, kpis = future.result()
                results[(s, r)] = kpis
                done += 1
                if progress is not None:
                    progress(done, len(jobs))
    return {
        scenario.name: [results[(s, r)] for r in range(study.replications)]
        for s, scenario in enumerate(study.scenarios)
    }


def mean_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95% Student-t confidence interval (NaN values are left out)."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return math.nan, math.nan, math.nan
    from scipy import stats

    mean = float(arr.mean())
    if arr.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, arr.size - 1)) * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return mean, mean - half, mean + half


def compare(per_scenario: dict[str, list[dict[str, float]]], baseline: str) -> pd.DataFrame:
    """One row per scenario and KPI: mean, 95% CI, and the paired difference to the baseline with its CI."""
    import pandas as pd

    if baseline not in per_scenario:
        raise InvalidInput(f"baseline scenario {baseline!r} not among {sorted(per_scenario)}", field="baseline")
    base_runs = per_scenario[baseline]
    rows = []
    for name, runs in per_scenario.items():
        for kpi in runs[0]:
            values = [run.get(kpi, math.nan) for run in runs]
            mean, lo, hi = mean_ci(values)
            diffs = [v - b.get(kpi, math.nan) for v, b in zip(values, base_runs, strict=True)]
            d_mean, d_lo, d_hi = mean_ci(diffs)
            rows.append([name, kpi, mean, lo, hi, d_mean, d_lo, d_hi, len(runs)])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
