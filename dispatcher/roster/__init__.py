"""Rostering: weekly shifts for named agents by skill, contract and fairness (OR-Tools).

``solve_roster(problem, time_limit_s=..., workers=..., seed=...)`` → :class:`RosterResult`;
``validate_roster(roster, problem)`` → violations, independent of the solver.
"""
