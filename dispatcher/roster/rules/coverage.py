"""Coverage: agents at work per skill and period against the requirement. Under-staffing costs
``under`` for the first missing agent of a period and ``under * under_steep`` for each further one
(service level falls faster the shorter the period); over-staffing costs ``over``. Multi-skill agents
work one skill per period (stage 1 allocates head counts per skill set, stage 4 names them). Stage 1
prices auxiliary work too — on-duty agents of a set allocated off their primary skills, less a refund
of up to the agents on a break, so its bound stays valid."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from dispatcher.roster.assign import AssignModel
from dispatcher.roster.counts import CountModel, Term
from dispatcher.roster.evaluate import under_cost
from dispatcher.roster.grid import Group
from dispatcher.roster.problem import Weights

FLOW_SCALE = 1000


def counts(model: CountModel) -> None:
    req = model.required
    skills = model.problem.requirements.skills
    index = {s: i for i, s in enumerate(skills)}
    w = model.problem.weights
    solver = model.solver
    inf = solver.infinity()
    cover: dict[tuple[int, int], list[Term]] = defaultdict(list)
    auxiliary: dict[int, list[Term]] = defaultdict(list)
    """Period → agents (on duty, breaks included) allocated to a skill that is not their primary."""
    for (k, p), on_duty in model.on_duty.items():
        # at work: on duty less on a break (exact per set; else breaks come off below, from any skill)
        terms = [*on_duty, *((v, -c) for v, c in model.set_on_break.get((k, p), []))]
        own = [s for s in sorted(model.skill_sets[k]) if s in index]
        primary = model.primary_sets[k]
        if not own:
            idle = solver.NumVar(0.0, inf, f"idle_{k}_{p}")
            model.add_row([(idle, 1.0)] + [(v, -c) for v, c in terms], 0.0, 0.0)
            model.objective.append((idle, w.over))
            continue
        if len(own) == 1:  # no choice: the at-work count is the coverage
            cover[index[own[0]], p].extend(terms)
            if primary and own[0] not in primary:
                auxiliary[p].extend(terms)
            continue
        xs: list[Term] = []
        for s in own:
            x = solver.NumVar(0.0, inf, f"x_{k}_{s}_{p}")
            xs.append((x, 1.0))
            cover[index[s], p].append((x, 1.0))
            if primary and s not in primary:
                auxiliary[p].append((x, 1.0))
        model.add_row(xs + [(v, -c) for v, c in terms], 0.0, 0.0)
    on_break = model.on_break
    for p, away in on_break.items():  # agents on a break leave some skill they would work
        taken = [solver.NumVar(0.0, inf, f"brk_{si}_{p}") for si in range(len(skills))]
        model.add_row([(t, 1.0) for t in taken] + [(v, -c) for v, c in away], 0.0, 0.0)
        for si, t in enumerate(taken):
            cover[si, p].append((t, -1.0))
    for p, terms in auxiliary.items():
        model.objective.extend((v, w.auxiliary * c) for v, c in terms)
        away = on_break.get(p, [])
        if away and w.auxiliary > 0:  # an agent on a break works no auxiliary skill: refund up to that many
            refund = solver.NumVar(0.0, inf, f"auxback_{p}")
            model.add_row([(refund, 1.0)] + [(v, -c) for v, c in terms], -inf, 0.0)
            model.add_row([(refund, 1.0)] + [(v, -c) for v, c in away], -inf, 0.0)
            model.objective.append((refund, -w.auxiliary))
    needed = {(int(si), int(p)) for si, p in np.argwhere(req > 0)}
    for si, p in needed | set(cover):
        r = int(req[si, p])
        terms = cover.get((si, p), [])
        if not terms:
            model.constant += under_cost(np.array([r]), w)
            continue
        if r == 0:
            model.objective.extend((x, w.over * c) for x, c in terms)
            continue
        u1 = solver.NumVar(0.0, 1.0, f"u1_{si}_{p}")
        u2 = solver.NumVar(0.0, inf, f"u2_{si}_{p}")
        over = solver.NumVar(0.0, inf, f"o_{si}_{p}")
        model.add_row([*terms, (u1, 1.0), (u2, 1.0), (over, -1.0)], float(r), float(r))
        model.objective.extend([(u1, w.under), (u2, w.under * w.under_steep), (over, w.over)])


def assign(am: AssignModel) -> None:
    """Follow stage 1's counts: a missing or extra shift costs about what it does to coverage."""
    w = am.problem.weights
    size = am.group.size
    for c in am.candidates:
        target = am.counts.get(c.index, 0)
        total = sum(am.y[i, c.index] for i in range(size))
        extra = am.model.new_int_var(0, size, f"extra_{c.index}")
        miss = am.model.new_int_var(0, target, f"miss_{c.index}")
        am.model.add(total - target == extra - miss)
        periods = c.p1 - c.p0
        am.penalise(miss, 2 * periods * w.under)
        am.penalise(extra, 2 * periods * w.over + w.labour_per_hour * c.paid_hours)


def allocate(on_duty: Mapping[int, Sequence[int]], groups: Sequence[Group], required: npt.NDArray[np.int64],
             skills: Sequence[str], p: int, weights: Weights) -> dict[int, dict[str, int]]:
    """One period: how many at-work agents of each group work each skill (exact min-cost flow)."""
    flow = min_cost_flow.SimpleMinCostFlow()
    index = {s: i for i, s in enumerate(skills)}
    present = [g for g in on_duty if on_duty[g]]
    n_g, n_s = len(present), len(skills)
    sink = n_g + n_s
    total = sum(len(on_duty[g]) for g in present)
    arcs: list[tuple[int, str]] = []
    for gi, g in enumerate(present):
        group = groups[g]
        supply = len(on_duty[g])
        flow.set_node_supply(gi, supply)
        own = [s for s in sorted(group.skills) if s in index]
        for s in own:
            cost = 0 if not group.primary or s in group.primary else weights.auxiliary
            flow.add_arc_with_capacity_and_unit_cost(gi, n_g + index[s], supply, round(cost * FLOW_SCALE))
            arcs.append((g, s))
        if not own:
            flow.add_arc_with_capacity_and_unit_cost(gi, sink, supply, round(weights.over * FLOW_SCALE))
            arcs.append((g, ""))
    for si in range(n_s):
        r = int(required[si, p])
        node = n_g + si
        steep = round(weights.under * weights.under_steep * FLOW_SCALE)
        first = round(weights.under * FLOW_SCALE)
        if r > 1:
            flow.add_arc_with_capacity_and_unit_cost(node, sink, r - 1, -steep)
        if r > 0:
            flow.add_arc_with_capacity_and_unit_cost(node, sink, 1, -first)
        flow.add_arc_with_capacity_and_unit_cost(node, sink, max(total, 1), round(weights.over * FLOW_SCALE))
    flow.set_node_supply(sink, -total)
    status = flow.solve()
    if status != flow.OPTIMAL:  # pragma: no cover - always feasible: every group has an arc to the sink
        raise RuntimeError(f"skill allocation flow ended with status {status}")
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for arc, (g, s) in enumerate(arcs):
        amount = flow.flow(arc)
        if amount and s:
            out[g][s] = out[g].get(s, 0) + amount
    return out
