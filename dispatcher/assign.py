"""Live assignment hot path: a maximum-weight b-matching of tasks to agents, exact, on numpy arrays.

The eligible pairs come in as three parallel arrays (``task``, ``agent``, ``score``); ``capacity[a]``
is how many more tasks agent ``a`` may take now. The optimum is found with OR-Tools'
``SimpleMinCostFlow`` on integer-scaled costs (built with the vectorised arc API).

Optional ``task_layer`` (0 = most important) makes the objective lexicographic: first serve as many
layer-0 tasks as possible, then as many layer-1 tasks, ... and among those the largest total score.
This is exact in one flow: each served task of layer ``l`` gets a bonus ``G * (L - l)`` with
``G`` larger than any score difference an alternating path can make (see ``_layer_gap``).

Speed comes from structure, each step exact (tests compare every path with brute force and with the
plain flow on all arcs):

1. trivial cases: no arcs, no contention (each task takes its best agent), a single agent;
2. task classes: tasks with the same eligible agents and the same score profile
   (gain(t, a) = base[t] + offset[a], e.g. task priority + agent terms, as the policy scores) are
   interchangeable, so the flow runs on classes with one unit arc per task (``_solve_classes``);
   found by hashing per task and then checked arc by arc, never trusted;
3. otherwise column pruning: an agent only needs its best C arcs into a group of tasks sharing the
   same eligible agents, C = those agents' capacity (``_prune_columns``), then the plain flow.

Pairs grouped by task with agents ascending (what ``AssignmentPolicy.score_pairs`` returns) skip a
sort; any order is accepted. Deterministic for equal inputs.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from dispatcher.errors import InvalidInput

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

_COST_BUDGET = 2**62
"""OR-Tools scales costs by (nodes + 1) internally; costs times that must stay inside int64."""
_SMALL = 2048
"""Below this many arcs the plain graph is solved directly (structure detection would cost more)."""
_BLOCK = 1 << 17
"""Arcs per block in the per-arc passes: temporaries stay small and in cache."""
_MAX_SCORE_UNITS = 2**30
"""Finest integer resolution of scores: the largest score maps to at most this many units."""


@dataclass(frozen=True, slots=True)
class ArrayAssignment:
    """Result of :func:`assign_arrays`: the agent of every task (-1 = unassigned) and the total score."""

    task_agent: IntArray
    objective: float

    @property
    def n_assigned(self) -> int:
        return int(np.count_nonzero(self.task_agent >= 0))


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Validated input: eligible pairs with positive capacity, scores and integer gains."""

    task: IntArray
    agent: IntArray
    score: FloatArray
    gain: IntArray  # integer-scaled score, > 0
    capacity: IntArray
    n_tasks: int
    layer_bonus: IntArray | None  # per task, integer; None when no layers


def _int_array(values: object, name: str) -> IntArray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidInput(f"{name} must be a one-dimensional array, got shape {arr.shape}", field=name)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise InvalidInput(f"{name} must hold integers, got dtype {arr.dtype}", field=name)
    if arr.dtype.kind == "f" and (not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr))):
        raise InvalidInput(f"{name} must hold whole numbers", field=name)
    return arr.astype(np.int64, copy=False)


