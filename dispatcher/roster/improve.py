"""Local search on the named roster: change (template or day), drop or add one agent's shift when the coverage
cost goes down and every hard rule (hours, days, consecutive days, rest, availability) still holds. The
cost counts coverage, labour, the contract minimum, preferences, kept published shifts and two
consecutive days off (as the assignment model weighs them).

Repairs what rounding the counts and naming the agents lost. Coverage is tracked per skill: a shift
taken away frees the skills it worked; new working periods go to the agent's skill that gains most
(the per-period flow afterwards can only do better).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter

import numpy as np
import numpy.typing as npt

from dispatcher.roster.grid import Candidate, Group
from dispatcher.roster.problem import Preference, RosterProblem, Weights
from dispatcher.roster.rules.stability import published_candidates

KICK_SIZE = 6
"""Shifts dropped at random before each new descent of the iterated local search."""
MAX_STALLED_KICKS = 40
"""Stop the iterated local search after this many kicks in a row without a better roster."""
MIN_HOURS_POINTS = 50.0
"""Per quarter-hour below a contract minimum (as in the assignment model)."""


@dataclass(slots=True)
class Placed:
    agent_id: str
    group: int
    candidate: Candidate
    break_offsets: list[int]
    skills: list[str | None] = field(default_factory=list)


Move = tuple[float, Candidate | None, list[int], Callable[[], list[str | None]]]
"""Cost change, the new shift (None: drop), its break offsets and its skills (built on demand)."""


def cell_cost(required: int, scheduled: int, w: Weights) -> float:
    """Coverage cost of one skill in one period (see rules/coverage.py)."""
    short = required - scheduled
    if short > 0:
        return w.under + w.under * w.under_steep * (short - 1)
    return w.over * -short


def scheduled_by_skill(placed: Sequence[Placed], required: npt.NDArray[np.int64],
                       problem: RosterProblem) -> npt.NDArray[np.int64]:
    """Agents working each skill (rows as in ``required``) in each period, from the shifts' skills."""
    index = {s: i for i, s in enumerate(problem.requirements.skills)}
    n = required.shape[1]
    scheduled = np.zeros_like(required)
    for pl in placed:
        for i, skill in enumerate(pl.skills):
            p = pl.candidate.p0 + i
            if skill is not None and skill in index and 0 <= p < n:
                scheduled[index[skill], p] += 1
    return scheduled


