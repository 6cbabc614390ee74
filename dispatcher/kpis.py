"""The one definition of the contact-center KPIs; the live service, the simulator and the scorecards call it.

Every function takes per-task (or per-agent) arrays and is pure numpy. Each task is in one of three
states: *answered* (an agent accepted it), *abandoned* (the customer gave up before any answer), or
*waiting* (neither, when the KPIs are measured). ``wait_s`` is the time from arrival to the answer, to
the abandonment, or to the moment of measurement for a task still waiting. Tasks cancelled by the
business (not the customer) are not offered work: callers leave them out before calling.

Service level (SL)
    answered within the threshold / (answered + abandoned after the threshold + still waiting past
    the threshold). *Short abandons* (abandoned within the threshold) and tasks still waiting but not
    yet past it are left out of both sides: they are neither a success nor a failure yet. The
    threshold is **per task** (``threshold_s``, an array or one number for all): the seconds a task may
    wait, i.e. its response due time minus its arrival. The live service and the scorecards take it
    from each task's due time (quadrant SLA policy); the simulator passes its fixed ``answer_within_s``
    (the "80/20" convention). ``inf`` means no target: any answer meets it and nothing ever misses it.
    "Within" is inclusive: answered at exactly the threshold is a success, waiting past it is a miss.
ASA (average speed of answer)
    mean ``wait_s`` of the answered tasks (abandoned and waiting tasks are excluded).
Abandonment rate
    abandoned / offered, where offered is every task passed in (answered, abandoned or waiting;
    short abandons included).
Occupancy
    seconds agents spent handling work / seconds they were available for it (on duty / on shift).
First-contact resolution (FCR)
    completed tasks resolved at the first contact / completed tasks whose outcome is known. A task is
    not resolved when it was stated unresolved or reopened; it is resolved when stated so, or when
    nothing says otherwise *and* reopens are tracked; without reopen tracking it is unknown.
Adherence
    seconds on shift / seconds scheduled, capped at 1 (being on shift longer than planned does not make
    up for being absent elsewhere).

A ratio with a zero denominator is NaN (no data, not 0 %). Adapters that serve JSON turn NaN into None.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@overload
def ratio(num: float, den: float) -> float: ...
@overload
def ratio(num: npt.ArrayLike, den: npt.ArrayLike) -> FloatArray: ...
def ratio(num: npt.ArrayLike, den: npt.ArrayLike) -> float | FloatArray:
    """num / den, NaN where den is 0 (elementwise for arrays, e.g. per group)."""
    n, d = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def _bool(values: npt.ArrayLike) -> BoolArray:
    return np.asarray(values, dtype=np.bool_)


def service_level_flags(
    wait_s: npt.ArrayLike, answered: npt.ArrayLike, threshold_s: npt.ArrayLike
) -> tuple[BoolArray, BoolArray]:
    """Per task: (counted in the SL denominator, met = counted in the numerator).

    Abandoned and still-waiting tasks follow the same rule (a miss once ``wait_s`` passes the
    threshold, left out before), so only ``answered`` is needed. Sum either flag over any grouping
    (queue, period, agent) and divide with :func:`ratio`.
    """
    wait = np.asarray(wait_s, dtype=float)
    ans = _bool(answered)
    threshold = np.broadcast_to(np.asarray(threshold_s, dtype=float), wait.shape)
    met = ans & (wait <= threshold)
    # abandoned after the threshold and still waiting past it are both misses; short abandons are out
    counted = ans | (wait > threshold)
    return counted, met


def service_level(wait_s: npt.ArrayLike, answered: npt.ArrayLike, threshold_s: npt.ArrayLike) -> float:
    """Answered within threshold / (answered + abandoned or waiting past it); NaN with nothing counted."""
    counted, met = service_level_flags(wait_s, answered, threshold_s)
    return ratio(float(np.count_nonzero(met)), float(np.count_nonzero(counted)))


def asa(wait_s: npt.ArrayLike, answered: npt.ArrayLike) -> float:
    """Mean wait of the answered tasks; NaN with none answered."""
    wait = np.asarray(wait_s, dtype=float)[_bool(answered)]
    return float(wait.mean()) if wait.size else math.nan


def abandonment_flags(answered: npt.ArrayLike, abandoned: npt.ArrayLike) -> BoolArray:
    """Per task: abandoned before any answer (the numerator; every task passed in is the denominator)."""
    return _bool(abandoned) & ~_bool(answered)


def abandonment_rate(answered: npt.ArrayLike, abandoned: npt.ArrayLike) -> float:
    """Abandoned / offered (every task passed in); NaN with no tasks."""
    flags = abandonment_flags(answered, abandoned)
    return ratio(float(np.count_nonzero(flags)), float(flags.size))


def occupancy(busy_s: npt.ArrayLike, available_s: npt.ArrayLike) -> float:
    """Handling seconds / available seconds, summed over the agents given; NaN with no availability."""
    return ratio(float(np.sum(np.asarray(busy_s, dtype=float))), float(np.sum(np.asarray(available_s, dtype=float))))


def first_contact_outcome(
    stated_resolved: npt.ArrayLike, reopened: npt.ArrayLike, *, reopens_tracked: bool
) -> FloatArray:
    """Per completed task: 1.0 resolved at first contact, 0.0 not, NaN unknown.

    ``stated_resolved``: 1/0 when the completion says so, NaN when it says nothing.
    """
    stated = np.asarray(stated_resolved, dtype=float)
    again = _bool(reopened)
    unstated = 1.0 if reopens_tracked else math.nan
    out = np.where(np.isnan(stated), unstated, stated)
    return np.where(again | (stated == 0.0), 0.0, out)


def first_contact_resolution(outcome: npt.ArrayLike) -> float:
    """Share resolved among completed tasks with a known outcome (see :func:`first_contact_outcome`)."""
    values = np.asarray(outcome, dtype=float)
    known = values[~np.isnan(values)]
    return ratio(float(known.sum()), float(known.size))


def adherence(on_shift_s: npt.ArrayLike, scheduled_s: npt.ArrayLike) -> float | FloatArray:
    """On-shift / scheduled seconds, capped at 1 (elementwise for arrays, e.g. per agent); NaN unscheduled."""
    out = ratio(on_shift_s, scheduled_s)
    return min(out, 1.0) if isinstance(out, float) else np.minimum(out, 1.0)
