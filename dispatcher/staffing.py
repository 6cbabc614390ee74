"""From forecast demand to required agents per period: live queues (Erlang C or A), chat
concurrency, deferred work with a resolution deadline, shrinkage and rounding.

Pure numpy on top of ``dispatcher.erlang``; callers pass one queue's periods at a time (per-queue
targets differ), each array one value per period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dispatcher.erlang import (
    ArrayLike,
    FloatArray,
    IntArray,
    average_speed_of_answer,
    erlang_a,
    offered_traffic,
    required_agents,
    required_agents_erlang_a,
    service_level,
)
from dispatcher.errors import InvalidInput

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class StaffingTargets:
    """What one queue must achieve, and how agents work it."""

    service_level: float = 0.8
    """Fraction in (0, 1] of contacts answered within ``answer_within_s``."""
    answer_within_s: float = 20.0
    max_occupancy: float = 1.0
    max_asa_s: float | None = None
    patience_s: float | None = None
    """Mean caller patience; when given, requirements come from Erlang A (callers hang up)."""
    max_abandon: float | None = None
    shrinkage: float = 0.0
    """Share of paid time not available for contacts (breaks, meetings, absence), in [0, 1)."""
    concurrency: int = 1
    """Sessions one agent holds at once (chat/messaging); handle time is per session."""
    min_agents_open: int = 0
    """Agents kept on the floor in open periods even when the formulas ask for fewer."""
    max_agents: int | None = None
    """Scheduled agents available; periods needing more are reported in ``StaffingPlan.over_max``."""
    resolution_deadline_s: float | None = None
    """Deferred work (email, tickets): every item resolved within this many open-hours seconds."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.service_level) and 0.0 < self.service_level <= 1.0):
            raise InvalidInput(f"service level must be in (0, 100] %, got {self.service_level * 100:g} %",
                               field="service_level")
        if not (math.isfinite(self.answer_within_s) and self.answer_within_s > 0):
            raise InvalidInput(f"answer time must be > 0 seconds, got {self.answer_within_s!r}",
                               field="answer_within_s")
        if not (math.isfinite(self.max_occupancy) and 0.0 < self.max_occupancy <= 1.0):
            raise InvalidInput(f"max occupancy must be in (0, 1], got {self.max_occupancy!r}", field="max_occupancy")
        for name in ("max_asa_s", "patience_s", "resolution_deadline_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InvalidInput(f"{name} must be > 0 seconds, got {value!r}", field=name)
        if self.max_abandon is not None and not (math.isfinite(self.max_abandon) and 0 < self.max_abandon <= 1):
            raise InvalidInput(f"max abandon rate must be in (0, 1], got {self.max_abandon!r}", field="max_abandon")
        if self.max_abandon is not None and self.patience_s is None:
            raise InvalidInput("a max abandon rate needs a patience (abandonment is modelled by Erlang A)",
                               field="max_abandon")
        if not (math.isfinite(self.shrinkage) and 0.0 <= self.shrinkage < 1.0):
            raise InvalidInput(f"shrinkage must be in [0, 1), got {self.shrinkage!r}", field="shrinkage")
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise InvalidInput(f"concurrency must be an integer >= 1, got {self.concurrency!r}", field="concurrency")
        if self.min_agents_open < 0:
            raise InvalidInput(f"min agents must be >= 0, got {self.min_agents_open!r}", field="min_agents_open")
        if self.max_agents is not None and self.max_agents < 0:
            raise InvalidInput(f"max agents must be >= 0, got {self.max_agents!r}", field="max_agents")


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    """Per-period requirement of one queue and the performance it buys."""

    agents: IntArray
    """Agents needed on the floor (productive), after concurrency and the open-hours minimum."""
    agents_scheduled: IntArray
    """Agents to schedule so that ``agents`` remain after shrinkage: ceil(agents / (1 - shrinkage))."""
    agents_erlang_c: IntArray
    """What Erlang C alone asks for (equal to ``agents`` without patience); shows what abandonment saves."""
    service_level: FloatArray
    asa_s: FloatArray
    occupancy: FloatArray
    abandon_rate: FloatArray
    backlog: FloatArray
    """Deferred work: contacts still open at the end of each period (0 for live queues)."""
    rounding_overstaff: FloatArray
    """Productive agents beyond the need caused by rounding up after shrinkage."""
    over_max: IntArray
    """Indices of periods whose scheduled agents exceed ``max_agents`` (never capped)."""


def scheduled_agents(agents: ArrayLike, shrinkage: float) -> tuple[IntArray, FloatArray]:
    """Agents to schedule so ``agents`` remain after shrinkage, and the over-staffing from rounding."""
    if not (math.isfinite(shrinkage) and 0.0 <= shrinkage < 1.0):
        raise InvalidInput(f"shrinkage must be in [0, 1), got {shrinkage!r}", field="shrinkage")
    need = np.asarray(agents, dtype=np.float64)
    available = 1.0 - shrinkage
    scheduled = np.ceil(need / available - 1e-9)
    return scheduled.astype(np.int64), np.maximum(scheduled * available - need, 0.0)


def _check_volume(volume: ArrayLike, aht_s: ArrayLike, period_s: float) -> tuple[FloatArray, FloatArray]:
    if not (math.isfinite(period_s) and period_s > 0):
        raise InvalidInput(f"period length must be > 0 seconds, got {period_s!r}", field="period_s")
    vol = np.asarray(volume, dtype=np.float64)
    bad = ~np.isfinite(vol) | (vol < 0)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"volume must be a finite number >= 0, got {float(vol[index])!r} at period {index}",
                           field="volume")
    aht = np.broadcast_to(np.asarray(aht_s, dtype=np.float64), vol.shape)
    offered_traffic(vol, aht)  # validates AHT where there is demand
    return vol, np.where(vol > 0, aht, 1.0)


