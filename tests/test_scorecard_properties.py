"""Invariants of scorecards on random event logs, checked against an independent per-event loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.scorecard import METRICS, baseline, synthetic_events
from dispatcher.scorecard import event_log_from_frame, scorecards, task_outcomes

logs = st.builds(lambda n, agents, seed: synthetic_events(n, agents=agents, seed=seed),
                 st.integers(1, 150), st.integers(1, 6), st.integers(0, 10_000))


@settings(max_examples=25, deadline=None)
@given(events=logs)
def test_agent_metrics_equal_a_plain_per_event_loop(events: pd.DataFrame) -> None:
    ours = scorecards(event_log_from_frame(events), level="agent").to_frame().set_index("agent")[list(METRICS)]
    loop = baseline(events).reindex(ours.index)
    pd.testing.assert_frame_equal(ours.astype(float), loop.astype(float), check_names=False, rtol=1e-9)


@settings(max_examples=10, deadline=None)
@given(events=logs)
def test_team_and_queue_totals_add_up_and_rates_stay_in_range(events: pd.DataFrame) -> None:
    teams = {f"a{i}": "even" if i % 2 == 0 else "odd" for i in range(6)}
    log = event_log_from_frame(events)
    agents = scorecards(log, level="agent").to_frame()
    by_team = scorecards(log, level="team", agent_teams=teams).to_frame().set_index("team")
    queues = scorecards(log, level="queue").to_frame()
    handled = agents.assign(team=agents["agent"].map(teams)).groupby("team")["handled"].sum()
    assert by_team["handled"].to_dict() == handled.to_dict()
    assert queues["handled"].sum() == agents["handled"].sum() == (events["event"] == "completed").sum()
    assert queues["tasks"].sum() == (events["event"] == "created").sum()
    for frame in (agents, by_team, queues):
        rates = frame[["sla", "fcr", "abandonment", "satisfaction", "complaint_rate"]].to_numpy(dtype=float)
        assert np.all(np.isnan(rates) | ((rates >= 0) & (rates <= 1)))
        assert np.all(np.isnan(frame["composite"]) | ((frame["composite"] >= 0) & (frame["composite"] <= 100)))


@settings(max_examples=15, deadline=None)
@given(events=logs, window_h=st.floats(0, 400))
def test_a_longer_reopen_window_never_raises_fcr(events: pd.DataFrame, window_h: float) -> None:
    from dispatcher.scorecard import OutcomeConfig

    log = event_log_from_frame(events)
    short = task_outcomes(log, config=OutcomeConfig(reopen_window_s=window_h * 3600))["fcr"]
    longer = task_outcomes(log, config=OutcomeConfig(reopen_window_s=(window_h + 48) * 3600))["fcr"]
    both = short.notna()
    assert (longer[both] <= short[both]).all()
    assert longer.isna().equals(short.isna())
    # exactly the tasks reopened in (window, window + 48 h] after their first completion lose FCR
    completions = events.loc[events["event"] == "completed"].sort_values("at", kind="stable")
    first = completions.drop_duplicates("task_id").set_index("task_id")
    reopens = events.loc[events["event"] == "reopened"]
    expected = set()
    for task_id, done in first.iterrows():
        after_s = (reopens.loc[reopens["task_id"] == task_id, "at"] - done["at"]).dt.total_seconds()
        after_s = after_s[after_s > 0]
        stated_unresolved = str(done["first_contact_resolved"]).lower() == "false"
        reopened_early = (after_s <= window_h * 3600).any()
        if not stated_unresolved and not reopened_early and (after_s <= (window_h + 48) * 3600).any():
            expected.add(task_id)
    lost = set(short.index[both & (short != longer)])
    assert lost == expected


def test_event_order_in_the_input_does_not_matter() -> None:
    events = synthetic_events(200, agents=4, seed=1)
    shuffled = events.sample(frac=1.0, random_state=3)
    a = scorecards(event_log_from_frame(events)).to_frame()
    b = scorecards(event_log_from_frame(shuffled)).to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert a["handled"].sum() == pytest.approx((events["event"] == "completed").sum())