def _validate(
    task: object,
    agent: object,
    score: object,
    capacity: object,
    n_tasks: int,
    task_layer: object | None,
) -> tuple[IntArray, IntArray, FloatArray, IntArray, IntArray | None]:
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, int | np.integer) or n_tasks < 0:
        raise InvalidInput(f"n_tasks must be an integer >= 0, got {n_tasks!r}", field="n_tasks")
    t = _int_array(task, "task")
    a = _int_array(agent, "agent")
    s = np.asarray(score)
    if s.ndim != 1:
        raise InvalidInput(f"score must be a one-dimensional array, got shape {s.shape}", field="score")
    if s.size and s.dtype.kind not in "iuf":
        raise InvalidInput(f"score must hold numbers, got dtype {s.dtype}", field="score")
    s = s.astype(np.float64, copy=False)
    cap = _int_array(capacity, "capacity")
    if not len(t) == len(a) == len(s):
        raise InvalidInput(
            f"task, agent and score must have the same length, got {len(t)}, {len(a)} and {len(s)}",
            field="score" if len(t) == len(a) else "agent",
        )
    if len(s):
        # Reductions first (no temporaries); locate the culprit only when something is wrong.
        if not (s.min() > 0 and np.isfinite(s.max())):
            bad = ~(np.isfinite(s) & (s > 0))
            row = int(np.flatnonzero(bad)[0])
            raise InvalidInput(f"score[{row}] is {s[row]}: scores must be finite and > 0", field="score", row=row)
        if t.min() < 0 or t.max() >= n_tasks:
            row = int(np.flatnonzero((t < 0) | (t >= n_tasks))[0])
            raise InvalidInput(f"task[{row}] = {t[row]} is out of range 0..{n_tasks - 1}", field="task", row=row)
        if a.min() < 0 or a.max() >= len(cap):
            row = int(np.flatnonzero((a < 0) | (a >= len(cap)))[0])
            raise InvalidInput(
                f"agent[{row}] = {a[row]} is out of range 0..{len(cap) - 1} (len(capacity))",
                field="agent",
                row=row,
            )
    if len(cap) and cap.min() < 0:
        row = int(np.argmin(cap))
        raise InvalidInput(f"capacity[{row}] is {cap[row]}: must be >= 0", field="capacity", row=row)
    layer: IntArray | None = None
    if task_layer is not None:
        layer = _int_array(task_layer, "task_layer")
        if len(layer) != n_tasks:
            raise InvalidInput(
                f"task_layer must have n_tasks = {n_tasks} entries, got {len(layer)}", field="task_layer"
            )
        if len(layer) and layer.min() < 0:
            raise InvalidInput("task_layer must be >= 0 (0 = most important)", field="task_layer")
    return t, a, s, cap, layer


def _integer_gains(score: FloatArray, n_units: int) -> IntArray:
    """Scores as positive int64 gains.

    Scores on a binary grid (whole numbers, policy terms quantised to 1/1024, ...) become integers
    exactly, by the smallest power of two that does it, so sums and equal profiles stay exact. Other
    scores are rounded after scaling by the largest power of two that maps the top to <= ``n_units``.
    """
    if score.size == 0:
        return np.zeros(0, dtype=np.int64)
    top = float(score.max())
    scale = float(2.0 ** np.floor(np.log2(n_units / top)))
    gains = np.empty(len(score), dtype=np.int64)
    common = 0
    for lo in range(0, len(score), _BLOCK):
        scaled = score[lo : lo + _BLOCK] * scale
        whole = scaled.astype(np.int64)
        if not bool(np.all(whole == scaled)):
            rounded: IntArray = np.maximum(np.round(score * scale), 1).astype(np.int64)
            return rounded
        gains[lo : lo + _BLOCK] = whole
        common |= int(np.bitwise_or.reduce(whole))
    shift = (common & -common).bit_length() - 1  # trailing zero bits shared by every gain
    if shift > 0:
        gains >>= shift
    return gains


def _prepare(
    task: object,
    agent: object,
    score: object,
    capacity: object,
    n_tasks: int,
    task_layer: object | None,
) -> _Pairs:
    t, a, s, cap, layer = _validate(task, agent, score, capacity, n_tasks, task_layer)
    if len(a) and bool(np.any(cap == 0)):
        keep = cap[a] > 0
        t, a, s = t[keep], a[keep], s[keep]
    n_nodes = int(n_tasks) + len(cap) + 2
    n_layers = int(layer.max()) + 1 if layer is not None and len(layer) else 1
    most_served = min(int(n_tasks), int(cap.sum()))
    # max cost ~ (n_layers + 1) * (most_served + 1) * units when layered; must fit the budget / n_nodes.
    spread = (n_layers + 1) * (most_served + 1) if layer is not None else 1
    units = int(min(_MAX_SCORE_UNITS, _COST_BUDGET // (4 * n_nodes * spread)))
    if units < 16:
        raise InvalidInput(
            f"instance too large for exact integer costs ({n_tasks} tasks, {n_layers} layers)",
            field="n_tasks",
        )
    gain = _integer_gains(s, units)
    bonus: IntArray | None = None
    if layer is not None:
        gap = _layer_gap(gain, most_served)
        bonus = (n_layers - layer).astype(np.int64) * gap
    return _Pairs(t, a, s, gain, cap, int(n_tasks), bonus)


def _layer_gap(gain: IntArray, most_served: int) -> int:
    """A bonus step larger than what any alternating path can lose in total gain.

    Two assignments differ by alternating paths; a path loses at most the gains of the arcs it
    drops, and those belong to distinct served tasks, so less than ``most_served * max(gain)``
    (most_served = min(tasks, total capacity)). A path that serves one more task of a higher layer
    (dropping at most one lower one) therefore always wins: the layers are strictly lexicographic.
    """
    top = int(gain.max()) if gain.size else 1
    return most_served * top + 1


def _result(p: _Pairs, chosen: NDArray[np.integer[Any]]) -> ArrayAssignment:
    """Assignment from the indices of the chosen arcs (summed in arc order, so every path agrees)."""
    chosen = np.sort(chosen)
    task_agent = np.full(p.n_tasks, -1, dtype=np.int64)
    task_agent[p.task[chosen]] = p.agent[chosen]
    return ArrayAssignment(task_agent=task_agent, objective=float(p.score[chosen].sum()))


def _solve_flow(
    tails: IntArray, heads: IntArray, caps: IntArray, costs: IntArray, source: int, sink: int, supply: int
) -> tuple[min_cost_flow.SimpleMinCostFlow, IntArray]:
    """Min-cost flow of ``supply`` units from source to sink; returns the solver and arc ids."""
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64), costs.astype(np.int64)
    )
    smcf.set_nodes_supplies(np.array([source, sink], dtype=np.int32), np.array([supply, -supply], dtype=np.int64))
    status = smcf.solve()
    if status != smcf.OPTIMAL:  # pragma: no cover - the bypass arc makes every instance feasible
        raise RuntimeError(f"min-cost flow failed with status {status}")
    return smcf, np.asarray(arcs, dtype=np.int64)


