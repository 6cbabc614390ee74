"""Proficiency re-estimation: shrinkage toward the team, bounded steps, previews that apply nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.domain import Agent
from dispatcher.errors import Conflict, InvalidInput
from dispatcher.feedback import (
    ReestimationConfig,
    apply_preview,
    outcomes_from_log,
    preview_proficiencies,
)
from dispatcher.scorecard import event_log_from_frame


def team(levels: dict[str, int]) -> list[Agent]:
    return [Agent(id=a, name=a, skills={"billing": lvl, "tech": 3}, team="red") for a, lvl in levels.items()]


def outcomes(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["agent_id", "skill", "handle_s", "fcr"])


def many(agent: str, n: int, handle: float, fcr: float, skill: str = "billing") -> list[tuple[str, str, float, float]]:
    return [(agent, skill, handle, fcr)] * n


def test_fast_resolving_agent_with_many_outcomes_moves_up_within_max_step() -> None:
    agents = team({"fast": 1, "mid": 3, "slow": 5})
    data = outcomes(many("fast", 100, 200, 0.9) + many("mid", 100, 300, 0.7) + many("slow", 100, 400, 0.5))
    preview = preview_proficiencies(agents, data, config=ReestimationConfig(min_outcomes=30, max_step=2))
    by_agent = {c.agent_id: c for c in preview.changes}
    assert by_agent["fast"].index > 1.1 > by_agent["mid"].index > 0.9 > by_agent["slow"].index
    assert (by_agent["fast"].proposed, by_agent["slow"].proposed) == (3, 3)  # from 1 and 5, two steps each
    assert by_agent["fast"].bounded and by_agent["fast"].estimated_level == 5
    assert by_agent["mid"].proposed == 3 and not by_agent["mid"].changed
    assert {c.agent_id for c in preview.diff} == {"fast", "slow"}


def test_small_sample_is_shrunk_toward_the_team_and_moves_one_step_at_most() -> None:
    agents = team({"new": 1, "old": 3})
    data = outcomes(many("new", 3, 100, 1.0) + many("old", 200, 300, 0.7))
    change = next(c for c in preview_proficiencies(agents, data).changes if c.agent_id == "new")
    # the raw AHT is 100 s, shrunk with 20 pseudo-outcomes toward the team mean
    team_aht = (3 * 100 + 200 * 300) / 203
    assert change.shrunk_aht_s == pytest.approx((3 * 100 + 20 * team_aht) / 23)
    assert change.outcomes == 3 and change.step_limit == 1 and change.proposed == 2


def test_skills_the_agent_does_not_hold_are_not_estimated() -> None:
    agents = team({"a": 3})
    data = outcomes(many("a", 50, 100, 1.0, skill="sales") + many("ghost", 50, 100, 1.0))
    assert preview_proficiencies(agents, data).changes == ()


def test_preview_is_computed_from_the_event_log_outcomes() -> None:
    rows = []
    for i in range(4):
        rows += [(f"t{i}", "created", f"2026-01-05T09:0{i}:00Z", "billing", "Q1", "", ""),
                 (f"t{i}", "accepted", f"2026-01-05T10:0{i}:00Z", "", "", "a", ""),
                 (f"t{i}", "completed", f"2026-01-05T11:0{i}:00Z", "", "", "a", str(100 * (i + 1)))]
    frame = pd.DataFrame(rows, columns=["task_id", "event", "at", "queue", "quadrant", "agent_id", "handle_s"])
    data = outcomes_from_log(event_log_from_frame(frame))
    assert sorted(data["handle_s"]) == [100, 200, 300, 400] and set(data["skill"]) == {"billing"}
    assert (data["fcr"] == 1.0).all()


def test_apply_preview_returns_new_agents_and_leaves_the_input_alone() -> None:
    agents = team({"fast": 1, "slow": 5})
    data = outcomes(many("fast", 100, 200, 0.9) + many("slow", 100, 400, 0.5))
    preview = preview_proficiencies(agents, data)
    updated = {a.id: a for a in apply_preview(agents, preview.diff)}
    assert updated["fast"].proficiency("billing") == 3 and updated["slow"].proficiency("billing") == 3
    assert agents[0].proficiency("billing") == 1  # unchanged input
    assert updated["fast"].proficiency("tech") == 3


def test_stale_preview_is_a_conflict() -> None:
    agents = team({"fast": 1, "slow": 5})
    data = outcomes(many("fast", 100, 200, 0.9) + many("slow", 100, 400, 0.5))
    preview = preview_proficiencies(agents, data)
    moved = team({"fast": 2, "slow": 5})
    with pytest.raises(Conflict, match="preview again"):
        apply_preview(moved, preview.diff)


def test_bad_config_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="small_sample_step"):
        ReestimationConfig(small_sample_step=3, max_step=2)
    with pytest.raises(InvalidInput, match="outcomes lack"):
        preview_proficiencies(team({"a": 1}), pd.DataFrame({"agent_id": ["a"]}))


@settings(max_examples=40, deadline=None)
@given(
    levels=st.lists(st.integers(1, 5), min_size=2, max_size=6),
    counts=st.lists(st.integers(1, 80), min_size=2, max_size=6),
    seed=st.integers(0, 2**16),
    min_outcomes=st.integers(1, 60),
    small_step=st.integers(0, 2),
)
def test_agents_below_min_outcomes_never_move_more_than_the_small_step(
    levels: list[int], counts: list[int], seed: int, min_outcomes: int, small_step: int
) -> None:
    size = min(len(levels), len(counts))
    rng = np.random.default_rng(seed)
    agents = team({f"a{i}": levels[i] for i in range(size)})
    rows = []
    for i in range(size):
        for _ in range(counts[i]):
            rows.append((f"a{i}", "billing", float(rng.lognormal(5, 1)), float(rng.random() < rng.random())))
    config = ReestimationConfig(min_outcomes=min_outcomes, small_sample_step=small_step, max_step=max(small_step, 2))
    preview = preview_proficiencies(agents, outcomes(rows), config=config)
    assert len(preview.changes) == size
    for change in preview.changes:
        assert 1 <= change.proposed <= 5
        limit = small_step if change.outcomes < min_outcomes else config.max_step
        assert abs(change.proposed - change.current) <= limit
