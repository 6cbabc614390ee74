"""Single-skill FCFS queue with c agents and abandonment, by the Kiefer-Wolfowitz recursion.

Under first-come-first-served, the wait of customer n is the time until the earliest of the c
agent release times (a heap), so no event list is needed: one heap operation per customer.
A customer whose wait would exceed their patience abandons and leaves the agents untouched.
This is exact for M/M/c (Erlang C) and M/M/c+M (Erlang A) and is the validation model.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dispatcher.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SingleSkillRun:
    """Per-customer outcome of one run; ``wait_s`` is time in queue (until service or abandonment)."""

    arrival_s: FloatArray
    wait_s: FloatArray
    abandoned: BoolArray

    @property
    def events(self) -> int:
        """Arrivals plus departures/abandonments: two events per customer."""
        return 2 * len(self.arrival_s)


@dataclass(frozen=True, slots=True)
class QueueKpis:
    offered: int
    service_level: float
    """Share of offered customers answered within the threshold (abandoned count as misses)."""
    asa_s: float
    """Average speed of answer over answered customers."""
    abandon_rate: float
    mean_wait_all_s: float
    """Mean time in queue over all offered customers, abandoned included (Little's law quantity)."""


def fcfs_waits(
    arrival_s: FloatArray, handle_s: FloatArray, patience_s: FloatArray, agents: int
) -> tuple[FloatArray, BoolArray]:
    """Waits and abandonment flags of an FCFS queue with ``agents`` identical agents, empty at t=0."""
    if agents < 1:
        raise InvalidInput(f"agents must be >= 1, got {agents}", field="agents")
    n = len(arrival_s)
    if len(handle_s) != n or len(patience_s) != n:
        raise InvalidInput("arrival, handle and patience arrays differ in length", field="handle_s")
    if n and np.any(np.diff(arrival_s) < 0):
        raise InvalidInput("arrival times must be sorted", field="arrival_s")
    free = [0.0] * agents
    waits = [0.0] * n
    abandoned = [False] * n
    heapreplace = heapq.heapreplace
    for i, (arrive, handle, patience) in enumerate(
        zip(arrival_s.tolist(), handle_s.tolist(), patience_s.tolist(), strict=True)
    ):
        earliest = free[0]
        if earliest <= arrive:
            heapreplace(free, arrive + handle)
            continue
        wait = earliest - arrive
        if wait > patience:
            waits[i] = patience
            abandoned[i] = True
        else:
            waits[i] = wait
            heapreplace(free, earliest + handle)
    return np.asarray(waits, dtype=np.float64), np.asarray(abandoned, dtype=np.bool_)


def simulate_mmc(
    *,
    rate_per_s: float,
    mean_handle_s: float,
    agents: int,
    horizon_s: float,
    mean_patience_s: float = float("inf"),
    rng: np.random.Generator,
) -> SingleSkillRun:
    """Poisson arrivals, exponential handle times and patience (M/M/c or M/M/c+M) over a horizon."""
    if rate_per_s <= 0 or mean_handle_s <= 0 or horizon_s <= 0 or not mean_patience_s > 0:
        raise InvalidInput("rate, mean handle, horizon and patience must be positive", field="rate_per_s")
    expected = rate_per_s * horizon_s
    count = int(rng.poisson(expected))
    arrival = np.sort(rng.uniform(0.0, horizon_s, size=count))
    handle = rng.exponential(mean_handle_s, size=count)
    if np.isinf(mean_patience_s):
        patience = np.full(count, np.inf)
    else:
        patience = rng.exponential(mean_patience_s, size=count)
    waits, abandoned = fcfs_waits(arrival, handle, patience, agents)
    return SingleSkillRun(arrival_s=arrival, wait_s=waits, abandoned=abandoned)


def queue_kpis(run: SingleSkillRun, *, answer_within_s: float, warmup_s: float = 0.0) -> QueueKpis:
    """KPIs over customers arriving after the warm-up (steady-state estimate)."""
    keep = run.arrival_s >= warmup_s
    waits = run.wait_s[keep]
    abandoned = run.abandoned[keep]
    offered = int(keep.sum())
    if offered == 0:
        return QueueKpis(0, float("nan"), float("nan"), float("nan"), float("nan"))
    answered = ~abandoned
    answered_waits = waits[answered]
    return QueueKpis(
        offered=offered,
        service_level=float(np.count_nonzero(answered_waits <= answer_within_s) / offered),
        asa_s=float(answered_waits.mean()) if answered_waits.size else float("nan"),
        abandon_rate=float(abandoned.mean()),
        mean_wait_all_s=float(waits.mean()),
    )


def fcfs_waits_replicated(
    arrival_s: FloatArray, handle_s: FloatArray, patience_s: FloatArray, agents: int
) -> tuple[FloatArray, BoolArray]:
    """The same recursion for R replications at once: (R, n) arrays, one numpy step per customer index.

    Rows may be padded with ``inf`` arrivals (they neither wait nor occupy an agent). Pays off when
    R × agents is large enough to amortise numpy's per-call overhead.
    """
    if agents < 1:
        raise InvalidInput(f"agents must be >= 1, got {agents}", field="agents")
    if arrival_s.ndim != 2 or handle_s.shape != arrival_s.shape or patience_s.shape != arrival_s.shape:
        raise InvalidInput("arrival, handle and patience must be (replications, customers) arrays", field="arrival_s")
    reps, n = arrival_s.shape
    # customer-major, contiguous rows; padding becomes a far-future arrival that is served at once
    arrive_t = np.ascontiguousarray(np.where(np.isfinite(arrival_s), arrival_s, 1e300).T)
    handle_t = np.ascontiguousarray(handle_s.T)
    patience_t = np.ascontiguousarray(patience_s.T)
    free = np.zeros((reps, agents))
    rows = np.arange(reps)
    waits = np.empty((n, reps))
    abandoned = np.empty((n, reps), dtype=np.bool_)
    for i in range(n):
        arrive = arrive_t[i]
        slot = free.argmin(axis=1)
        earliest = free[rows, slot]
        wait = np.maximum(earliest - arrive, 0.0)
        leaves = wait > patience_t[i]
        np.minimum(wait, patience_t[i], out=waits[i])
        abandoned[i] = leaves
        free[rows, slot] = np.where(leaves, earliest, arrive + wait + handle_t[i])
    return waits.T.copy(), abandoned.T.copy()
