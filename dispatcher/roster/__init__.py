"""Rostering: shifts for named agents by skill, contract and fairness (OR-Tools), over any whole number
of days in planning weeks (``weeks.py``: the one definition of the week the contract limits hold in).

``solve_roster(problem, time_limit_s=..., workers=..., seed=..., method=...)`` → :class:`RosterResult`
(roster, coverage, objective terms, bound and gap, fairness spreads, explanations, planning weeks);
``validate_roster(roster, problem)`` → violations, independent of the solver. File formats:
``api/formats/roster.py``. Rules are registered in ``rules/__init__.py``.

How (``solve.py``), a decomposition (the issue measured a single named model as slow: CP-SAT 35-45 s
to a first roster, HiGHS MIP 11-18 s at 100 agents, 94 s at 300):
1. count model (``counts.py``): agents of each group of like agents per day and template, break
   starts, per-period skill allocation per skill set — an LP (GLOP) whose optimum is the reported
   bound, then LP diving to integer counts;
2. named assignment (``assign.py``): one small CP-SAT model per group, hinted by a greedy and by a
   hard-rules-only solve: contracts, 11 h rest, max days, consecutive days are hard; following the
   counts, two consecutive days off, fairness, preferences and published shifts are penalties;
3. breaks handed out where coverage has most slack, then a local search on the exact cost;
4. one skill per period for multi-skill agents by an exact min-cost flow per period;
5. every break placed exactly on the final shifts (``named_mip.solve_breaks``: the count model with
   the counts fixed, break starts per skill set, HiGHS), then the local search again from there.
Each rule lives in ``rules/<rule>.py`` with ``counts(model)`` and/or ``assign(model)``.
With ``method="mip"`` the decomposition gets half the time and the named MIP (``named_mip.py``: the
count model with every agent its own group, integer, breaks per skill set) continues from its roster in
HiGHS; its best bound, when higher than the LP's, is reported. ``method="patterns"`` continues instead
with the pattern model (``patterns.py``): week patterns per group of like agents by column generation,
priced exactly by dynamic programming (``pricing.py``), and an integer master in HiGHS. Measured, the
pattern LP's optimum equals the count LP's on the benchmark instances, so the count LP stays the bound.

Never a bare infeasible (``explain.py``): input no roster can meet (a skill nobody has, periods no
template covers, no availability, a contract minimum that cannot fit) is named and worked around;
when coverage is short, each rule family is relaxed alone in the LP to name the one that binds.
"""
