"""Tasks for one replication: a non-homogeneous Poisson process per queue, with handle times and patience.

Arrivals come from one unit-rate Poisson stream per queue mapped through the inverse cumulative
intensity, and every attribute of the k-th task of a queue comes from its own stream. Scenarios that
scale volume or handle times therefore see the *same* random numbers (common random numbers), which
makes their differences far less noisy than independent runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from dispatcher.errors import InvalidInput
from dispatcher.simulation.model import BoolArray, Demand, FloatArray, IntArray, SimulationConfig

CHUNK = 4096


@dataclass(frozen=True, slots=True)
class Tasks:
    """All tasks of one replication, sorted by arrival."""

    arrival_s: FloatArray
    queue: IntArray
    urgent: BoolArray
    important: BoolArray
    handle_s: FloatArray
    """Handle time at proficiency 3 (the engine scales it by the agent's proficiency)."""
    patience_s: FloatArray

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def quadrant_rank(self) -> IntArray:
        """0 = Q1 (urgent+important), 1 = Q2, 2 = Q3, 3 = Q4."""
        rank: IntArray = np.where(self.urgent, np.where(self.important, 0, 2), np.where(self.important, 1, 3))
        return rank.astype(np.int64)


def unit_poisson_epochs(rng: np.random.Generator, upto: float) -> FloatArray:
    """Epochs of a unit-rate Poisson process on [0, upto), drawn in fixed chunks so prefixes agree."""
    parts = []
    last = 0.0
    while last < upto:
        chunk = last + np.cumsum(rng.exponential(1.0, CHUNK))
        parts.append(chunk)
        last = float(chunk[-1])
    epochs = np.concatenate(parts) if parts else np.empty(0)
    return epochs[epochs < upto]


def queue_streams(seed: int, replication: int, queue: int) -> list[np.random.Generator]:
    base = np.random.SeedSequence([seed, replication, queue])
    return [np.random.default_rng(s) for s in base.spawn(5)]


def generate_tasks(
    demand: Demand,
    cfg: SimulationConfig,
    *,
    seed: int,
    replication: int,
    volume_multiplier: float | np.ndarray = 1.0,
    aht_multiplier: float = 1.0,
) -> Tasks:
    """Draw one replication's tasks. ``volume_multiplier`` may be one number or one per queue."""
    n_queues = len(demand.queues)
    vol_mult = np.broadcast_to(np.asarray(volume_multiplier, dtype=np.float64), (n_queues,))
    if np.any(vol_mult < 0) or aht_multiplier <= 0:
        raise InvalidInput("volume multiplier must be >= 0 and AHT multiplier > 0", field="volume")
    if cfg.volume_uncertainty and demand.volume_rel_sd is not None:
        vol_mult = vol_mult * forecast_error_multipliers(demand, seed=seed, replication=replication)
    n_periods = demand.volume.shape[0]
    edges = np.arange(n_periods + 1) * demand.period_s
    columns: list[tuple[np.ndarray, ...]] = []
    sigma = cfg.handle_sigma
    for q in range(n_queues):
        arrivals_rng, handle_rng, patience_rng, urgent_rng, important_rng = queue_streams(seed, replication, q)
        cumulative = np.concatenate([[0.0], np.cumsum(demand.volume[:, q])]) * vol_mult[q]
        epochs = unit_poisson_epochs(arrivals_rng, float(cumulative[-1]))
        n = len(epochs)
        # inverse of the piecewise-linear cumulative intensity; zero-volume periods get no arrivals
        period = np.clip(np.searchsorted(cumulative, epochs, side="right") - 1, 0, n_periods - 1)
        span = cumulative[period + 1] - cumulative[period]
        frac = np.where(span > 0, (epochs - cumulative[period]) / np.where(span > 0, span, 1.0), 0.0)
        arrival = edges[period] + frac * demand.period_s
        mean_handle = demand.aht_s[period, q] * aht_multiplier
        if cfg.handle_distribution == "exponential":
            base = draw_chunked(handle_rng, n, lambda r, k: r.exponential(1.0, k))
        else:
            base = draw_chunked(handle_rng, n, lambda r, k: r.lognormal(-sigma * sigma / 2, sigma, k))
        patience = cfg.mean_patience_s * draw_chunked(patience_rng, n, lambda r, k: r.exponential(1.0, k))
        urgent = draw_chunked(urgent_rng, n, lambda r, k: r.random(k)) < cfg.urgent_share
        important = draw_chunked(important_rng, n, lambda r, k: r.random(k)) < cfg.important_share
        columns.append((arrival, np.full(n, q), urgent, important, base * mean_handle, patience))
    arrival = np.concatenate([c[0] for c in columns])
    order = np.argsort(arrival, kind="stable")
    return Tasks(
        arrival_s=arrival[order],
        queue=np.concatenate([c[1] for c in columns]).astype(np.int64)[order],
        urgent=np.concatenate([c[2] for c in columns]).astype(np.bool_)[order],
        important=np.concatenate([c[3] for c in columns]).astype(np.bool_)[order],
        handle_s=np.concatenate([c[4] for c in columns]).astype(np.float64)[order],
        patience_s=np.concatenate([c[5] for c in columns]).astype(np.float64)[order],
    )


def forecast_error_multipliers(demand: Demand, *, seed: int, replication: int) -> FloatArray:
    """One lognormal volume factor (mean 1) per queue for this replication: how wrong the forecast is.
    Its spread is the volume-weighted relative uncertainty of the forecast; the stream does not depend
    on the scenario, so every scenario of a replication faces the same forecast error."""
    assert demand.volume_rel_sd is not None
    weights = demand.volume.sum(axis=0)
    rel_sd = (demand.volume_rel_sd * demand.volume).sum(axis=0) / np.maximum(weights, 1e-12)
    sigma = np.sqrt(np.log1p(rel_sd**2))
    z = np.random.default_rng([seed, replication, 424_242]).standard_normal(len(weights))
    out: FloatArray = np.exp(sigma * z - sigma**2 / 2)
    return out


def draw_chunked(
    rng: np.random.Generator, n: int, draw: Callable[[np.random.Generator, int], npt.ArrayLike]
) -> FloatArray:
    """The first n values of a stream drawn CHUNK at a time, so task k gets the same value for any n."""
    chunks = -(-n // CHUNK)
    values = [np.asarray(draw(rng, CHUNK), dtype=np.float64) for _ in range(chunks)]
    out: FloatArray = np.concatenate(values)[:n] if values else np.empty(0)
    return out


@dataclass(frozen=True, slots=True)
class History:
    """Recorded contacts to replay (seconds from the simulation start), sorted by arrival."""

    arrival_s: FloatArray
    queue: IntArray
    handle_s: FloatArray
    """Recorded handle time; NaN where unknown (an abandoned contact was never handled)."""
    urgent: BoolArray
    important: BoolArray

    def __post_init__(self) -> None:
        n = len(self.arrival_s)
        if not all(len(a) == n for a in (self.queue, self.handle_s, self.urgent, self.important)):
            raise InvalidInput("history arrays differ in length", field="history")
        if n and np.any(np.diff(self.arrival_s) < 0):
            raise InvalidInput("history must be sorted by arrival", field="created_at")


def fit_lognormal_sigma(handle_s: FloatArray, queue: IntArray) -> float:
    """Shape of a lognormal handle-time model fitted to history: pooled std of log times around
    each queue's own mean log time (queues differ in scale, not much in shape)."""
    ok = np.isfinite(handle_s) & (handle_s > 0)
    if np.count_nonzero(ok) < 2:
        raise InvalidInput("need at least two recorded handle times to fit a lognormal", field="handle_time_s")
    logs, groups = np.log(handle_s[ok]), queue[ok]
    means = np.bincount(groups, weights=logs) / np.maximum(np.bincount(groups), 1)
    resid = logs - means[groups]
    return float(np.sqrt((resid**2).sum() / max(len(resid) - len(np.unique(groups)), 1)))


def replay_tasks(
    history: History,
    demand: Demand,
    cfg: SimulationConfig,
    *,
    seed: int,
    replication: int,
    volume_multiplier: float = 1.0,
    aht_multiplier: float = 1.0,
) -> Tasks:
    """The recorded contacts as tasks. Unknown handle times are drawn around the period's AHT; patience
    is drawn. Volume ≠ 1 thins contacts (× < 1) or adds jittered copies of randomly chosen ones (× > 1)."""
    if volume_multiplier < 0 or aht_multiplier <= 0:
        raise InvalidInput("volume multiplier must be >= 0 and AHT multiplier > 0", field="volume")
    n = len(history.arrival_s)
    keep_rng, extra_rng, jitter_rng, patience_rng, handle_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, replication, 1_000_003]).spawn(5)
    )
    index = np.arange(n)
    if volume_multiplier <= 1.0:
        chosen = index[keep_rng.random(n) < volume_multiplier]
        jitter = np.zeros(len(chosen))
    else:
        whole, part = divmod(volume_multiplier - 1.0, 1.0)
        copies = int(whole) + (extra_rng.random(n) < part)
        extra = np.repeat(index, copies)
        chosen = np.concatenate([index, extra])
        jitter = np.concatenate([np.zeros(n), jitter_rng.uniform(-0.5, 0.5, len(extra)) * demand.period_s])
    arrival = np.clip(history.arrival_s[chosen] + jitter, 0.0, demand.horizon_s)
    queue = history.queue[chosen]
    period = np.clip((arrival // demand.period_s).astype(np.int64), 0, demand.volume.shape[0] - 1)
    sigma = cfg.handle_sigma
    drawn = demand.aht_s[period, queue] * draw_chunked(
        handle_rng, len(chosen), lambda r, k: r.lognormal(-sigma * sigma / 2, sigma, k)
    )
    recorded = history.handle_s[chosen]
    handle = np.where(np.isfinite(recorded) & (recorded > 0), recorded, drawn) * aht_multiplier
    patience = cfg.mean_patience_s * draw_chunked(patience_rng, len(chosen), lambda r, k: r.exponential(1.0, k))
    order = np.argsort(arrival, kind="stable")
    return Tasks(
        arrival_s=arrival[order],
        queue=queue[order].astype(np.int64),
        urgent=history.urgent[chosen][order],
        important=history.important[chosen][order],
        handle_s=handle[order].astype(np.float64),
        patience_s=patience[order],
    )


def demand_from_history(
    history: History, queues: tuple[str, ...], start: datetime, period_s: float, periods: int
) -> Demand:
    """Observed volume and mean recorded handle time per period: the Demand a replay stands for."""
    period = np.clip((history.arrival_s // period_s).astype(np.int64), 0, periods - 1)
    shape = (periods, len(queues))
    volume = np.zeros(shape)
    np.add.at(volume, (period, history.queue), 1.0)
    known = np.isfinite(history.handle_s) & (history.handle_s > 0)
    total = np.zeros(shape)
    count = np.zeros(shape)
    np.add.at(total, (period[known], history.queue[known]), history.handle_s[known])
    np.add.at(count, (period[known], history.queue[known]), 1.0)
    queue_mean = total.sum(axis=0) / np.maximum(count.sum(axis=0), 1.0)
    queue_mean = np.where(queue_mean > 0, queue_mean, 300.0)
    aht = np.where(count > 0, total / np.maximum(count, 1.0), queue_mean[None, :])
    return Demand(queues, start, period_s, volume, aht)
