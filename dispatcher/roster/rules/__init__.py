"""One module per rule: each adds its constraints and penalty terms to the count model (stage 1)
and/or the named assignment model (stage 2). This registry says which rules each stage runs, in
order, so the solver and the explanations (which re-solve the count LP) share one list.

Order matters in stage 1: ``breaks.counts`` fills ``CountModel.on_break`` that ``coverage.counts`` reads.
"""

from __future__ import annotations

from dispatcher.roster.assign import AssignRule
from dispatcher.roster.counts import Rule
from dispatcher.roster.rules import breaks, contract, cost, coverage, fairness, preferences, rest, stability

COUNT_RULES: tuple[Rule, ...] = (contract.counts, rest.counts, breaks.counts, coverage.counts, cost.counts,
                                 stability.counts)
"""Stage 1: the count LP (its optimum is the reported bound)."""
ASSIGN_RULES: tuple[AssignRule, ...] = (contract.assign, rest.assign, coverage.assign, fairness.assign,
                                        preferences.assign, stability.assign)
"""Stage 2: naming agents, every rule."""
ASSIGN_CORE: tuple[AssignRule, ...] = (contract.assign, rest.assign, coverage.assign)
"""Hard rules plus following the counts: solved first, it hints the full model."""

__all__ = ["ASSIGN_CORE", "ASSIGN_RULES", "COUNT_RULES", "breaks", "contract", "cost", "coverage", "fairness",
           "preferences", "rest", "stability"]
