"""Minimum rest between the end of one shift and the start of the next (default 11 h)."""

from __future__ import annotations

from collections import defaultdict

from dispatcher.roster.assign import AssignModel
from dispatcher.roster.counts import CountModel
from dispatcher.roster.grid import Candidate


def counts(model: CountModel) -> None:
    """Per group and pair of days: agents ending at/after E plus agents starting before E + rest the
    next day cannot exceed the group (nobody can be in both)."""
    cand = {c.index: c for c in model.candidates}
    for g in model.groups:
        rest = g.limits.min_rest
        by_day: dict[int, list[Candidate]] = defaultdict(list)
        for ci in g.allowed:
            by_day[cand[ci].day_index].append(cand[ci])
        for d, today in by_day.items():
            tomorrow = by_day.get(d + 1, [])
            for end in sorted({c.end for c in today}):
                early = [c for c in tomorrow if c.start - end < rest]
                if not early:
                    continue
                late = [c for c in today if c.end >= end]
                terms = [(model.n[g.index, c.index], 1.0) for c in late + early]
                model.add_row(terms, 0.0, float(g.size))


def conflicts(first: Candidate, second: Candidate, rest_s: float) -> bool:
    if first.start > second.start:
        first, second = second, first
    return first.index != second.index and (second.start - first.end).total_seconds() < rest_s


def assign(am: AssignModel) -> None:
    rest_s = am.group.limits.min_rest.total_seconds()
    by_day: dict[int, list[Candidate]] = defaultdict(list)
    for c in am.candidates:
        by_day[c.day_index].append(c)
    for i in range(am.group.size):
        for d, today in by_day.items():
            for nxt in (d + 1, d + 2):
                for c in today:
                    clash = [am.y[i, o.index] for o in by_day.get(nxt, []) if conflicts(c, o, rest_s)]
                    if clash:
                        am.model.add(am.y[i, c.index] + sum(clash) <= 1)
