"""Scoring policy and domain-level assignment: one hand-checked case per term, invariants, explain."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.domain import Agent, Interval, Quadrant, Shift, Task
from dispatcher.errors import InvalidInput
from dispatcher.policy import AgentState, Assignment, AssignmentPolicy, assign

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def agent(
    agent_id: str,
    skills: dict[str, int] | None = None,
    primary: set[str] | None = None,
    capacity: int = 1,
    **state: object,
) -> AgentState:
    skills = skills or {"billing": 3}
    primary_skills = frozenset(skills) if primary is None else frozenset(primary)
    person = Agent(agent_id, agent_id.upper(), skills, primary_skills, capacity=capacity)
    return AgentState(person, **state)  # type: ignore[arg-type]


def task(
    task_id: str,
    quadrant: Quadrant = Quadrant.Q2,
    age_min: float = 0.0,
    skill: str = "billing",
    **extra: object,
) -> Task:
    return Task(
        task_id,
        skill,
        urgent=quadrant.urgent,
        important=quadrant.important,
        created_at=NOW - timedelta(minutes=age_min),
        **extra,  # type: ignore[arg-type]
    )


def shift_for(agent_id: str, ends_in_min: float, break_in_min: float | None = None) -> Shift:
    breaks = ()
    if break_in_min is not None:
        start = NOW + timedelta(minutes=break_in_min)
        breaks = (Interval(start, start + timedelta(minutes=15)),)
    return Shift(agent_id, NOW - timedelta(hours=4), NOW + timedelta(minutes=ends_in_min), breaks=breaks)


# -- one case per policy term -------------------------------------------------------------------


def test_q1_task_is_served_before_a_q4_task_that_scores_far_higher() -> None:
    old_q4 = task("q4", Quadrant.Q4, age_min=25, previous_agent="a")
    fresh_q1 = task("q1", Quadrant.Q1)
    result = assign([old_q4, fresh_q1], [agent("a")], NOW)
    assert result.pairs == (("q1", "a"),)
    assert result.unassigned == ("q4",)


def test_without_strict_quadrants_a_long_waiting_q4_task_can_beat_a_fresh_q2_task() -> None:
    policy = AssignmentPolicy(strict_quadrants=False, quadrant_weights={"Q1": 4, "Q2": 3, "Q3": 2, "Q4": 1})
    result = assign([task("q2", Quadrant.Q2), task("q4", Quadrant.Q4, age_min=40)], [agent("a")], NOW, policy)
    assert result.agent_for("q4") == "a"
    strict = assign([task("q2", Quadrant.Q2), task("q4", Quadrant.Q4, age_min=40)], [agent("a")], NOW)
    assert strict.agent_for("q2") == "a"


def test_older_task_of_the_same_quadrant_goes_first() -> None:
    result = assign([task("new", age_min=1), task("old", age_min=20)], [agent("a")], NOW)
    assert result.pairs == (("old", "a"),)


def test_task_past_its_sla_escalation_moves_up_a_layer_and_is_not_starved() -> None:
    overdue_q4 = task("q4", Quadrant.Q4, age_min=70)  # due 30 min, alert 45, escalate 60
    fresh_q3 = task("q3", Quadrant.Q3)
    assert assign([overdue_q4, fresh_q3], [agent("a")], NOW).agent_for("q4") == "a"
    frozen = AssignmentPolicy(promote_overdue=False)
    assert assign([overdue_q4, fresh_q3], [agent("a")], NOW, frozen).agent_for("q3") == "a"


def test_more_proficient_agent_gets_the_task() -> None:
    result = assign([task("t")], [agent("low", {"billing": 2}), agent("high", {"billing": 5})], NOW)
    assert result.agent_for("t") == "high"


def test_important_work_prefers_the_primary_owner_and_delegated_work_the_auxiliary() -> None:
    owner = agent("owner", {"billing": 3}, primary={"billing"})
    helper = agent("helper", {"billing": 4, "tech": 3}, primary={"tech"})
    assert assign([task("q1", Quadrant.Q1)], [owner, helper], NOW).agent_for("q1") == "owner"
    level = agent("helper", {"billing": 3, "tech": 3}, primary={"tech"})
    assert assign([task("q3", Quadrant.Q3)], [owner, level], NOW).agent_for("q3") == "helper"


def test_auxiliary_holders_can_be_kept_off_important_quadrants() -> None:
    policy = AssignmentPolicy(auxiliary_quadrants=frozenset({Quadrant.Q3, Quadrant.Q4}))
    helper = agent("helper", {"billing": 5, "tech": 3}, primary={"tech"})
    result = assign([task("q1", Quadrant.Q1), task("q3", Quadrant.Q3)], [helper], NOW, policy)
    assert result.pairs == (("q3", "helper"),)
    assert "auxiliary" in result.explain("q1")["reason"]


def test_less_loaded_agent_gets_the_task() -> None:
    busy = agent("busy", capacity=2, active_tasks=1)
    idle = agent("idle", capacity=2)
    assert assign([task("t")], [busy, idle], NOW).agent_for("t") == "idle"


def test_agent_with_less_handling_time_today_gets_the_task() -> None:
    tired = agent("tired", handled_today_s=6 * 3600)
    fresh = agent("fresh", handled_today_s=600)
    assert assign([task("t")], [tired, fresh], NOW).agent_for("t") == "fresh"


def test_long_task_does_not_go_to_an_agent_whose_shift_ends_first() -> None:
    leaving = agent("leaving", {"billing": 5}, shift=shift_for("leaving", ends_in_min=5))
    staying = agent("staying", {"billing": 1}, shift=shift_for("staying", ends_in_min=240))
    long_task = task("long", expected_handle_s=600)
    short_task = task("short", expected_handle_s=120)
    assert assign([long_task], [leaving, staying], NOW).agent_for("long") == "staying"
    assert assign([short_task], [leaving, staying], NOW).agent_for("short") == "leaving"


def test_long_task_does_not_go_to_an_agent_whose_break_starts_first() -> None:
    soon_break = agent("a", {"billing": 5}, shift=shift_for("a", ends_in_min=240, break_in_min=4))
    result = assign([task("long", expected_handle_s=600)], [soon_break], NOW)
    assert result.unassigned == ("long",)
    assert "shift/break" in result.explain("long")["reason"]


def test_only_available_on_shift_agents_with_spare_capacity_are_used() -> None:
    offline = agent("offline", {"billing": 5}, available=False)
    on_break = agent("on_break", {"billing": 5}, shift=shift_for("on_break", ends_in_min=120, break_in_min=-5))
    full = agent("full", {"billing": 5}, active_tasks=1)
    gone = agent("gone", {"billing": 5}, shift=Shift("gone", NOW - timedelta(hours=9), NOW - timedelta(hours=1)))
    result = assign([task("t")], [offline, on_break, full, gone], NOW)
    assert result.unassigned == ("t",)
    reason = result.explain("t")["reason"]
    assert "off duty or unavailable" in reason and "at capacity" in reason
    assert assign([task("t")], [offline, agent("ok", {"billing": 1})], NOW).agent_for("t") == "ok"


def test_returning_customer_goes_back_to_the_previous_agent() -> None:
    before = agent("before", {"billing": 2})
    expert = agent("expert", {"billing": 5})
    result = assign([task("t", previous_agent="before")], [before, expert], NOW)
    assert result.agent_for("t") == "before"


# -- explain ------------------------------------------------------------------------------------


def test_explain_names_the_chosen_agent_its_terms_and_the_runner_up() -> None:
    result = assign([task("t", Quadrant.Q1)], [agent("low", {"billing": 2}), agent("high", {"billing": 5})], NOW)
    why = json.loads(json.dumps(result.explain("t")))
    assert why["assigned_to"] == "high"
    assert sum(why["terms"].values()) == pytest.approx(why["score"])
    assert why["runner_up"]["agent_id"] == "low"
    assert why["runner_up"]["terms"]["proficiency"] < why["terms"]["proficiency"]


def test_explain_of_a_waiting_task_says_who_could_have_taken_it() -> None:
    result = assign([task("q1", Quadrant.Q1), task("q2", Quadrant.Q2)], [agent("a")], NOW)
    why = result.explain("q2")
    assert why["assigned_to"] is None
    assert why["runner_up"]["agent_id"] == "a"
    assert "filled" in why["reason"]
    with pytest.raises(InvalidInput):
        result.explain("nope")


# -- bad input ----------------------------------------------------------------------------------


def test_unknown_skill_is_rejected_naming_the_task() -> None:
    catalogue = AssignmentPolicy(skills=frozenset({"billing", "tech"}))
    with pytest.raises(InvalidInput) as err:
        assign([task("ok"), task("t", skill="legal")], [agent("a")], NOW, catalogue)
    assert err.value.field == "tasks" and err.value.row == 1 and "legal" in str(err.value)


def test_task_whose_skill_no_present_agent_holds_waits_and_says_why() -> None:
    catalogue = AssignmentPolicy(skills=frozenset({"billing", "tech"}))
    result = assign([task("b"), task("t", skill="tech")], [agent("a")], NOW, catalogue)
    assert result.pairs == (("b", "a"),)
    assert result.explain("t")["reason"] == "no agent has skill 'tech'"


def test_duplicate_ids_and_naive_time_are_rejected() -> None:
    with pytest.raises(InvalidInput) as err:
        assign([task("t"), task("t")], [agent("a")], NOW)
    assert err.value.field == "tasks"
    with pytest.raises(InvalidInput) as err:
        assign([task("t")], [agent("a"), agent("a")], NOW)
    assert err.value.field == "agents"
    with pytest.raises(InvalidInput) as err:
        assign([task("t")], [agent("a")], NOW.replace(tzinfo=None))
    assert err.value.field == "now"


def test_bad_state_and_weights_are_rejected() -> None:
    with pytest.raises(InvalidInput) as err:
        agent("a", active_tasks=-1)
    assert err.value.field == "active_tasks"
    with pytest.raises(InvalidInput) as err:
        AssignmentPolicy(load_weight=-1.0)
    assert err.value.field == "load_weight"
    with pytest.raises(InvalidInput) as err:
        AssignmentPolicy(quadrant_weights={"Q1": 1.0})
    assert err.value.field == "quadrant_weights"


# -- invariants over random batches ---------------------------------------------------------------

SKILLS = ("billing", "tech", "sales")


@st.composite
def batches(draw: st.DrawFn, max_tasks: int = 6, max_agents: int = 4) -> tuple[list[Task], list[AgentState]]:
    n_agents = draw(st.integers(1, max_agents))
    agents = []
    for k in range(n_agents):
        held = draw(st.lists(st.sampled_from(SKILLS), min_size=1, max_size=3, unique=True))
        levels = {s: draw(st.integers(1, 5)) for s in held}
        primary = {s for s in held if draw(st.booleans())}
        capacity = draw(st.integers(1, 2))
        state = AgentState(
            Agent(f"a{k}", f"A{k}", levels, frozenset(primary), capacity=capacity),
            available=draw(st.integers(0, 4)) > 0 or k == 0,
            active_tasks=draw(st.sampled_from([0, 0, 0, capacity])),
            handled_today_s=float(draw(st.integers(0, 8)) * 1800),
            shift=draw(st.sampled_from([None, shift_for(f"a{k}", 8), shift_for(f"a{k}", 120, break_in_min=3)])),
        )
        agents.append(state)
    known = sorted({s for a in agents for s in a.agent.skills})
    n_tasks = draw(st.integers(0, max_tasks))
    tasks = [
        Task(
            f"t{i}",
            draw(st.sampled_from(known)),
            urgent=draw(st.booleans()),
            important=draw(st.booleans()),
            created_at=NOW - timedelta(minutes=draw(st.integers(0, 90))),
            expected_handle_s=float(draw(st.sampled_from([60, 300, 900]))),
            previous_agent=draw(st.sampled_from([None, "a0", "a1"])),
        )
        for i in range(n_tasks)
    ]
    return tasks, agents


def lexicographic_key(result: Assignment, tasks: list[Task], layers: np.ndarray) -> tuple[int, ...]:
    index = {t.id: i for i, t in enumerate(tasks)}
    counts = [0] * 4
    for tid, _ in result.pairs:
        counts[int(layers[index[tid]])] += 1
    return tuple(counts)


@given(batch=batches())
@settings(max_examples=100, deadline=None)
def test_assignment_respects_eligibility_capacity_and_dominance_and_is_optimal(
    batch: tuple[list[Task], list[AgentState]],
) -> None:
    tasks, agents = batch
    policy = AssignmentPolicy()
    result = assign(tasks, agents, NOW, policy)
    scored = policy.score_pairs(tasks, agents, NOW)
    layers = policy.task_layers(tasks, NOW)
    assert layers is not None
    eligible = {
        (tasks[t].id, agents[a].agent.id): s for t, a, s in zip(scored.task, scored.agent, scored.score, strict=True)
    }
    by_id = {s.agent.id: s for s in agents}
    # Each task once, only eligible pairs, on-duty agents, capacity respected.
    assert len({tid for tid, _ in result.pairs}) == len(result.pairs)
    assert set(result.unassigned) | {tid for tid, _ in result.pairs} == {t.id for t in tasks}
    for tid, aid in result.pairs:
        assert (tid, aid) in eligible
        state = by_id[aid]
        assert state.on_duty(NOW)
        assert state.agent.has_skill(next(t.skill for t in tasks if t.id == tid))
    load = {aid: sum(1 for _, a in result.pairs if a == aid) for aid in by_id}
    assert all(load[aid] <= by_id[aid].spare for aid in by_id)
    # Maximal and strictly dominant: a waiting task's eligible agents are full, of no lower layer.
    layer_of = {t.id: int(layers[i]) for i, t in enumerate(tasks)}
    for tid, aid in eligible:
        if result.agent_for(tid) is None:
            assert load[aid] == by_id[aid].spare
            assert all(layer_of[other] <= layer_of[tid] for other, a in result.pairs if a == aid)
    # Optimal: brute force over all feasible assignments (lexicographic layers, then total score).
    options = [[None] + [aid for (tid, aid) in eligible if tid == t.id] for t in tasks]
    best = ((0,) * 4, 0.0)
    for combo in itertools.product(*options):
        chosen = [(t.id, a) for t, a in zip(tasks, combo, strict=True) if a is not None]
        if any(sum(1 for _, a in chosen if a == aid) > by_id[aid].spare for aid in by_id):
            continue
        counts = [0] * 4
        for tid, _ in chosen:
            counts[layer_of[tid]] += 1
        best = max(best, (tuple(counts), sum(eligible[c] for c in chosen)))
    assert lexicographic_key(result, tasks, layers) == best[0]
    assert result.objective == pytest.approx(best[1])
    # Deterministic.
    assert assign(tasks, agents, NOW, policy).pairs == result.pairs


@given(batch=batches(max_tasks=12, max_agents=5))
@settings(max_examples=40, deadline=None)
def test_every_explanation_is_json_and_consistent_with_the_pairs(batch: tuple[list[Task], list[AgentState]]) -> None:
    tasks, agents = batch
    result = assign(tasks, agents, NOW)
    for t in tasks:
        why = json.loads(json.dumps(result.explain(t.id)))
        assert why["assigned_to"] == result.agent_for(t.id)
        if why["assigned_to"] is not None:
            assert sum(why["terms"].values()) == pytest.approx(why["score"], abs=1e-3)


def test_with_no_agents_every_task_waits() -> None:
    result = assign([task("t", skill="legal")], [], NOW)
    assert result.pairs == () and result.unassigned == ("t",)
    assert result.explain("t")["reason"] == "no agent has skill 'legal'"
