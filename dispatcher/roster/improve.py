"""Local search on the named roster: change (template or day), drop or add one agent's shift, or swap
two agents' shifts on two days for two days off in a row, when the cost goes down and every hard rule
(hours, days, consecutive days, rest, availability) still holds. The cost counts coverage, labour, the
contract minimum, preferences, kept published shifts and two consecutive days off (as the assignment
model weighs them).

The swap: measured at 100 agents (seeds 3/7/11, 15 s), every agent-week without a pair worked both days
beside the closed Sunday, while four-day agents spent those scarce days off on their own pairs; one
change at a time could not move them without losing coverage. With the swap, 80-87% of agent-weeks have
a pair instead of 63-66%, at the same gap (``benchmarks/roster.py``, "no pair" column).

Repairs what rounding the counts and naming the agents lost. Coverage is tracked per skill: a shift
taken away frees the skills it worked; new working periods go to the agent's skill that gains most
(the per-period flow afterwards can only do better).

The parts, each with one job: :class:`CoverageLedger` (agents per skill and period, and what a change
costs), :func:`plan_shift` (breaks and skills of a shift to add), :class:`AgentTerms` (an agent's
penalties besides coverage), :class:`Shifts` (who works what, and whether a change keeps the
contract) and :class:`LocalSearch` (descents and kicks).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from time import perf_counter

import numpy as np
import numpy.typing as npt

from dispatcher.roster.grid import Candidate, Group
from dispatcher.roster.problem import Preference, RosterProblem, Weights
from dispatcher.roster.rules.contract import days_over, hours_outside, long_runs
from dispatcher.roster.rules.stability import published_candidates
from dispatcher.roster.weeks import has_days_off_pair, pair_possible

KICK_SIZE = 6
"""Shifts dropped at random before each new descent of the iterated local search."""
MAX_STALLED_KICKS = 40
"""Stop the iterated local search after this many kicks in a row without a better roster."""
MIN_HOURS_POINTS = 50.0
"""Per quarter-hour below a contract minimum (as in the assignment model)."""

BreakPlacer = Callable[[Candidate, npt.NDArray[np.int64]], list[int]]
"""Break offsets for a new shift given the slack (at work minus required) per period."""


@dataclass(slots=True)
class Placed:
    agent_id: str
    group: int
    candidate: Candidate
    break_offsets: list[int]
    skills: list[str | None] = field(default_factory=list)

    def copy(self) -> Placed:
        return Placed(self.agent_id, self.group, self.candidate, list(self.break_offsets), list(self.skills))


@dataclass(frozen=True, slots=True)
class Plan:
    """A shift to add: its break offsets, its skill per period (built on demand) and the change in
    coverage and labour cost it brings."""

    candidate: Candidate
    offsets: list[int]
    skills: Callable[[], list[str | None]]
    gain: float


@dataclass(frozen=True, slots=True)
class Move:
    """The best change found for one shift: ``plan`` None means drop it."""

    cost: float
    plan: Plan | None = None


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


class CoverageLedger:
    """Agents working each skill in each period, against the requirement; the cost of a change."""

    def __init__(self, placed: Sequence[Placed], required: npt.NDArray[np.int64], problem: RosterProblem) -> None:
        self.required = required
        self.skills = problem.requirements.skills
        self.index = {s: i for i, s in enumerate(self.skills)}
        self.n = problem.requirements.n_periods
        self.w = problem.weights
        self.scheduled = scheduled_by_skill(placed, required, problem)
        self.required_total = required.sum(axis=0)

    def cell(self, si: int, p: int, change: int) -> float:
        r, x = int(self.required[si, p]), int(self.scheduled[si, p])
        return cell_cost(r, x + change, self.w) - cell_cost(r, x, self.w)

    def cells(self, pl: Placed) -> list[tuple[int, int]]:
        """(skill row, period) of every period the shift works on the grid."""
        out = []
        for i, skill in enumerate(pl.skills):
            p = pl.candidate.p0 + i
            if skill is not None and skill in self.index and 0 <= p < self.n:
                out.append((self.index[skill], p))
        return out

    def removal_delta(self, pl: Placed) -> float:
        """Coverage and labour cost change of taking ``pl`` away."""
        total = sum(self.cell(si, p, -1) for si, p in self.cells(pl))
        return total - self.w.labour_per_hour * pl.candidate.paid_hours

    def apply(self, pl: Placed, sign: int) -> None:
        for si, p in self.cells(pl):
            self.scheduled[si, p] += sign

    def slack(self) -> npt.NDArray[np.int64]:
        """At work minus required per period, all skills together."""
        return self.scheduled.sum(axis=0) - self.required_total  # type: ignore[no-any-return]

    def cost(self) -> float:
        short = self.required - self.scheduled
        w = self.w
        return float(np.where(short > 0, w.under + w.under * w.under_steep * (short - 1), -short * w.over).sum())


def plan_shift(ledger: CoverageLedger, agent_skills: Sequence[int], c: Candidate, slack: npt.NDArray[np.int64],
               place_breaks: BreakPlacer) -> Plan:
    """Adding ``c`` for an agent with ``agent_skills`` (rows, primary first): breaks where ``slack`` is
    largest, each working period on the skill that gains most."""
    w = ledger.w
    offsets = place_breaks(c, slack)
    length = c.p1 - c.p0
    off = np.zeros(length, dtype=bool)
    for b, o in enumerate(offsets):
        off[o:o + c.breaks[b].length] = True
    gain = w.labour_per_hour * c.paid_hours
    lo, hi = max(c.p0, 0), min(c.p1, ledger.n)
    best = np.zeros(max(hi - lo, 0), dtype=np.int64)
    if agent_skills and hi > lo:
        own = np.asarray(agent_skills)
        short = ledger.required[own, lo:hi] - ledger.scheduled[own, lo:hi]
        # ledger.cell(si, p, +1) for every skill and period at once
        delta = np.where(short >= 2, -w.under * w.under_steep, np.where(short == 1, -w.under, w.over))
        best = delta.argmin(axis=0)  # ties go to the first, primary skill
        gain += float(delta[best, np.arange(hi - lo)][~off[lo - c.p0:hi - c.p0]].sum())
    names = ledger.skills

    def skills() -> list[str | None]:
        fallback = names[agent_skills[0]] if agent_skills else None
        out: list[str | None] = [None if off[i] else fallback for i in range(length)]
        for i, b in enumerate(best.tolist()):
            if not off[lo - c.p0 + i]:
                out[lo - c.p0 + i] = names[agent_skills[b]]
        return out

    return Plan(c, offsets, skills, gain)


class AgentTerms:
    """An agent's penalty points besides coverage and labour: preferences, kept published shifts,
    the contract minimum and two consecutive days off."""

    def __init__(self, problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group]) -> None:
        self.w = problem.weights
        self.published = published_candidates(problem, candidates)
        self.prefs: dict[str, list[Preference]] = {}
        for pref in problem.preferences:
            self.prefs.setdefault(pref.agent_id, []).append(pref)
        self.limits = {a.id: g.limits for g in groups for a in g.agents}
        by_index = {c.index: c for c in candidates}
        self.longest = {a.id: max((by_index[ci].paid_quarters for ci in g.allowed), default=0)
                        for g in groups for a in g.agents}

    def soft(self, agent_id: str, c: Candidate) -> float:
        """Points for working ``c``: unmet preferences, and minus keeping a published shift."""
        w = self.w
        points = sum(w.preference for pref in self.prefs.get(agent_id, ()) if pref.applies(c.day)
                     and (pref.kind == "off" or c.template.name != pref.template))
        return points - (w.change if c.index in self.published.get(agent_id, set()) else 0.0)

    def short(self, agent_id: str, paid_by_week: Sequence[int]) -> float:
        """Points for the quarters below each planning week's contract minimum."""
        weeks = self.limits[agent_id].weeks
        return MIN_HOURS_POINTS * sum(max(w.min_quarters - q, 0) for w, q in zip(weeks, paid_by_week, strict=True))

    def unpaired(self, agent_id: str, days: Collection[int]) -> float:
        """``days_off_pair`` for each planning week without two consecutive days off (pinned days worked)."""
        if self.w.days_off_pair <= 0:
            return 0.0
        limits = self.limits[agent_id]
        worked = set(days) | limits.pinned_days
        missing = sum(1 for week in limits.weeks
                      if pair_possible(len(week.days), week.min_quarters, self.longest[agent_id])
                      and not has_days_off_pair(week.days, worked))
        return self.w.days_off_pair * missing