def _subset(p: _Pairs, arcs: IntArray) -> _Pairs:
    return _Pairs(p.task[arcs], p.agent[arcs], p.score[arcs], p.gain[arcs], p.capacity, p.n_tasks, p.layer_bonus)


def _solve_plain(p: _Pairs) -> ArrayAssignment:
    """One min-cost flow on all eligible arcs: source -> task -> agent -> sink, plus a bypass arc."""
    n_agents = len(p.capacity)
    tasks_used = np.unique(p.task)
    source = p.n_tasks + n_agents
    sink = source + 1
    supply = len(tasks_used)
    src_cost = -p.layer_bonus[tasks_used] if p.layer_bonus is not None else np.zeros(supply, np.int64)
    agents_used = np.unique(p.agent)
    tails = np.concatenate([np.full(supply, source), p.task, agents_used + p.n_tasks, [source]])
    heads = np.concatenate([tasks_used, p.agent + p.n_tasks, np.full(len(agents_used), sink), [sink]])
    caps = np.concatenate(
        [np.ones(supply, np.int64), np.ones(len(p.task), np.int64), p.capacity[agents_used], [supply]]
    )
    costs = np.concatenate([src_cost, -p.gain, np.zeros(len(agents_used) + 1, np.int64)])
    smcf, arcs = _solve_flow(tails, heads, caps, costs, source, sink, supply)
    pair_arcs = arcs[supply : supply + len(p.task)]
    return _result(p, np.flatnonzero(np.asarray(smcf.flows(pair_arcs.astype(np.int32))) > 0))


def _best_arc_per_task(p: _Pairs) -> IntArray:
    """Index of each task's best arc (highest gain, then lowest agent index)."""
    order = np.lexsort((p.agent, -p.gain, p.task))
    first = np.ones(len(order), dtype=bool)
    first[1:] = p.task[order[1:]] != p.task[order[:-1]]
    best: IntArray = order[first].astype(np.int64)
    return best


def _fast_path(p: _Pairs) -> ArrayAssignment | None:
    """Trivial instances: no arcs; no contention (every agent can take all its eligible tasks: each
    task takes its best agent); or a single agent (it takes its best tasks)."""
    if len(p.task) == 0:
        return _result(p, np.zeros(0, dtype=np.int64))
    if len(p.task) <= int(p.capacity.sum()):  # otherwise some agent surely has more arcs than room
        demand = np.bincount(p.agent, minlength=len(p.capacity))
        if np.all(demand <= p.capacity):
            return _result(p, _best_arc_per_task(p))
    if p.agent.min() == p.agent.max():
        best = _best_arc_per_task(p)
        value = p.gain[best] + (p.layer_bonus[p.task[best]] if p.layer_bonus is not None else 0)
        room = int(p.capacity[p.agent[0]])
        return _result(p, best[np.lexsort((p.task[best], -value))[:room]])
    return None


_KEY_SEED = 0x5EED_D15B
"""Fixed seed of the random hash keys: grouping is deterministic (and verified exactly)."""


