"""Re-rostering: keep the published shifts; each one dropped or changed costs ``weights.change``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from dispatcher.roster.assign import AssignModel
from dispatcher.roster.counts import CountModel
from dispatcher.roster.grid import Candidate
from dispatcher.roster.problem import RosterProblem


def published_candidates(problem: RosterProblem, candidates: Sequence[Candidate]) -> dict[str, set[int]]:
    """Agent id → candidate indices of their published shifts (same start and end)."""
    if problem.published is None:
        return {}
    by_span = {(c.start, c.end): c.index for c in candidates}
    pinned = {(s.agent_id, s.start) for s in problem.pins}
    out: dict[str, set[int]] = {}
    for shift in problem.published.shifts:
        if (shift.agent_id, shift.start) in pinned:
            continue
        ci = by_span.get((shift.start, shift.end))
        if ci is not None:
            out.setdefault(shift.agent_id, set()).add(ci)
    return out


def counts(model: CountModel) -> None:
    published = published_candidates(model.problem, model.candidates)
    if not published:
        return
    group_of = {a.id: g.index for g in model.groups for a in g.agents}
    kept: Counter[tuple[int, int]] = Counter()
    for agent_id, cis in published.items():
        for ci in cis:
            kept[group_of[agent_id], ci] += 1
    w = model.problem.weights.change
    for (g, ci), k in kept.items():
        n = model.n.get((g, ci))
        dropped = model.solver.NumVar(0.0, float(k), f"drop_{g}_{ci}")
        if n is not None:
            model.add_row([(dropped, 1.0), (n, 1.0)], float(k), model.solver.infinity())
        else:
            model.add_row([(dropped, 1.0)], float(k), float(k))
        model.objective.append((dropped, w))


def assign(am: AssignModel) -> None:
    published = published_candidates(am.problem, am.candidates)
    allowed = {c.index for c in am.candidates}
    for i, agent in enumerate(am.group.agents):
        for ci in published.get(agent.id, set()):
            if ci in allowed:
                am.penalise(1 - am.y[i, ci], am.problem.weights.change)
