"""A/B split stability and KPI differences with confidence intervals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from dispatcher.abtest import ab_report, arm_of, mean_difference, pick, proportion_difference, split
from dispatcher.errors import InvalidInput
from dispatcher.scorecard import event_log_from_frame

IDS = [f"task-{i}" for i in range(20_000)]


def test_split_is_pinned_so_every_process_and_release_agrees() -> None:
    # Python's hash() of a str changes per process; a pinned sequence proves the split does not use it.
    pinned = "BBBBAAABAAAABBABBBABABABBABBAAAAAAABABBA"
    assert "".join(split([f"task-{i}" for i in range(40)], salt="exp1")) == pinned


def test_share_of_b_matches_the_configured_share() -> None:
    arms = split(IDS, salt="exp1", share_b=0.3)
    share = float((arms == "B").mean())
    assert abs(share - 0.3) < 4 * math.sqrt(0.3 * 0.7 / len(IDS))
    assert all(arm_of(t, salt="exp1", share_b=0.3) == a for t, a in zip(IDS[:100], arms[:100], strict=True))


def test_pick_routes_each_task_to_the_policy_of_its_arm() -> None:
    chosen = [pick(t, "greedy", "optimizer", salt="exp1", share_b=0.3) for t in IDS[:500]]
    arms = split(IDS[:500], salt="exp1", share_b=0.3)
    assert chosen == ["optimizer" if a == "B" else "greedy" for a in arms]


def test_a_new_salt_reshuffles_about_half_the_tasks() -> None:
    moved = float((split(IDS, salt="exp1") != split(IDS, salt="exp2")).mean())
    assert 0.47 < moved < 0.53


@given(st.text(min_size=1, max_size=20), st.floats(0, 1), st.floats(0, 1))
def test_growing_the_b_share_only_moves_tasks_from_a_to_b(task_id: str, s1: float, s2: float) -> None:
    low, high = sorted((s1, s2))
    if arm_of(task_id, share_b=low) == "B":
        assert arm_of(task_id, share_b=high) == "B"


def test_bad_share_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="share_b"):
        arm_of("t", share_b=1.5)


def test_proportion_interval_matches_the_hand_computed_wald_interval() -> None:
    a = np.array([1.0] * 50 + [0.0] * 50)
    b = np.array([1.0] * 60 + [0.0] * 40 + [np.nan] * 5)
    diff = proportion_difference("sla", a, b)
    se = math.sqrt(0.25 / 100 + 0.24 / 100)
    assert (diff.n_a, diff.n_b) == (100, 100)
    assert diff.difference == pytest.approx(0.1)
    assert (diff.ci_low, diff.ci_high) == pytest.approx((0.1 - 1.959964 * se, 0.1 + 1.959964 * se))
    assert not diff.significant


def test_mean_interval_matches_scipy_welch() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.exponential(60, 80), rng.exponential(45, 120)
    diff = mean_difference("asa_s", a, b)
    reference = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert (diff.ci_low, diff.ci_high) == pytest.approx((reference.low, reference.high))


def test_a_a_intervals_cover_zero_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(11)
    covered = sum(not mean_difference("x", rng.normal(0, 1, 50), rng.normal(0, 1, 50)).significant
                  for _ in range(400))
    assert 0.91 < covered / 400 < 0.99


def synthetic_log(n: int, *, b_wait_min: float, a_wait_min: float, policy: bool = False) -> pd.DataFrame:
    """Tasks answered after a fixed wait that depends on their arm (hash split with salt 's')."""
    rows = []
    t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    rng = np.random.default_rng(5)
    for i in range(n):
        task = f"t{i}"
        arm = arm_of(task, salt="s")
        created = t0 + timedelta(minutes=i)
        wait = (b_wait_min if arm == "B" else a_wait_min) + rng.random()
        name = ("fast" if arm == "B" else "base") if policy else ""
        rows += [(task, "created", created.isoformat(), "billing", "Q2", "", "", name),
                 (task, "accepted", (created + timedelta(minutes=wait)).isoformat(), "", "", "a1", "", name),
                 (task, "completed", (created + timedelta(minutes=wait + 5)).isoformat(), "", "", "a1", "300", name)]
    return pd.DataFrame(rows, columns=["task_id", "event", "at", "queue", "quadrant", "agent_id", "handle_s",
                                       "policy"])


def test_report_detects_a_faster_arm_b() -> None:
    log = event_log_from_frame(synthetic_log(600, a_wait_min=40, b_wait_min=10))
    report = ab_report(log, salt="s")
    assert sum(report.tasks) == 600 and report.policies == ("A", "B")
    sla, asa = report.kpi("sla"), report.kpi("asa_s")
    assert sla.a == 0.0 and sla.b == 1.0 and sla.significant
    assert asa.difference == pytest.approx(-30 * 60, abs=60) and asa.ci_high < 0
    assert not report.kpi("aht_s").significant
    assert report.sample_ratio_p > 0.001


def test_report_uses_the_policy_column_when_present_and_flags_a_broken_split() -> None:
    log = event_log_from_frame(synthetic_log(400, a_wait_min=40, b_wait_min=10, policy=True))
    report = ab_report(log, salt="other-salt", policies=("base", "fast"))
    assert report.policies == ("base", "fast") and report.kpi("sla").b == 1.0
    skewed = ab_report(log, policies=("base", "fast"), share_b=0.9)
    assert skewed.sample_ratio_p < 1e-6
    with pytest.raises(InvalidInput, match="exactly two"):
        ab_report(log, policies=("base",))