def improve(placed: list[Placed], candidates: Sequence[Candidate], groups: Sequence[Group],
            required: npt.NDArray[np.int64], problem: RosterProblem, *, deadline: float,
            place_breaks: Callable[[Candidate, npt.NDArray[np.int64]], list[int]]) -> int:
    """Improve ``placed`` in place until no move helps or the deadline passes; returns moves made."""
    req = problem.requirements
    w = problem.weights
    index = {s: i for i, s in enumerate(req.skills)}
    n = req.n_periods
    sched = scheduled_by_skill(placed, required, problem)

    def cell(si: int, p: int, change: int) -> float:
        r, x = int(required[si, p]), int(sched[si, p])
        return cell_cost(r, x + change, w) - cell_cost(r, x, w)

    def remove_delta(pl: Placed) -> float:
        total = 0.0
        for i, skill in enumerate(pl.skills):
            p = pl.candidate.p0 + i
            if skill in index and 0 <= p < n:
                total += cell(index[skill], p, -1)
        return total - w.labour_per_hour * pl.candidate.paid_hours

    def apply(pl: Placed, sign: int) -> None:
        for i, skill in enumerate(pl.skills):
            p = pl.candidate.p0 + i
            if skill in index and 0 <= p < n:
                sched[index[skill], p] += sign

    required_total = required.sum(axis=0)
    slack = sched.sum(axis=0) - required_total  # refreshed before each shift's moves are scored

    def plan(agent_skills: list[int], c: Candidate) -> tuple[list[int], Callable[[], list[str | None]], float]:
        """Break offsets, the skill per period (built on demand) and the cost change of adding ``c``
        for an agent with ``agent_skills`` (primary first): each working period goes to the skill
        that gains most."""
        offsets = place_breaks(c, slack)
        length = c.p1 - c.p0
        off = np.zeros(length, dtype=bool)
        for b, o in enumerate(offsets):
            off[o:o + c.breaks[b].length] = True
        gain = w.labour_per_hour * c.paid_hours
        lo, hi = max(c.p0, 0), min(c.p1, n)
        best = np.zeros(max(hi - lo, 0), dtype=np.int64)
        if agent_skills and hi > lo:
            own = np.asarray(agent_skills)
            short = required[own, lo:hi] - sched[own, lo:hi]
            # cell(si, p, +1) for every skill and period at once
            delta = np.where(short >= 2, -w.under * w.under_steep, np.where(short == 1, -w.under, w.over))
            best = delta.argmin(axis=0)  # ties go to the first, primary skill
            gain += float(delta[best, np.arange(hi - lo)][~off[lo - c.p0:hi - c.p0]].sum())

        def skills() -> list[str | None]:
            fallback = req.skills[agent_skills[0]] if agent_skills else None
            out: list[str | None] = [None if off[i] else fallback for i in range(length)]
            if agent_skills:
                for i, b in enumerate(best.tolist()):
                    if not off[lo - c.p0 + i]:
                        out[lo - c.p0 + i] = req.skills[agent_skills[b]]
            return out

        return offsets, skills, gain

    published = published_candidates(problem, candidates)
    prefs: dict[str, list[Preference]] = {}
    for pref in problem.preferences:
        prefs.setdefault(pref.agent_id, []).append(pref)

    def soft(agent_id: str, c: Candidate) -> float:
        """Penalty points for working ``c``: unmet preferences, and minus keeping a published shift."""
        points = sum(w.preference for pref in prefs.get(agent_id, ()) if pref.applies(c.day)
                     and (pref.kind == "off" or c.template.name != pref.template))
        return points - (w.change if c.index in published.get(agent_id, set()) else 0.0)

    agents = {a.id: a for a in problem.agents}
    group_of = {g.index: g for g in groups}
    mine: dict[str, list[Placed]] = {}
    for pl in placed:
        mine.setdefault(pl.agent_id, []).append(pl)
    for g in groups:
        for a in g.agents:
            mine.setdefault(a.id, [])
    home = {a.id: g.index for g in groups for a in g.agents}
    by_cand = {c.index: c for c in candidates}
    n_days = len(req.days)

    def feasible(agent_id: str, without: Placed | None, c: Candidate | None) -> bool:
        g = group_of[home[agent_id]]
        lim = g.limits
        now = [x.candidate for x in mine[agent_id]]
        shifts = [x.candidate for x in mine[agent_id] if x is not without] + ([c] if c is not None else [])
        quarters = sum(x.paid_quarters for x in shifts)
        current = sum(x.paid_quarters for x in now)
        if quarters > lim.max_quarters or quarters < min(lim.min_quarters, current):
            return False
        days = sorted(x.day_index for x in shifts)
        if len(days) != len(set(days)) or len(days) > max(lim.max_days, len(now)):
            return False
        worked = set(days) | set(lim.pinned_days)
        run = 0
        for d in range(n_days):
            run = run + 1 if d in worked else 0
            if run > lim.max_consecutive:
                return False
        ordered = sorted(shifts, key=lambda x: x.start)
        return all(b.start - a.end >= lim.min_rest for a, b in itertools.pairwise(ordered))

    def unpaired(agent_id: str, days: set[int]) -> float:
        """``days_off_pair`` when the agent gets no two consecutive days off (pinned days worked)."""
        if w.days_off_pair <= 0 or n_days < 2:
            return 0.0
        worked = days | group_of[home[agent_id]].limits.pinned_days
        return 0.0 if any(d not in worked and d + 1 not in worked for d in range(n_days - 1)) else w.days_off_pair

    def put(new: Placed) -> None:
        mine[new.agent_id].append(new)
        placed.append(new)
        apply(new, +1)

    def descend() -> int:
        nonlocal slack
        moves = 0
        improved = True
        while improved and perf_counter() < deadline:
            improved = False
            for agent_id in list(mine):
                if perf_counter() >= deadline:
                    break
                g = group_of[home[agent_id]]
                own = sorted((index[s] for s in agents[agent_id].skills if s in index),
                             key=lambda si: req.skills[si] not in agents[agent_id].primary_skills)
                minimum = g.limits.min_quarters

                def short(quarters: int, minimum: int = minimum) -> float:
                    return MIN_HOURS_POINTS * max(minimum - quarters, 0)

                for pl in list(mine[agent_id]):  # change or drop a shift
                    now = sum(x.candidate.paid_quarters for x in mine[agent_id])
                    rest_q = now - pl.candidate.paid_quarters
                    days = {x.candidate.day_index for x in mine[agent_id]}
                    others = days - {pl.candidate.day_index}
                    pair_now = unpaired(agent_id, days)
                    base = remove_delta(pl) - soft(agent_id, pl.candidate) + short(rest_q) - short(now) - pair_now
                    drop = base + unpaired(agent_id, others)
                    apply(pl, -1)
                    slack = sched.sum(axis=0) - required_total
                    best: Move = (
                        drop if feasible(agent_id, pl, None) else 0.0, None, [], list)
                    busy = {x.candidate.day_index for x in mine[agent_id] if x is not pl}
                    for ci in g.allowed:  # another template that day, or a move to a free day
                        c = by_cand[ci]
                        if c.day_index in busy or ci == pl.candidate.index:
                            continue
                        if not feasible(agent_id, pl, c):
                            continue
                        offsets, skills, gain = plan(own, c)
                        gain += soft(agent_id, c) + short(rest_q + c.paid_quarters) - short(rest_q)
                        gain += unpaired(agent_id, others | {c.day_index})
                        if base + gain < best[0] - 1e-9:
                            best = (base + gain, c, offsets, skills)
                    if best[0] < -1e-9:
                        mine[agent_id].remove(pl)
                        placed.remove(pl)
                        if best[1] is not None:
                            put(Placed(agent_id, g.index, best[1], best[2], best[3]()))
                        moves += 1
                        improved = True
                    else:
                        apply(pl, +1)
                worked = {x.candidate.day_index for x in mine[agent_id]}
                slack = sched.sum(axis=0) - required_total
                add: Move = (0.0, None, [], list)
                now = sum(x.candidate.paid_quarters for x in mine[agent_id])
                for ci in g.allowed:  # add a shift on a free day
                    c = by_cand[ci]
                    if c.day_index in worked or not feasible(agent_id, None, c):
                        continue
                    offsets, skills, gain = plan(own, c)
                    gain += soft(agent_id, c) + short(now + c.paid_quarters) - short(now)
                    gain += unpaired(agent_id, worked | {c.day_index}) - unpaired(agent_id, worked)
                    if gain < add[0] - 1e-9:
                        add = (gain, c, offsets, skills)
                if add[1] is not None:
                    put(Placed(agent_id, g.index, add[1], add[2], add[3]()))
                    moves += 1
                    improved = True

        return moves

    def snapshot() -> list[Placed]:
        return [Placed(pl.agent_id, pl.group, pl.candidate, list(pl.break_offsets), list(pl.skills)) for pl in placed]

    def restore(saved: list[Placed]) -> None:
        placed[:] = [Placed(pl.agent_id, pl.group, pl.candidate, list(pl.break_offsets), list(pl.skills))
                     for pl in saved]
        for agent_id in mine:
            mine[agent_id] = []
        sched[:] = 0
        for pl in placed:
            mine[pl.agent_id].append(pl)
            apply(pl, +1)

    def total() -> float:
        short = required - sched
        cells = np.where(short > 0, w.under + w.under * w.under_steep * (short - 1), -short * w.over).sum()
        labour = w.labour_per_hour * sum(pl.candidate.paid_hours for pl in placed)
        below = sum(MIN_HOURS_POINTS * max(group_of[home[a]].limits.min_quarters
                                           - sum(x.candidate.paid_quarters for x in shifts), 0)
                    for a, shifts in mine.items())
        pairs = sum(unpaired(a, {x.candidate.day_index for x in shifts}) for a, shifts in mine.items())
        return float(cells) + labour + below + pairs + sum(soft(pl.agent_id, pl.candidate) for pl in placed)

    moves = descend()
    best_cost, best = total(), snapshot()
    rng = random.Random(0)
    stalled = 0
    while perf_counter() < deadline and placed and stalled < MAX_STALLED_KICKS:  # kick, descend, keep if better
        stalled += 1
        for pl in rng.sample(placed, min(KICK_SIZE, len(placed))):
            if feasible(pl.agent_id, pl, None):
                apply(pl, -1)
                mine[pl.agent_id].remove(pl)
                placed.remove(pl)
        moves += descend()
        cost = total()
        if cost < best_cost - 1e-9:
            best_cost, best, stalled = cost, snapshot(), 0
        else:
            restore(best)
    restore(best)
    return moves
