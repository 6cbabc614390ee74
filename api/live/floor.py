"""The plan on the floor, for the dispatch loop: agents' published shifts into the optimizer (so the shift
and break guard works live), the shift term in offer explanations, and the adherence and staffing alerts."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from api.live.adherence import MAX_SAMPLE_GAP_S, adherence_board, raise_adherence_alerts, record_adherence_time
from api.live.intraday import Targets, raise_staffing_alerts
from api.store.plan import PlanStore
from api.store.queue import LiveQueue
from api.store.records import agent_state_from_hash
from dispatcher.domain import Shift
from dispatcher.errors import DispatchwiseError
from dispatcher.policy import AgentState

log = logging.getLogger("dispatchwise.floor")


GUARD_NOTE = "expected handling %.0f s fits in %.0f s before the next break or shift end"
"""The shift term's ``guard``, from (expected handling s, seconds to interruption); printf-style so the pull
script (pull.lua) formats the same text."""


MIN_TICK_S = 0.2
"""The floor ticks at most this often (wall seconds), however fast a replay's clock runs."""


def shift_term(shift: Shift, now: datetime, handle_s: float | None = None) -> dict[str, Any]:
    """What an offer's explanation says about the agent's published shift."""
    upcoming = shift.next_interruption(now)
    left = None if upcoming is None else round((upcoming - now).total_seconds(), 1)
    next_break = next((b.start for b in shift.breaks if b.start > now), None)
    term: dict[str, Any] = {
        "start": shift.start.isoformat(), "end": shift.end.isoformat(),
        "next_break": None if next_break is None else next_break.isoformat(), "seconds_to_interruption": left,
    }
    if handle_s is not None and left is not None:
        term["guard"] = GUARD_NOTE % (handle_s, left)
    return term


class Floor:
    """Shifts for each dispatch round and the floor alerts, throttled to their own rhythm."""

    def __init__(self, queue: LiveQueue, *, timezone: str = "UTC", adherence_threshold_s: float = 300.0,
                 targets: Targets | None = None, adherence_every_s: float = 5.0,
                 staffing_every_s: float = 60.0, clock_speed: float = 1.0) -> None:
        self.queue = queue
        self.plan = PlanStore(queue, timezone=timezone)
        self.adherence_threshold_s = adherence_threshold_s
        self.targets = targets or Targets()
        self.adherence_every_s = adherence_every_s
        self.staffing_every_s = staffing_every_s
        self.clock_speed = clock_speed
        self._last_adherence: datetime | None = None
        self._last_staffing: datetime | None = None

    @property
    def tick_every_s(self) -> float:
        """Wall seconds between ticks: the adherence rhythm on the service's clock (a replay's clock runs
        ``clock_speed`` times as fast), at most 1 s and at least 0.2 s apart."""
        return min(1.0, max(MIN_TICK_S, self.adherence_every_s / self.clock_speed))

    @property
    def max_sample_gap_s(self) -> float:
        """Adherence samples further apart than this (service seconds) mean the service stopped: 60 s, or
        five ticks of a fast replay's clock, so a 300x replay is credited the time it actually ran."""
        return max(MAX_SAMPLE_GAP_S, 5 * self.tick_every_s * self.clock_speed)

    async def agent_states(self, rows: Sequence[Mapping[str, str]], now: datetime) -> tuple[list[AgentState],
                                                                                              dict[str, Shift]]:
        """AgentStates of the free agents, each with its published shift (none without a roster)."""
        shifts = await self.plan.shifts_for([r["id"] for r in rows], now)
        return [agent_state_from_hash(r, shifts.get(r["id"])) for r in rows], shifts

    def explain(self, explanation: dict[str, Any], shift: Shift | None, now: datetime,
                handle_s: float | None) -> dict[str, Any]:
        if shift is None:
            return explanation
        return {**explanation, "shift": shift_term(shift, now, handle_s)}

    async def tick(self, now: datetime) -> int:
        """Raise the adherence and staffing alerts that are due and sample adherence time (for the
        scorecard); returns how many alerts were raised. The rhythms run on the service's clock, as the
        adherence threshold does, so a replay at 300x alerts on the same simulated minutes as real time."""
        raised = 0
        try:  # a bad plan never stops dispatch: it is logged and retried on the next rhythm
            if _due(self._last_adherence, now, self.adherence_every_s):
                self._last_adherence = now
                board = await adherence_board(self.queue, self.plan, now)
                raised += await raise_adherence_alerts(self.queue, self.plan, now,
                                                       threshold_s=self.adherence_threshold_s, board=board)
                await record_adherence_time(self.queue, self.plan, now, self.max_sample_gap_s, board=board)
            if _due(self._last_staffing, now, self.staffing_every_s):
                self._last_staffing = now
                raised += await raise_staffing_alerts(self.queue, self.plan, now, self.targets)
        except DispatchwiseError as exc:
            log.warning("floor alerts skipped: %s", exc)
        return raised


def _due(last: datetime | None, now: datetime, every_s: float) -> bool:
    """Due on the first tick, every ``every_s`` of service time after, and at once if the clock went back."""
    return last is None or not 0 <= (now - last).total_seconds() < every_s
