"""Breaks: each shift takes every break of its template inside the template's window, placed so
that coverage holds (stage 1 decides how many start at each offset; stage 3 hands them out)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from ortools.linear_solver import pywraplp

from dispatcher.roster.counts import CountModel
from dispatcher.roster.grid import Candidate


def counts(model: CountModel) -> None:
    """Break starts per candidate and offset. In the LP all skill sets together: which skill a break
    takes from is left free — a relaxation of "the agent on the break worked that skill" that keeps
    the LP small; stage 3 then places each named break where coverage has most slack. With
    ``model.exact_breaks``, per skill set: the break leaves the set's own skills (exact)."""
    cand = {c.index: c for c in model.candidates}
    n_periods = model.problem.requirements.n_periods
    shifts: dict[tuple[int, int], list[pywraplp.Variable]] = {}
    for (g, ci), n in model.n.items():
        k = model.set_of_group[g] if model.exact_breaks else 0
        shifts.setdefault((k, ci), []).append(n)
    inf = model.solver.infinity()
    for (k, ci), ns in shifts.items():
        c = cand[ci]
        for b, slots in enumerate(c.breaks):
            vars_ = [model.count_var(inf, f"b_{k}_{ci}_{b}_{o}") for o in slots.offsets]
            if model.exact_breaks:
                model.set_break_starts[k, ci, b] = vars_
            else:
                model.break_starts[ci, b] = vars_
            model.add_row([(v, 1.0) for v in vars_] + [(n, -1.0) for n in ns], 0.0, 0.0)
            for var, offset in zip(vars_, slots.offsets, strict=True):
                for p in range(c.p0 + offset, c.p0 + offset + slots.length):
                    if 0 <= p < n_periods:
                        if model.exact_breaks:
                            model.set_on_break[k, p].append((var, 1.0))
                        else:
                            model.on_break[p].append((var, 1.0))


def apportion(share: Sequence[float], total: int) -> list[int]:
    """Largest-remainder rounding of ``share`` to integers summing to ``total``."""
    mass = sum(share)
    if total <= 0:
        return [0] * len(share)
    if mass <= 1e-9:
        share, mass = [1.0] * len(share), float(len(share))
    exact = [s * total / mass for s in share]
    out = [int(e) for e in exact]
    order = sorted(range(len(share)), key=lambda i: exact[i] - out[i], reverse=True)
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def place(c: Candidate, how_many: int, shares: Sequence[Sequence[float] | None]) -> list[list[int]]:
    """Break offsets (periods into the shift) for ``how_many`` shifts of candidate ``c``; breaks of
    one shift never overlap (a clashing offset moves to the nearest free one)."""
    plans: list[list[int]] = [[] for _ in range(how_many)]
    for b, slots in enumerate(c.breaks):
        share = shares[b] if b < len(shares) and shares[b] is not None else None
        per_offset = apportion(list(share) if share else [1.0] * len(slots.offsets), how_many)
        offsets = [o for o, k in zip(slots.offsets, per_offset, strict=True) for _ in range(k)]
        for plan, offset in zip(plans, offsets, strict=True):
            taken = [(o, c.breaks[j].length) for j, o in enumerate(plan)]
            choice = min(
                (o for o in slots.offsets
                 if all(o + slots.length <= t0 or t0 + tl <= o for t0, tl in taken)),
                key=lambda o: abs(o - offset), default=offset,
            )
            plan.append(choice)
    return plans


def best_offsets(c: Candidate, slack: npt.NDArray[np.int64]) -> list[int]:
    """Break offsets for one new shift of ``c`` where ``slack`` (at work minus required) is largest."""
    n = len(slack)
    lo, hi = max(c.p0, 0), min(c.p1, n)
    window = np.full(c.p1 - c.p0 + 1, np.inf)  # cumulative slack from the shift start; inf off the grid
    if hi > lo:
        window[lo - c.p0:hi - c.p0 + 1] = np.concatenate(([0], np.cumsum(slack[lo:hi])))
    plan: list[int] = []
    for slots in c.breaks:
        taken = [(o, c.breaks[j].length) for j, o in enumerate(plan)]
        best, best_score = slots.offsets[0], -np.inf
        for o in slots.offsets:
            if not all(o + slots.length <= t0 or t0 + tl <= o for t0, tl in taken):
                continue
            a, b = max(o, lo - c.p0), min(o + slots.length, hi - c.p0)  # the part on the grid
            score = float(window[b] - window[a]) if b > a else np.inf
            if score > best_score:
                best, best_score = o, score
        plan.append(best)
    return plan