@functools.lru_cache(maxsize=16)
def _hash_keys(n: int, salt: int) -> NDArray[np.uint64]:
    """``n`` fixed odd random 64-bit keys (read-only, cached: live dispatch reuses the same sizes)."""
    keys: NDArray[np.uint64] = np.random.default_rng(_KEY_SEED + salt).integers(
        1, 2**63, size=max(n, 1), dtype=np.uint64
    ) | np.uint64(1)
    keys.setflags(write=False)
    return keys


@dataclass(frozen=True, slots=True)
class _Layout:
    """The arcs in task-major order (agents ascending within a task), with per-task offsets."""

    order: IntArray | None  # task-major position -> original arc index; None when already in order
    task: IntArray
    agent: IntArray
    gain: IntArray
    used: IntArray  # tasks with at least one arc, ascending
    start: IntArray  # first arc of each used task
    degree: IntArray  # arcs of each used task
    blocks: list[tuple[int, int, int, int]]  # whole-task blocks: (first, end) used task, (first, end) arc

    def original(self, arcs: IntArray) -> IntArray:
        return arcs if self.order is None else self.order[arcs]


def _layout(p: _Pairs) -> _Layout | None:
    """Task-major view of the arcs; None if two arcs repeat a (task, agent) pair (the plain solver
    handles such parallel arcs)."""
    n = len(p.task)
    width = max(len(p.capacity), 1)
    in_order = True
    for lo in range(0, max(n - 1, 0), _BLOCK):
        hi = min(n, lo + _BLOCK + 1)
        key = p.task[lo:hi] * width + p.agent[lo:hi]
        if not bool(np.all(key[1:] > key[:-1])):
            in_order = False
            break
    order: IntArray | None = None
    task, agent, gain = p.task, p.agent, p.gain
    if not in_order:
        order = np.lexsort((p.agent, p.task)).astype(np.int64)
        task, agent, gain = p.task[order], p.agent[order], p.gain[order]
        if bool(np.any((task[1:] == task[:-1]) & (agent[1:] == agent[:-1]))):
            return None
    degree_all = np.bincount(task)
    used = np.flatnonzero(degree_all).astype(np.int64)
    degree = degree_all[used]
    start = np.zeros(len(used), dtype=np.int64)
    np.cumsum(degree[:-1], out=start[1:])
    cuts = np.unique(np.searchsorted(start, np.arange(0, n, _BLOCK), side="left"))
    bounds = [*cuts.tolist(), len(start)]
    arc_at = [*start.tolist(), n]
    blocks = [(lo, hi, arc_at[lo], arc_at[hi]) for lo, hi in itertools.pairwise(bounds) if hi > lo]
    return _Layout(order, task, agent, gain, used, start, degree, blocks)


def _task_hashes(lay: _Layout, n_agents: int) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """Per used task: a hash of its agent set and one of its set plus score profile (gains minus the
    gain on its first agent). Arithmetic wraps mod 2**64 and is linear, so no per-arc offsets are
    needed. Equal hashes are only candidates; callers verify exactly."""
    set_keys = _hash_keys(n_agents, 0)
    profile_keys = _hash_keys(n_agents, 1)
    signature = np.empty(len(lay.used), dtype=np.uint64)
    profile = np.empty(len(lay.used), dtype=np.uint64)
    for lo, hi, arc_lo, arc_hi in lay.blocks:
        first = lay.start[lo:hi] - arc_lo
        agents = lay.agent[arc_lo:arc_hi]
        gains = lay.gain[arc_lo:arc_hi].view(np.uint64)
        keys = profile_keys[agents]
        signature[lo:hi] = np.add.reduceat(set_keys[agents], first)
        weighted = np.add.reduceat(gains * keys, first)
        profile[lo:hi] = weighted - gains[first] * np.add.reduceat(keys, first)
    signature += lay.degree.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    profile = profile * np.uint64(0xBF58476D1CE4E5B9) + signature
    return signature, profile


@dataclass(frozen=True, slots=True)
class _Classes:
    """Used tasks grouped into classes: same eligible agents and gain(t, a) = base[t] + offset[class, a]."""

    klass: IntArray  # class of each used task
    rep_start: IntArray  # first arc of the representative task of each class
    degree: IntArray  # number of eligible agents of each class


def _group(keys: NDArray[np.uint64]) -> tuple[IntArray, IntArray]:
    """(representative row of each group, group of each row) for equal keys."""
    _, rep_row, group = np.unique(keys, return_index=True, return_inverse=True)
    return rep_row.astype(np.int64), group.reshape(-1).astype(np.int64)