class Shifts:
    """Who works what (``placed`` and per agent), and whether a change keeps every hard rule."""

    def __init__(self, placed: list[Placed], groups: Sequence[Group]) -> None:
        self.placed = placed
        self.group_of = {a.id: g for g in groups for a in g.agents}
        self.mine: dict[str, list[Placed]] = {}
        for pl in placed:
            self.mine.setdefault(pl.agent_id, []).append(pl)
        for g in groups:
            for a in g.agents:
                self.mine.setdefault(a.id, [])

    def paid_by_week(self, agent_id: str, without: Placed | None = None, add: Candidate | None = None) -> list[int]:
        """Paid quarters per planning week of the agent's shifts, less ``without``, plus ``add``."""
        paid = [0] * len(self.group_of[agent_id].limits.weeks)
        for x in self.mine[agent_id]:
            if x is not without:
                paid[x.candidate.week] += x.candidate.paid_quarters
        if add is not None:
            paid[add.week] += add.paid_quarters
        return paid

    def days(self, agent_id: str, without: Placed | None = None) -> set[int]:
        return {x.candidate.day_index for x in self.mine[agent_id] if x is not without}

    def add(self, pl: Placed) -> None:
        self.mine[pl.agent_id].append(pl)
        self.placed.append(pl)

    def remove(self, pl: Placed) -> None:
        self.mine[pl.agent_id].remove(pl)
        self.placed.remove(pl)

    def reset(self, placed: Sequence[Placed]) -> None:
        self.placed[:] = placed
        for agent_id in self.mine:
            self.mine[agent_id] = []
        for pl in self.placed:
            self.mine[pl.agent_id].append(pl)

    def feasible(self, agent_id: str, without: Placed | None, c: Candidate | None) -> bool:
        """Whether the agent's shifts less ``without`` plus ``c`` keep the contract, one shift a day and
        rest. A contract minimum or max days already missed may stay missed, but not get worse."""
        lim = self.group_of[agent_id].limits
        now = [x.candidate for x in self.mine[agent_id]]
        shifts = [x.candidate for x in self.mine[agent_id] if x is not without] + ([c] if c is not None else [])
        days = [x.day_index for x in shifts]
        if len(days) != len(set(days)):
            return False
        for k, week in enumerate(lim.weeks):
            under, over = hours_outside(sum(x.paid_quarters for x in shifts if x.week == k), week.min_quarters,
                                        week.max_quarters)
            under_now, _ = hours_outside(sum(x.paid_quarters for x in now if x.week == k), week.min_quarters,
                                         week.max_quarters)
            if over > 0 or under > under_now:
                return False
            if days_over(sum(x.week == k for x in shifts), week.max_days) > days_over(sum(x.week == k for x in now),
                                                                                       week.max_days):
                return False
        if long_runs(set(days) | lim.pinned_days, lim.max_consecutive):
            return False
        ordered = sorted(shifts, key=lambda x: x.start)
        return all(b.start - a.end >= lim.min_rest for a, b in itertools.pairwise(ordered))


