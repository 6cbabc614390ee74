"""Pricing for the pattern model: the cheapest week pattern (one agent's shifts over the horizon) that
keeps every contract rule, by dynamic programming over the days on numpy arrays.

A pattern is a set of candidate shifts, at most one a day, that holds each planning week's paid hours
(min and max) and max days, max consecutive days (pinned days count as worked) and the minimum rest
between shifts. Its price is the sum of the candidates' prices plus, optionally, a penalty for each
planning week without two consecutive days off where the week allows one (``weeks.pair_possible``).

The state after a day is (paid hours this week in units of the gcd of the shifts' paid quarters,
days worked this week, current run of worked days, the last shift when it can still clash with a
later one by rest, days-off-pair progress this week); the run and pair dimensions collapse to size 1
when no rule needs them. A week ends by dropping states below its minimum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dispatcher.roster.grid import Candidate, Group
from dispatcher.roster.rules.rest import conflicts
from dispatcher.roster.weeks import has_days_off_pair, pair_possible, repeats_as_rota

INF = np.inf
OFF_PAIR = (1, 2, 2)
"""Pair progress after a day off: 0 = none yet (previous day worked), 1 = none yet (previous day off), 2 = found."""
WORK_PAIR = (0, 0, 2)
OFF_PAIR_WRAP = (1, 2, 2, 4, 2)
"""In a whole week, which wraps around (``weeks.repeats_as_rota``), two more: 3 = none yet, previous day
worked, first day off; 4 = none yet, previous day off, first day off (a pair if the week ends here)."""
WORK_PAIR_WRAP = (0, 0, 2, 3, 3)
OFF_FIRST_DAY = (4, 4, 4, 4, 4)
"""The whole week's first day (every week starts in progress 0)."""
WORK_FIRST_DAY = (0, 0, 0, 0, 0)
UNPAIRED = {3: (True, True, False), 5: (True, True, False, True, False)}
"""Per number of progress states: which progress at the week's end leaves it without a pair."""
TOLERANCE = 1e-9
State = tuple[int, int, int, int, int]
"""(paid units this week, days worked this week, run of worked days, rest slot, pair progress)."""


def _same(value: float, target: float) -> bool:
    return bool(np.isfinite(value)) and abs(value - target) <= TOLERANCE * max(1.0, abs(target))


@dataclass(frozen=True, slots=True)
class PricedPattern:
    candidates: tuple[int, ...]
    price: float
    """Sum of the candidates' prices plus the days-off-pair penalty."""
    unpaired_weeks: int
    """Planning weeks (where a pair is possible) without two consecutive days off."""


