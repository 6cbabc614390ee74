"""A simple roster for simulation when none is given: agents take the shift templates in turn.

Breaks start at the middle of their allowed window. This is not an optimized roster (that is the
roster solver's job); it gives the simulator, its tests and benchmarks a realistic working day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dispatcher.domain import Agent, Interval, Roster, Shift, ShiftTemplate
from dispatcher.errors import InvalidInput


def shift_from_template(agent_id: str, template: ShiftTemplate, day: date, tz: ZoneInfo) -> Shift:
    start = datetime.combine(day, template.start, tzinfo=tz)
    breaks = []
    for rule in template.breaks:
        offset = (rule.earliest_start_min + rule.latest_start_min) // 2
        b_start = start + timedelta(minutes=offset)
        breaks.append(Interval(b_start, b_start + timedelta(minutes=rule.length_min)))
    # overlapping break windows: push later breaks back so intervals stay disjoint
    breaks.sort(key=lambda b: b.start)
    fixed: list[Interval] = []
    for brk in breaks:
        if fixed and brk.start < fixed[-1].end:
            brk = Interval(fixed[-1].end, fixed[-1].end + (brk.end - brk.start))
        fixed.append(brk)
    return Shift(agent_id, start, start + template.length, tuple(fixed), template=template.name)


def cyclic_roster(
    agents: Sequence[Agent], templates: Sequence[ShiftTemplate], day: date, timezone: str
) -> Roster:
    """Every agent works one shift on ``day``; agent i takes template i mod len(templates)."""
    if not templates:
        raise InvalidInput("need at least one shift template", field="templates")
    tz = ZoneInfo(timezone)
    shifts = [shift_from_template(a.id, templates[i % len(templates)], day, tz) for i, a in enumerate(agents)]
    return Roster(week_start=day - timedelta(days=day.weekday()), shifts=tuple(shifts))
