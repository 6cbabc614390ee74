"""Labour cost: every paid agent-hour costs ``weights.labour_per_hour``."""

from __future__ import annotations

from dispatcher.roster.counts import CountModel


def counts(model: CountModel) -> None:
    w = model.problem.weights.labour_per_hour
    cand = {c.index: c for c in model.candidates}
    for (_, ci), var in model.n.items():
        model.objective.append((var, w * cand[ci].paid_hours))