def _classes(lay: _Layout, profile: NDArray[np.uint64]) -> _Classes | None:
    """Classes of interchangeable tasks, checked arc by arc against the representative (None on a hash
    collision, so the caller falls back)."""
    rep_row, klass = _group(profile)
    if not bool(np.all(lay.degree == lay.degree[rep_row][klass])):
        return None
    rep_first = lay.start[rep_row][klass]
    base = lay.gain[lay.start]
    shift = rep_first - lay.start  # arc index of the representative's arc in the same column
    drift = base[rep_row][klass] - base  # its gain minus ours, the same in every column
    for lo, hi, arc_lo, arc_hi in lay.blocks:
        ref = np.arange(arc_lo, arc_hi, dtype=np.int64) + np.repeat(shift[lo:hi], lay.degree[lo:hi])
        if not bool(np.all(lay.agent[ref] == lay.agent[arc_lo:arc_hi])):
            return None
        expected = np.repeat(drift[lo:hi], lay.degree[lo:hi])
        if not bool(np.all(lay.gain[ref] - lay.gain[arc_lo:arc_hi] == expected)):
            return None
    return _Classes(klass, lay.start[rep_row], lay.degree[rep_row])


def _solve_classes(p: _Pairs, lay: _Layout, classes: _Classes) -> ArrayAssignment:
    """Exact min-cost flow on task classes instead of tasks.

    Within a class every task has the same eligible agents and gain(t, a) = base[t] + offset[a], so
    which tasks of a class are served only matters through base[t]: the class gets one unit arc per
    task (cost -base) and one arc per agent (cost -offset). A class never needs more units than the
    capacity of its agents, so only its top tasks get unit arcs (swapping a served lower task for an
    unserved top one on the same agent never loses).
    """
    n_classes = len(classes.rep_start)
    bonus = p.layer_bonus[lay.used] if p.layer_bonus is not None else 0
    value = lay.gain[lay.start] + bonus  # base gain of each used task (layer bonus included)

    # Class -> agent arcs: the representative's arcs.
    class_of_arc = np.repeat(np.arange(n_classes, dtype=np.int64), classes.degree)
    arc_start = np.zeros(n_classes, dtype=np.int64)
    np.cumsum(classes.degree[:-1], out=arc_start[1:])
    arc_col = np.arange(len(class_of_arc), dtype=np.int64) - arc_start[class_of_arc]
    rep_arc = classes.rep_start[class_of_arc] + arc_col
    arc_agent = lay.agent[rep_arc]
    arc_offset = lay.gain[rep_arc] - lay.gain[classes.rep_start][class_of_arc]
    reach = np.add.reduceat(p.capacity[arc_agent], arc_start)  # capacity of each class's agents

    # Unit arcs: the top min(size, reach) tasks of each class by value (ties: lower task id).
    by_class = np.lexsort((lay.used, -value, classes.klass)).astype(np.int64)
    sorted_class = classes.klass[by_class]
    size = np.bincount(classes.klass, minlength=n_classes)
    class_start = np.zeros(n_classes, dtype=np.int64)
    np.cumsum(size[:-1], out=class_start[1:])
    rank = np.arange(len(by_class), dtype=np.int64) - class_start[sorted_class]
    units = by_class[rank < reach[sorted_class]]  # used-task rows, grouped by class
    unit_class = classes.klass[units]
    n_units = len(units)
    unit_count = np.bincount(unit_class, minlength=n_classes)

    agents_used = np.unique(arc_agent)
    n_agents = len(p.capacity)
    source, sink = n_classes + n_agents, n_classes + n_agents + 1
    tails = np.concatenate([np.full(n_units, source), class_of_arc, agents_used + n_classes, [source]])
    heads = np.concatenate([unit_class, arc_agent + n_classes, np.full(len(agents_used), sink), [sink]])
    caps = np.concatenate(
        [
            np.ones(n_units, np.int64),
            np.minimum(p.capacity[arc_agent], unit_count[class_of_arc]),
            p.capacity[agents_used],
            [n_units],
        ]
    )
    costs = np.concatenate([-value[units], -arc_offset, np.zeros(len(agents_used) + 1, np.int64)])
    smcf, arcs = _solve_flow(tails, heads, caps, costs, source, sink, n_units)
    unit_flow = np.asarray(smcf.flows(arcs[:n_units].astype(np.int32))) > 0
    arc_flow = np.asarray(smcf.flows(arcs[n_units : n_units + len(class_of_arc)].astype(np.int32)))

    # Hand each class's served tasks to its agents: served units and agent slots, both in class order.
    served = units[unit_flow]
    slot_arc = np.repeat(np.arange(len(class_of_arc), dtype=np.int64), arc_flow)
    return _result(p, lay.original(lay.start[served] + arc_col[slot_arc]))


