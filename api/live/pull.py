"""The single-agent pull path behind /next, on the published roster: no new offer during a scheduled
break, and the shift guard of batch dispatch (both read the same two answers from dispatcher.policy)."""

from __future__ import annotations

from datetime import datetime

from api.live.floor import GUARD_NOTE, shift_term
from api.store.plan import PlanStore
from api.store.queue import LiveQueue, PullResult, PullSchedule
from dispatcher.domain import Shift
from dispatcher.policy import scheduled_to_work, seconds_until_interruption


def pull_schedule(shift: Shift, now: datetime) -> PullSchedule:
    """What the pull script needs of the agent's shift at ``now``."""
    return PullSchedule(working=scheduled_to_work(shift, now), time_left_s=seconds_until_interruption(shift, now),
                        shift_term=shift_term(shift, now), guard_note=GUARD_NOTE)


async def pull_next(queue: LiveQueue, plan: PlanStore, agent_id: str) -> PullResult:
    """The agent's pending offer or a new one, else why not; an agent without a published shift now
    (none published, or off shift) pulls as if there were no roster."""
    now = plan.now()
    shift = (await plan.shifts_for([agent_id], now)).get(agent_id)
    return await queue.pull_or_why(agent_id, schedule=None if shift is None else pull_schedule(shift, now))