class LocalSearch:
    """Iterated descent: per agent, change or drop each shift, add one on a free day, then swap a shift
    with a colleague for two days off in a row; between descents, drop a few shifts at random and keep
    the result only when it is cheaper."""

    def __init__(self, placed: list[Placed], candidates: Sequence[Candidate], groups: Sequence[Group],
                 required: npt.NDArray[np.int64], problem: RosterProblem, place_breaks: BreakPlacer) -> None:
        self.problem = problem
        self.ledger = CoverageLedger(placed, required, problem)
        self.terms = AgentTerms(problem, candidates, groups)
        self.shifts = Shifts(placed, groups)
        self.by_cand = {c.index: c for c in candidates}
        self.allowed = {g.index: frozenset(g.allowed) for g in groups}
        self.place_breaks = place_breaks
        index = self.ledger.index
        self.own_skills = {
            a.id: sorted((index[s] for s in a.skills if s in index), key=lambda si: self.ledger.skills[si]
                         not in a.primary_skills)
            for a in problem.agents
        }

    def run(self, deadline: float, seed: int = 0) -> int:
        moves = self.descend(deadline)
        best_cost, best = self.total(), self.snapshot()
        rng = random.Random(seed)
        stalled = 0
        while perf_counter() < deadline and self.shifts.placed and stalled < MAX_STALLED_KICKS:
            stalled += 1
            self.kick(rng)
            moves += self.descend(deadline)
            cost = self.total()
            if cost < best_cost - 1e-9:
                best_cost, best, stalled = cost, self.snapshot(), 0
            else:
                self.restore(best)
        self.restore(best)
        return moves

    def descend(self, deadline: float) -> int:
        moves = 0
        improved = True
        while improved and perf_counter() < deadline:
            improved = False
            for agent_id in list(self.shifts.mine):
                if perf_counter() >= deadline:
                    break
                for pl in list(self.shifts.mine[agent_id]):
                    if self.change_or_drop(agent_id, pl):
                        moves += 1
                        improved = True
                if self.add_shift(agent_id):
                    moves += 1
                    improved = True
                if self.swap_for_pair(agent_id):
                    moves += 1
                    improved = True
        return moves

    def change_or_drop(self, agent_id: str, pl: Placed) -> bool:
        """Replace ``pl`` by the best other template or free day, or drop it, when that is cheaper."""
        terms, shifts, ledger = self.terms, self.shifts, self.ledger
        g = shifts.group_of[agent_id]
        now = shifts.paid_by_week(agent_id)
        rest = shifts.paid_by_week(agent_id, without=pl)
        short_rest = terms.short(agent_id, rest)
        days = shifts.days(agent_id)
        others = days - {pl.candidate.day_index}
        base = (ledger.removal_delta(pl) - terms.soft(agent_id, pl.candidate) + short_rest
                - terms.short(agent_id, now) - terms.unpaired(agent_id, days))
        drop = base + terms.unpaired(agent_id, others)
        ledger.apply(pl, -1)
        slack = ledger.slack()
        best = Move(drop if shifts.feasible(agent_id, pl, None) else 0.0)
        busy = shifts.days(agent_id, without=pl)
        for ci in g.allowed:  # another template that day, or a move to a free day
            c = self.by_cand[ci]
            if c.day_index in busy or ci == pl.candidate.index or not shifts.feasible(agent_id, pl, c):
                continue
            plan = plan_shift(ledger, self.own_skills[agent_id], c, slack, self.place_breaks)
            cost = (base + plan.gain + terms.soft(agent_id, c)
                    + terms.short(agent_id, shifts.paid_by_week(agent_id, without=pl, add=c)) - short_rest
                    + terms.unpaired(agent_id, others | {c.day_index}))
            if cost < best.cost - 1e-9:
                best = Move(cost, plan)
        if best.cost >= -1e-9:
            ledger.apply(pl, +1)
            return False
        shifts.remove(pl)
        if best.plan is not None:
            self.put(agent_id, g, best.plan)
        return True

    def add_shift(self, agent_id: str) -> bool:
        """Add the best shift on a free day when that is cheaper."""
        terms, shifts, ledger = self.terms, self.shifts, self.ledger
        g = shifts.group_of[agent_id]
        worked = shifts.days(agent_id)
        slack = ledger.slack()
        short_now = terms.short(agent_id, shifts.paid_by_week(agent_id))
        best = Move(0.0)
        for ci in g.allowed:
            c = self.by_cand[ci]
            if c.day_index in worked or not shifts.feasible(agent_id, None, c):
                continue
            plan = plan_shift(ledger, self.own_skills[agent_id], c, slack, self.place_breaks)
            cost = (plan.gain + terms.soft(agent_id, c) + terms.short(agent_id, shifts.paid_by_week(agent_id, add=c))
                    - short_now + terms.unpaired(agent_id, worked | {c.day_index})
                    - terms.unpaired(agent_id, worked))
            if cost < best.cost - 1e-9:
                best = Move(cost, plan)
        if best.plan is None:
            return False
        self.put(agent_id, g, best.plan)
        return True

    def swap_for_pair(self, agent_id: str) -> bool:
        """Two days off in a row by a swap: the agent hands its shift on a day to a colleague off that day
        and takes over the colleague's shift on a day the agent is off. Both keep their number of shifts,
        the swap must leave fewer agent-weeks without a pair, and it is made when the whole cost falls.
        (A four-day agent off on the Saturday beside a closed Sunday can take a five-day agent's Saturday
        and pair mid-week instead, which frees that Saturday for the five-day agent's pair.)"""
        terms, shifts = self.terms, self.shifts
        unpaired_now = terms.unpaired(agent_id, shifts.days(agent_id))
        if unpaired_now <= 0:
            return False
        days = {a: shifts.days(a) for a in shifts.mine}
        allowed_a = self.allowed[shifts.group_of[agent_id].index]
        for pa in list(shifts.mine[agent_id]):
            x = pa.candidate.day_index
            rest_a = days[agent_id] - {x}
            for other, theirs in shifts.mine.items():
                if other == agent_id or x in days[other] or pa.candidate.index not in \
                        self.allowed[shifts.group_of[other].index]:
                    continue
                unpaired_other = terms.unpaired(other, days[other])
                for pb in theirs:
                    y = pb.candidate.day_index
                    if y in days[agent_id] or pb.candidate.index not in allowed_a:
                        continue
                    pairs = (terms.unpaired(agent_id, rest_a | {y}) - unpaired_now
                             + terms.unpaired(other, (days[other] - {y}) | {x}) - unpaired_other)
                    if pairs >= -1e-9 or not shifts.feasible(agent_id, pa, pb.candidate) \
                            or not shifts.feasible(other, pb, pa.candidate):
                        continue
                    if self._swap_if_cheaper(pa, pb, pairs):
                        return True
        return False

    def _swap_if_cheaper(self, pa: Placed, pb: Placed, pairs: float) -> bool:
        """Swap the agents of ``pa`` and ``pb`` (breaks and skills planned anew) when coverage, labour and
        the agents' terms plus ``pairs`` (the change in the pair penalty) cost less."""
        terms, shifts, ledger = self.terms, self.shifts, self.ledger
        a, b = pa.agent_id, pb.agent_id
        delta = (pairs
                 + terms.short(a, shifts.paid_by_week(a, without=pa, add=pb.candidate))
                 + terms.short(b, shifts.paid_by_week(b, without=pb, add=pa.candidate))
                 - terms.short(a, shifts.paid_by_week(a)) - terms.short(b, shifts.paid_by_week(b))
                 + terms.soft(a, pb.candidate) + terms.soft(b, pa.candidate)
                 - terms.soft(a, pa.candidate) - terms.soft(b, pb.candidate))
        delta += ledger.removal_delta(pa)
        ledger.apply(pa, -1)
        delta += ledger.removal_delta(pb)
        ledger.apply(pb, -1)
        to_b = plan_shift(ledger, self.own_skills[b], pa.candidate, ledger.slack(), self.place_breaks)
        new_b = Placed(b, shifts.group_of[b].index, pa.candidate, to_b.offsets, to_b.skills())
        ledger.apply(new_b, +1)
        to_a = plan_shift(ledger, self.own_skills[a], pb.candidate, ledger.slack(), self.place_breaks)
        if delta + to_b.gain + to_a.gain >= -1e-9:
            ledger.apply(new_b, -1)
            ledger.apply(pa, +1)
            ledger.apply(pb, +1)
            return False
        shifts.remove(pa)
        shifts.remove(pb)
        shifts.add(new_b)
        self.put(a, shifts.group_of[a], to_a)
        return True

    def put(self, agent_id: str, g: Group, plan: Plan) -> None:
        new = Placed(agent_id, g.index, plan.candidate, plan.offsets, plan.skills())
        self.shifts.add(new)
        self.ledger.apply(new, +1)

    def kick(self, rng: random.Random) -> None:
        placed = self.shifts.placed
        for pl in rng.sample(placed, min(KICK_SIZE, len(placed))):
            if self.shifts.feasible(pl.agent_id, pl, None):
                self.ledger.apply(pl, -1)
                self.shifts.remove(pl)

    def total(self) -> float:
        """The cost the search lowers (coverage, labour and the agents' terms)."""
        terms, shifts = self.terms, self.shifts
        w = self.problem.weights
        labour = w.labour_per_hour * sum(pl.candidate.paid_hours for pl in shifts.placed)
        agents = 0.0
        for agent_id in shifts.mine:
            agents += terms.short(agent_id, shifts.paid_by_week(agent_id))
            agents += terms.unpaired(agent_id, shifts.days(agent_id))
        soft = sum(terms.soft(pl.agent_id, pl.candidate) for pl in shifts.placed)
        return self.ledger.cost() + labour + agents + soft

    def snapshot(self) -> list[Placed]:
        return [pl.copy() for pl in self.shifts.placed]

    def restore(self, saved: Sequence[Placed]) -> None:
        self.shifts.reset([pl.copy() for pl in saved])
        self.ledger.scheduled[:] = 0
        for pl in self.shifts.placed:
            self.ledger.apply(pl, +1)


def improve(placed: list[Placed], candidates: Sequence[Candidate], groups: Sequence[Group],
            required: npt.NDArray[np.int64], problem: RosterProblem, *, deadline: float,
            place_breaks: BreakPlacer) -> int:
    """Improve ``placed`` in place until no move helps or the deadline passes; returns moves made."""
    return LocalSearch(placed, candidates, groups, required, problem, place_breaks).run(deadline)