def staff_periods(
    volume: ArrayLike,
    aht_s: ArrayLike,
    period_s: float,
    targets: StaffingTargets,
    *,
    open_mask: ArrayLike | None = None,
) -> StaffingPlan:
    """Required agents per period for one queue: ``volume`` contacts per period of ``period_s`` seconds.

    Open periods (``open_mask``, default: those with volume) get at least ``min_agents_open``.
    """
    vol, aht = _check_volume(volume, aht_s, period_s)
    is_open = vol > 0 if open_mask is None else np.asarray(open_mask, dtype=bool)
    if is_open.shape != vol.shape:
        raise InvalidInput(f"open_mask has {is_open.size} periods, volume has {vol.size}", field="open_mask")
    if targets.resolution_deadline_s is not None:
        return _staff_deferred(vol, aht, period_s, targets, is_open)
    rate = vol / period_s
    k = targets.concurrency
    slots_c = required_agents(rate, aht, target_sl=targets.service_level, answer_within_s=targets.answer_within_s,
                              max_occupancy=targets.max_occupancy, max_asa_s=targets.max_asa_s)
    agents_c = -(-slots_c // k)
    if targets.patience_s is None:
        slots_needed = slots_c
    else:
        slots_needed = required_agents_erlang_a(
            rate, aht, targets.patience_s, target_sl=targets.service_level,
            answer_within_s=targets.answer_within_s, max_occupancy=targets.max_occupancy,
            max_asa_s=targets.max_asa_s, max_abandon=targets.max_abandon)
    agents = np.maximum(-(-slots_needed // k), np.where(is_open, targets.min_agents_open, 0)).astype(np.int64)
    slots = agents * k
    if targets.patience_s is None:
        sl = service_level(slots, rate, aht, targets.answer_within_s)
        asa = average_speed_of_answer(slots, rate, aht)
        abandon = np.zeros(vol.shape)
        occ = _slot_occupancy(rate * aht, slots)
    else:
        metrics = erlang_a(slots, rate, aht, targets.patience_s, targets.answer_within_s)
        sl, asa, abandon, occ = metrics.service_level, metrics.asa_s, metrics.abandon_rate, metrics.occupancy
    return _plan(agents, agents_c, sl, asa, occ, abandon, np.zeros(vol.shape), targets)


def _slot_occupancy(traffic: FloatArray, slots: IntArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        occ = traffic / slots
    return np.where(traffic > 0, np.where(slots > 0, np.minimum(occ, 1.0), 1.0), 0.0)


def _plan(agents: IntArray, agents_c: IntArray, sl: FloatArray, asa: FloatArray, occ: FloatArray,
          abandon: FloatArray, backlog: FloatArray, targets: StaffingTargets) -> StaffingPlan:
    scheduled, overstaff = scheduled_agents(agents, targets.shrinkage)
    over = (np.flatnonzero(scheduled > targets.max_agents) if targets.max_agents is not None
            else np.zeros(0, dtype=np.int64))
    return StaffingPlan(agents=agents, agents_scheduled=scheduled, agents_erlang_c=agents_c,
                        service_level=sl, asa_s=asa, occupancy=occ, abandon_rate=abandon, backlog=backlog,
                        rounding_overstaff=overstaff, over_max=over.astype(np.int64))


# ------------------------------------------------------------------------------------ deferred work


@dataclass(frozen=True, slots=True)
class DeferredResult:
    agents: IntArray
    backlog_work_s: FloatArray
    """Seconds of work still open at the end of each period."""
    done_work_s: FloatArray
    resolution_s: FloatArray
    """From mid-period to the end of the period in which this period's work is all done (FIFO);
    NaN when that is beyond the horizon."""


def deferred_agents(
    work_s: ArrayLike,
    period_s: float,
    deadline_s: float,
    *,
    max_occupancy: float = 1.0,
    open_mask: ArrayLike | None = None,
    min_agents_open: int = 0,
) -> DeferredResult:
    """Agents per period so that work arriving in each period is done within ``deadline_s`` of open time.

    Work is handled first in, first out and the backlog carries across periods. Work due by the end
    of period p + j (j < d, d = deadline in whole periods) has all arrived by period p, so each period
    takes the smallest constant rate that meets every such deadline from the current backlog: the
    earliest deadline is always met, and later peaks are spread over the periods before them.
    Closed periods get no agents; their work and their clock wait for the next open period.
    """
    work = np.asarray(work_s, dtype=np.float64)
    if not (math.isfinite(deadline_s) and deadline_s > 0):
        raise InvalidInput(f"resolution deadline must be > 0 seconds, got {deadline_s!r}", field="deadline_s")
    if not (math.isfinite(max_occupancy) and 0 < max_occupancy <= 1):
        raise InvalidInput(f"max occupancy must be in (0, 1], got {max_occupancy!r}", field="max_occupancy")
    bad = ~np.isfinite(work) | (work < 0)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"work must be finite and >= 0, got {float(work[index])!r} at period {index}",
                           field="work_s")
    is_open = np.ones(work.shape, dtype=bool) if open_mask is None else np.asarray(open_mask, dtype=bool)
    periods = max(1, math.floor(deadline_s / period_s + 1e-9))
    capacity = period_s * max_occupancy
    agents = np.zeros(work.shape, dtype=np.int64)
    backlog = np.zeros(work.shape)
    done = np.zeros(work.shape)
    open_work = np.zeros(periods)  # open_work[j]: remaining work that falls due j periods from now
    carried = 0.0  # work that arrived while closed, waiting for the next open period
    for p in range(work.size):
        if not is_open[p]:
            carried += work[p]
            backlog[p] = open_work.sum() + carried
            continue
        open_work[-1] += work[p] + carried
        carried = 0.0
        due = np.cumsum(open_work)
        rate = float(np.max(due / (np.arange(periods) + 1.0)))  # work-seconds per period
        n = max(math.ceil(rate / capacity - 1e-9), min_agents_open)
        agents[p] = n
        budget = n * capacity
        take = np.minimum(open_work, np.maximum(budget - (due - open_work), 0.0))
        open_work = open_work - take
        take[0] += open_work[0]  # due now: at most the 1e-9 rounding allowance of ``n`` is left over
        open_work[0] = 0.0
        done[p] = float(take.sum())
        open_work = np.concatenate([open_work[1:], [0.0]])
        backlog[p] = open_work.sum()
    arrived = np.cumsum(work)
    finished = np.searchsorted(np.cumsum(done), arrived * (1.0 - 1e-12) - 1e-9)
    resolution = np.where(finished < work.size, (finished - np.arange(work.size) + 0.5) * period_s, np.nan)
    return DeferredResult(agents=agents, backlog_work_s=backlog, done_work_s=done,
                          resolution_s=np.where(work > 0, resolution, 0.0))


def _staff_deferred(vol: FloatArray, aht: FloatArray, period_s: float, targets: StaffingTargets,
                    is_open: BoolArray) -> StaffingPlan:
    assert targets.resolution_deadline_s is not None
    work = vol * aht
    result = deferred_agents(work, period_s, targets.resolution_deadline_s, max_occupancy=targets.max_occupancy,
                             open_mask=is_open, min_agents_open=targets.min_agents_open)
    with np.errstate(divide="ignore", invalid="ignore"):
        occ = np.where(result.agents > 0, result.done_work_s / (result.agents * period_s), 0.0)
    last_with_work = np.maximum.accumulate(np.where(vol > 0, np.arange(vol.size), 0))
    backlog_items = result.backlog_work_s / aht[last_with_work]  # open work in contacts of its own AHT
    sl = np.ones(vol.shape)  # every item meets its deadline by construction
    return _plan(result.agents, result.agents, sl, result.resolution_s, np.minimum(occ, 1.0),
                 np.zeros(vol.shape), backlog_items, targets)
