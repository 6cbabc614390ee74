from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dispatcher.datagen import REBOUND, WEEKDAY_FACTOR, GeneratorConfig, generate, median_handle_s
from dispatcher.errors import InvalidInput

CFG = GeneratorConfig(days=56, queues=3, agents=30, seed=11, start=date(2026, 1, 5), horizon_days=7)


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return generate(CFG)


def test_generation_is_deterministic_for_a_seed(data) -> None:  # type: ignore[no-untyped-def]
    again = generate(CFG)
    pd.testing.assert_frame_equal(data.contacts, again.contacts)
    other = generate(GeneratorConfig(days=56, queues=3, agents=30, seed=12, start=date(2026, 1, 5)))
    assert len(other.contacts) != len(data.contacts) or not other.contacts.equals(data.contacts)


def test_weekday_weekend_ratio_matches_parameters(data) -> None:  # type: ignore[no-untyped-def]
    local = data.contacts["created_at"].dt.tz_convert("America/New_York")
    per_day = data.contacts.groupby(local.dt.date).size()
    weekday = np.array([d.weekday() for d in per_day.index])
    tuesday_to_thursday = per_day[(weekday >= 1) & (weekday <= 3)].mean()
    saturday = per_day[weekday == 5].mean()
    expected = WEEKDAY_FACTOR[5] / WEEKDAY_FACTOR[1:4].mean()
    assert saturday / tuesday_to_thursday == pytest.approx(expected, rel=0.08)
    assert (weekday == 6).sum() == 0  # Sunday closed


def test_public_holiday_is_closed_and_next_open_day_rebounds(data) -> None:  # type: ignore[no-untyped-def]
    local = data.contacts["created_at"].dt.tz_convert("America/New_York")
    per_day = data.contacts.groupby(local.dt.date).size()
    mlk = date(2026, 1, 19)  # Martin Luther King Jr. Day, a Monday
    assert mlk not in per_day.index
    tuesdays = [d for d in per_day.index if d.weekday() == 1 and d != date(2026, 1, 20)]
    ratio = per_day[date(2026, 1, 20)] / per_day[tuesdays].mean()
    assert ratio == pytest.approx(REBOUND, rel=0.12)


def test_handle_time_median_matches_lognormal_parameters(data) -> None:  # type: ignore[no-untyped-def]
    answered = data.contacts[~data.contacts["abandoned"]]
    for q, name in enumerate(["billing", "tech", "sales"]):
        median = answered.loc[answered["queue"] == name, "handle_time_s"].median()
        assert median == pytest.approx(median_handle_s(q), rel=0.05)


def test_truth_matches_observed_volume_per_queue(data) -> None:  # type: ignore[no-untyped-def]
    history = data.truth[data.truth["is_history"]]
    expected = history.groupby("queue")["expected_volume"].sum()
    observed = data.contacts.groupby("queue").size()
    for queue in expected.index:
        assert observed[queue] == pytest.approx(expected[queue], rel=0.04)
    horizon = data.truth[~data.truth["is_history"]]
    assert len(horizon) == 3 * 7 * 96


def test_agents_have_a_primary_skill_and_valid_contracts(data) -> None:  # type: ignore[no-untyped-def]
    assert len(data.agents) == 30
    for agent in data.agents:
        assert len(agent.primary_skills) == 1
        assert agent.contract.min_hours_week <= agent.contract.max_hours_week


def test_bad_config_is_rejected_naming_the_field() -> None:
    with pytest.raises(InvalidInput, match="queues"):
        GeneratorConfig(queues=0)
    with pytest.raises(InvalidInput, match="country"):
        generate(GeneratorConfig(days=7, queues=1, agents=2, country="XX"))