def _prune_columns(p: _Pairs, lay: _Layout, signature: NDArray[np.uint64]) -> IntArray | None:
    """Arcs (original indices) worth keeping, or None when pruning would cut less than a tenth.

    Tasks with the same eligible agents form a group; a group can have at most C of its tasks served,
    C = capacity of its agents. So agent ``a`` only needs its best C arcs into the group: if it served
    a task outside them, one of those C would be unserved and swapping on ``a`` never loses.
    """
    rep_row, group = _group(signature)
    size = np.bincount(group, minlength=len(rep_row))
    rep_degree = lay.degree[rep_row]
    rep_arcs = np.repeat(lay.start[rep_row] - np.cumsum(rep_degree) + rep_degree, rep_degree) + np.arange(
        int(rep_degree.sum())
    )
    reach = np.add.reduceat(p.capacity[lay.agent[rep_arcs]], np.cumsum(rep_degree) - rep_degree)
    crowded = np.flatnonzero(size > reach)  # groups with more tasks than their agents can take
    # At most reach x width arcs survive in a crowded group; skip when that would barely help.
    saved = int(((size[crowded] - reach[crowded]) * rep_degree[crowded]).sum())
    if saved < len(lay.task) // 10:
        return None
    bonus = p.layer_bonus[lay.used] if p.layer_bonus is not None else np.zeros(len(lay.used), np.int64)
    keep_task = ~np.isin(group, crowded)
    keep_parts: list[IntArray] = [np.flatnonzero(np.repeat(keep_task, lay.degree))]
    for g in crowded.tolist():
        rows = np.flatnonzero(group == g)
        width = int(rep_degree[g])
        if not bool(np.all(lay.degree[rows] == width)):
            return None  # hash collision: different agent sets
        arcs = lay.start[rows][:, None] + np.arange(width)[None, :]
        agents = lay.agent[arcs]
        if not bool(np.all(agents == agents[0])):
            return None  # hash collision: different agent sets
        cut = len(rows) - int(reach[g])
        values = (lay.gain[arcs] + bonus[rows][:, None]).T  # (agents, tasks)
        kth = np.partition(values, cut, axis=1)[:, cut]  # each agent's reach-th best value
        keep_parts.append(arcs.T[values >= kth[:, None]])
    return lay.original(np.concatenate(keep_parts))


def assign_arrays(
    task: object,
    agent: object,
    score: object,
    capacity: object,
    n_tasks: int,
    *,
    task_layer: object | None = None,
) -> ArrayAssignment:
    """Maximum-total-score assignment of tasks to agents over the eligible pairs, exactly.

    ``task[i], agent[i], score[i]`` is one eligible pair (score > 0, higher is better); each task goes
    to at most one agent and agent ``a`` takes at most ``capacity[a]`` tasks. With ``task_layer``,
    lower layers strictly dominate (see module docstring). Deterministic for equal inputs.
    """
    p = _prepare(task, agent, score, capacity, n_tasks, task_layer)
    quick = _fast_path(p)
    if quick is not None:
        return quick
    if len(p.task) < _SMALL:
        return _solve_plain(p)
    lay = _layout(p)
    if lay is None:
        return _solve_plain(p)
    signature, profile = _task_hashes(lay, len(p.capacity))
    if len(np.unique(profile)) <= len(lay.used) // 2:
        classes = _classes(lay, profile)
        if classes is not None:
            return _solve_classes(p, lay, classes)
    kept = _prune_columns(p, lay, signature)
    return _solve_plain(p) if kept is None else _solve_plain(_subset(p, kept))


def assign_arrays_plain(
    task: object,
    agent: object,
    score: object,
    capacity: object,
    n_tasks: int,
    *,
    task_layer: object | None = None,
) -> ArrayAssignment:
    """Reference solver: one OR-Tools min-cost flow on all eligible arcs, no shortcuts."""
    return _solve_plain(_prepare(task, agent, score, capacity, n_tasks, task_layer))