class PatternPricer:
    """Cheapest feasible pattern for one group of like agents, for any candidate prices."""

    def __init__(self, group: Group, candidates: Sequence[Candidate], n_days: int, *, pair_weight: float) -> None:
        by_index = {c.index: c for c in candidates}
        allowed = [by_index[ci] for ci in group.allowed]
        lim = group.limits
        self.group = group
        self.n_days = n_days
        self.pinned = lim.pinned_days
        self.unit = math.gcd(*(c.paid_quarters for c in allowed)) if allowed else 1
        self.unit = self.unit or 1
        self.by_day: list[list[Candidate]] = [[] for _ in range(n_days)]
        for c in allowed:
            self.by_day[c.day_index].append(c)
        self.units = {c.index: c.paid_quarters // self.unit for c in allowed}
        self.week_of_day = [0] * n_days
        self.week_last_day: set[int] = set()
        self.min_units: list[int] = []
        self.max_units: list[int] = []
        self.max_days: list[int] = []
        self.pair_needed: list[bool] = []
        self.wraps: list[bool] = []
        self.week_first_day: set[int] = set()
        longest = max((c.paid_quarters for c in allowed), default=0)
        for k, week in enumerate(lim.weeks):
            for d in week.days:
                self.week_of_day[d] = k
            self.week_last_day.add(max(week.days))
            self.week_first_day.add(min(week.days))
            self.wraps.append(repeats_as_rota(week.days))
            self.min_units.append(-(-week.min_quarters // self.unit))
            self.max_units.append(week.max_quarters // self.unit)
            self.max_days.append(min(week.max_days, len(week.days)))
            self.pair_needed.append(pair_weight > 0 and pair_possible(len(week.days), week.min_quarters, longest))
        self.pair_weight = pair_weight
        self.max_run = lim.max_consecutive
        self.runs = self.max_run + 1 if self._run_can_bind() else 1
        rest_s = lim.min_rest.total_seconds()
        # slots[d]: shifts worked on or before day d that could still clash with a later one (slot 0: none)
        self.slots: list[list[int | None]] = []
        for d in range(n_days):
            later = [c for e in range(d + 1, n_days) for c in self.by_day[e]]
            active = [c.index for e in range(d + 1) for c in self.by_day[e]
                      if any(conflicts(c, o, rest_s) for o in later)]
            self.slots.append([None, *active])
        self.clash = {(a.index, b.index) for d in range(n_days) for a in self.by_day[d]
                      for e in range(d + 1, n_days) for b in self.by_day[e] if conflicts(a, b, rest_s)}

    def describe(self, pattern: Sequence[int]) -> PricedPattern:
        """A given pattern (e.g. an agent's shifts in a roster) with its unpaired weeks, at zero prices."""
        worked = {c.day_index for day in self.by_day for c in day if c.index in set(pattern)} | set(self.pinned)
        unpaired = 0
        for k, needed in enumerate(self.pair_needed):
            days = [d for d in range(self.n_days) if self.week_of_day[d] == k]
            if needed and not has_days_off_pair(days, worked):
                unpaired += 1
        return PricedPattern(tuple(sorted(pattern)), 0.0, unpaired)

    def _run_can_bind(self) -> bool:
        """Whether some window of max_consecutive + 1 days could be worked throughout."""
        window = self.max_run + 1
        if window > self.n_days:
            return False
        for start in range(self.n_days - window + 1):
            span = range(start, start + window)
            per_week: dict[int, int] = {}
            for d in span:
                per_week[self.week_of_day[d]] = per_week.get(self.week_of_day[d], 0) + 1
            workable = sum(min(n, self.max_days[k] + sum(1 for d in span if d in self.pinned
                                                         and self.week_of_day[d] == k))
                           for k, n in per_week.items())
            if workable >= window:
                return True
        return False

    def _pairs(self, k: int) -> int:
        if not self.pair_needed[k]:
            return 1
        return 5 if self.wraps[k] else 3

    def _transitions(self, d: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(after a day off, after a worked day): the pair progress on day ``d`` from each before it."""
        k = self.week_of_day[d]
        if not self.pair_needed[k]:
            return (0,), (0,)
        if not self.wraps[k]:
            return OFF_PAIR, WORK_PAIR
        if d in self.week_first_day:
            return OFF_FIRST_DAY, WORK_FIRST_DAY
        return OFF_PAIR_WRAP, WORK_PAIR_WRAP

    def _empty(self, k: int, n_slots: int) -> npt.NDArray[np.float64]:
        return np.full((self.max_units[k] + 1, self.max_days[k] + 1, self.runs, n_slots, self._pairs(k)), INF)

    def price(self, prices: dict[int, float], *, pair_weight: float | None = None) -> PricedPattern | None:
        """The cheapest pattern at ``prices`` (candidate index → price); None when no pattern is feasible."""
        weight = self.pair_weight if pair_weight is None else pair_weight
        inputs: list[npt.NDArray[np.float64]] = []
        outputs: list[npt.NDArray[np.float64]] = []
        closed: npt.NDArray[np.float64] = np.full((self.runs, 1), INF)
        closed[0, 0] = 0.0
        prev_slots: list[int | None] = [None]
        state = self._empty(0, 1)
        state[0, 0, 0, 0, 0] = 0.0
        for d in range(self.n_days):
            k = self.week_of_day[d]
            if d > 0 and self.week_of_day[d - 1] != k:
                state = self._empty(k, len(prev_slots))
                state[0, 0, :, :, 0] = closed
            inputs.append(state)
            state = self._step(d, state, prev_slots, prices)
            outputs.append(state)
            prev_slots = self.slots[d]
            if d in self.week_last_day:
                closed = self._close_week(k, state, weight)
        best = float(closed.min())
        if not np.isfinite(best):
            return None
        return self._trace(inputs, outputs, closed, prices, weight)

    def _step(self, d: int, prev: npt.NDArray[np.float64], prev_slots: Sequence[int | None],
              prices: dict[int, float]) -> npt.NDArray[np.float64]:
        k = self.week_of_day[d]
        slots = self.slots[d]
        out = self._empty(k, len(slots))
        pairs = prev.shape[4]
        after_off, after_work = self._transitions(d)
        if d in self.pinned:  # worked (hours and days already taken off the limits), no choice
            moved = self._run_up(prev.min(axis=3))
            for s in range(pairs):
                target = after_work[s]
                out[:, :, :, 0, target] = np.minimum(out[:, :, :, 0, target], moved[:, :, :, s])
            return out
        best_over_runs = prev.min(axis=2)  # a day off resets the run
        for j, slot in enumerate(prev_slots):
            t = slots.index(slot) if slot in slots else 0
            for s in range(pairs):
                target = after_off[s]
                out[:, :, 0, t, target] = np.minimum(out[:, :, 0, t, target], best_over_runs[:, :, j, s])
        for c in self.by_day[d]:
            u = self.units[c.index]
            if u >= out.shape[0] or out.shape[1] < 2:
                continue
            ok = [j for j, slot in enumerate(prev_slots) if slot is None or (slot, c.index) not in self.clash]
            came = prev[:, :, :, ok, :].min(axis=3)
            moved = self._run_up(came)
            t = slots.index(c.index) if c.index in slots else 0
            price = prices.get(c.index, 0.0)
            for s in range(pairs):
                target = after_work[s]
                block = out[u:, 1:, :, t, target]
                np.minimum(block, moved[:out.shape[0] - u, :-1, :, s] + price, out=block)
        return out

    def _run_up(self, arr: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Shift the run axis (2) by one worked day; runs past the maximum are infeasible."""
        if self.runs == 1:
            return arr
        shifted = np.full_like(arr, INF)
        shifted[:, :, 1:] = arr[:, :, :-1]
        return shifted

    def _close_week(self, k: int, out: npt.NDArray[np.float64], weight: float) -> npt.NDArray[np.float64]:
        """End of planning week ``k``: (run, slot) → cheapest state at or above the minimum."""
        penalty = self._penalty(k, weight)
        valid = out[self.min_units[k]:] + penalty
        return valid.min(axis=(0, 1, 4)) if valid.size else np.full(out.shape[2:4], INF)

    def _penalty(self, k: int, weight: float) -> npt.NDArray[np.float64]:
        if not self.pair_needed[k]:
            return np.zeros(1)
        return np.array([weight if unpaired else 0.0 for unpaired in UNPAIRED[self._pairs(k)]])

    def _trace(self, inputs: Sequence[npt.NDArray[np.float64]], outputs: Sequence[npt.NDArray[np.float64]],
               closed: npt.NDArray[np.float64], prices: dict[int, float], weight: float) -> PricedPattern:
        """Walk back from the cheapest end state to the choice made on each day."""
        run, slot = (int(i) for i in np.unravel_index(int(np.argmin(closed)), closed.shape))
        total = float(closed[run, slot])
        value = total
        chosen: list[int] = []
        unpaired = 0
        state: State | None = None
        for d in range(self.n_days - 1, -1, -1):
            k = self.week_of_day[d]
            if d in self.week_last_day:  # the state the week closed from
                state, penalty = self._closing_state(k, outputs[d], run, slot, value, weight)
                unpaired += penalty > 0
            assert state is not None
            worked, state = self._predecessor(d, inputs[d], state, float(outputs[d][state]), prices)
            if worked is not None:
                chosen.append(worked)
            value = float(inputs[d][state])
            run, slot = state[2], state[3]
        return PricedPattern(tuple(sorted(chosen)), total, unpaired)

    def _closing_state(self, k: int, out: npt.NDArray[np.float64], run: int, slot: int, value: float,
                       weight: float) -> tuple[State, float]:
        """A state at or above week ``k``'s minimum that closes the week at ``value`` (and its pair penalty)."""
        penalty = self._penalty(k, weight)
        for q in range(self.min_units[k], out.shape[0]):
            for n in range(out.shape[1]):
                for s in range(out.shape[4]):
                    extra = float(penalty[s if penalty.size > 1 else 0])
                    if _same(float(out[q, n, run, slot, s]) + extra, value):
                        return (q, n, run, slot, s), extra
        raise AssertionError("pricing trace lost the end of a week")

    def _predecessor(self, d: int, prev: npt.NDArray[np.float64], state: State,
                     value: float, prices: dict[int, float]) -> tuple[int | None, State]:
        """(candidate worked on day d or None, state before day d) that produced ``state``."""
        q, n, r, t, s = state
        prev_slots = self.slots[d - 1] if d > 0 else [None]
        slots = self.slots[d]
        pairs = prev.shape[4]
        after_off, after_work = self._transitions(d)

        def pair_sources(table: tuple[int, ...]) -> list[int]:
            return [p for p in range(pairs) if table[p] == s]

        run_sources = [r - 1] if self.runs > 1 else [0]
        if d in self.pinned:
            for j in range(prev.shape[3]):
                for p in pair_sources(after_work):
                    for rp in run_sources:
                        if rp >= 0 and _same(float(prev[q, n, rp, j, p]), value):
                            return None, (q, n, rp, j, p)
            raise AssertionError("pricing trace lost a pinned day")
        for c in self.by_day[d]:
            target_slot = slots.index(c.index) if c.index in slots else 0
            u = self.units[c.index]
            if target_slot != t or u > q or n < 1:
                continue
            for j, slot in enumerate(prev_slots):
                if slot is not None and (slot, c.index) in self.clash:
                    continue
                for p in pair_sources(after_work):
                    for rp in run_sources:
                        if rp >= 0 and _same(float(prev[q - u, n - 1, rp, j, p]) + prices.get(c.index, 0.0), value):
                            return c.index, (q - u, n - 1, rp, j, p)
        if r == 0:
            for j, slot in enumerate(prev_slots):
                if (slots.index(slot) if slot in slots else 0) != t:
                    continue
                for p in pair_sources(after_off):
                    for rp in range(prev.shape[2]):
                        if _same(float(prev[q, n, rp, j, p]), value):
                            return None, (q, n, rp, j, p)
        raise AssertionError("pricing trace lost a day")
