"""Scorecards on hand-built event logs whose answers are worked out by hand in the comments."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.errors import InvalidInput, NotFound
from dispatcher.scorecard import (
    DEFAULT_DIMENSIONS,
    EventLog,
    OutcomeConfig,
    ScoringConfig,
    agent_time_from_frame,
    append_satisfaction,
    composite_score,
    event_log_from_frame,
    scorecards,
    task_outcomes,
)

COLUMNS = ["task_id", "event", "at", "queue", "quadrant", "agent_id", "team", "handle_s",
           "first_contact_resolved", "complaint", "satisfaction"]


def ev(task: str, event: str, at: str, *, queue: str = "", quadrant: str = "", agent: str = "", team: str = "",
       handle: str = "", fcr: str = "", complaint: str = "", sat: str = "") -> list[str]:
    return [task, event, f"2026-01-05T{at}:00Z", queue, quadrant, agent, team, handle, fcr, complaint, sat]


def hand_built() -> pd.DataFrame:
    """Five billing/tech tasks, two agents in team red, one abandoned, one cancelled."""
    rows = [
        # t1: Q1 (10 min SLA), answered after 2 min by a1, handled 300 s, satisfied (5)
        ev("t1", "created", "09:00", queue="billing", quadrant="Q1"),
        ev("t1", "offered", "09:01", agent="a1"),
        ev("t1", "accepted", "09:02", agent="a1", team="red"),
        ev("t1", "completed", "09:10", agent="a1", team="red", handle="300", fcr="true"),
        ev("t1", "satisfaction", "12:00", sat="5"),
        # t2: Q2 (30 min SLA), answered after 40 min by a2 (miss), handled 500 s, complaint, score 2
        ev("t2", "created", "09:00", queue="billing", quadrant="Q2"),
        ev("t2", "accepted", "09:40", agent="a2", team="red"),
        ev("t2", "completed", "09:50", agent="a2", team="red", handle="500", complaint="yes"),
        ev("t2", "satisfaction", "13:00", sat="2"),
        # t3: Q3 tech (10 min SLA), abandoned unanswered after 5 min (short abandon: no SLA miss; abandonment)
        ev("t3", "created", "09:00", queue="tech", quadrant="Q3"),
        ev("t3", "abandoned", "09:05"),
        # t4: Q4 tech, cancelled: out of SLA and abandonment denominators
        ev("t4", "created", "09:00", queue="tech", quadrant="Q4"),
        ev("t4", "cancelled", "09:03"),
        # t5: Q1 billing, answered after 6 min by a1, handled 100 s, stated not resolved
        ev("t5", "created", "10:00", queue="billing", quadrant="Q1"),
        ev("t5", "rejected", "10:01", agent="a2"),
        ev("t5", "accepted", "10:06", agent="a1", team="red"),
        ev("t5", "completed", "10:20", agent="a1", team="red", handle="100", fcr="false"),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_agent_scorecards_match_hand_computed_values() -> None:
    table = scorecards(event_log_from_frame(hand_built()), level="agent")
    a1, a2 = table.card("a1").metrics, table.card("a2").metrics
    assert (a1["handled"], a2["handled"]) == (2, 1)
    assert a1["asa_s"] == pytest.approx((120 + 360) / 2)
    assert a2["asa_s"] == pytest.approx(2400)
    assert a1["aht_s"] == pytest.approx(200) and a2["aht_s"] == pytest.approx(500)
    assert (a1["sla"], a2["sla"]) == (1.0, 0.0)
    assert a1["sla_Q1"] == 1.0 and math.isnan(a1["sla_Q2"]) and a2["sla_Q2"] == 0.0
    assert a1["fcr"] == pytest.approx(0.5) and a1["fcr_n"] == 2
    assert a2["fcr"] == 1.0  # no flag and no reopen: resolved
    assert a2["complaint_rate"] == 1.0 and a1["complaint_rate"] == 0.0
    assert (a1["satisfaction"], a1["satisfaction_n"]) == (1.0, 1)
    assert (a2["satisfaction"], a2["satisfaction_mean"]) == (0.0, 2.0)
    assert math.isnan(a1["abandonment"])  # unanswered work belongs to no agent


def test_queue_scorecards_leave_short_abandons_and_cancelled_out_of_sla() -> None:
    table = scorecards(event_log_from_frame(hand_built()), level="queue")
    billing, tech = table.card("billing").metrics, table.card("tech").metrics
    assert billing["tasks"] == 3 and tech["tasks"] == 2
    assert billing["sla"] == pytest.approx(2 / 3) and billing["sla_n"] == 3
    # t3 abandoned after 5 min, inside its 10 min Q3 target (a short abandon); t4 cancelled
    assert math.isnan(tech["sla"]) and tech["sla_n"] == 0
    assert tech["abandonment"] == 1.0 and tech["abandoned"] == 1  # 1 of 1 non-cancelled
    assert billing["abandonment"] == 0.0
    assert billing["satisfaction"] == pytest.approx(0.5) and billing["satisfaction_n"] == 2


def test_queue_scorecards_count_an_abandon_after_the_due_time_as_sla_miss() -> None:
    rows = hand_built()
    late = (rows["task_id"] == "t3") & (rows["event"] == "abandoned")
    rows.loc[late, "at"] = "2026-01-05T09:15:00Z"  # Q3 is urgent: due within 10 min, at 09:10
    tech = scorecards(event_log_from_frame(rows), level="queue").card("tech").metrics
    assert tech["sla"] == 0.0 and tech["sla_n"] == 1
    assert tech["abandonment"] == 1.0


def test_team_scorecard_sums_its_agents() -> None:
    red = scorecards(event_log_from_frame(hand_built()), level="team").card("red").metrics
    assert red["handled"] == 3 and red["handled_s"] == 900
    assert red["asa_s"] == pytest.approx((120 + 2400 + 360) / 3)
    assert red["fcr"] == pytest.approx(2 / 3)


def test_teams_come_from_the_agent_map_when_the_log_has_none() -> None:
    frame = hand_built().assign(team="")
    table = scorecards(event_log_from_frame(frame), level="team", agent_teams={"a1": "blue", "a2": "green"})
    assert [c.key for c in table.cards] == ["blue", "green"]
    assert table.card("blue").metrics["handled"] == 2


def test_window_selects_tasks_by_creation_time() -> None:
    log = event_log_from_frame(hand_built())
    table = scorecards(log, level="agent", start=datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    assert [c.key for c in table.cards] == ["a1"]
    assert table.card("a1").metrics["handled"] == 1  # only t5


def test_unanswered_task_not_yet_due_is_not_an_sla_miss() -> None:
    frame = pd.DataFrame([ev("t1", "created", "09:00", queue="billing", quadrant="Q2"),
                          ev("t9", "created", "09:05", queue="billing", quadrant="Q1")], columns=COLUMNS)
    tasks = task_outcomes(event_log_from_frame(frame))
    assert not tasks["sla_decided"].any()
    later = task_outcomes(event_log_from_frame(frame), as_of=datetime(2026, 1, 5, 9, 20, tzinfo=UTC))
    assert later["sla_decided"].tolist() == [False, True]


def test_reopen_within_window_flips_fcr_and_later_reopen_does_not() -> None:
    base = [ev("t1", "created", "09:00", queue="billing", quadrant="Q1"),
            ev("t1", "accepted", "09:01", agent="a1"),
            ev("t1", "completed", "09:10", agent="a1", handle="60", fcr="true")]
    reopened = [*base, ev("t1", "reopened", "11:10")]  # 2 h after completion
    config = OutcomeConfig(reopen_window_s=3 * 3600)
    assert task_outcomes(event_log_from_frame(pd.DataFrame(base, columns=COLUMNS)), config=config)["fcr"].iat[0] == 1
    inside = task_outcomes(event_log_from_frame(pd.DataFrame(reopened, columns=COLUMNS)), config=config)
    assert inside["fcr"].iat[0] == 0 and inside["reopened"].iat[0]
    outside = task_outcomes(event_log_from_frame(pd.DataFrame(reopened, columns=COLUMNS)),
                            config=OutcomeConfig(reopen_window_s=3600))
    assert outside["fcr"].iat[0] == 1


def test_satisfaction_for_unknown_task_is_not_found_and_changes_nothing() -> None:
    log = event_log_from_frame(hand_built())
    before = log.frame.copy()
    with pytest.raises(NotFound, match="t404"):
        append_satisfaction(log, "t404", 5, datetime(2026, 1, 6, tzinfo=UTC))
    pd.testing.assert_frame_equal(log.frame, before)
    added = append_satisfaction(log, "t5", 5, datetime(2026, 1, 6, tzinfo=UTC))
    assert scorecards(added, level="agent").card("a1").metrics["satisfaction_n"] == 2
    assert scorecards(log, level="agent").card("a1").metrics["satisfaction_n"] == 1


def test_satisfaction_row_for_unknown_task_in_a_file_is_not_found_with_its_row() -> None:
    frame = pd.concat([hand_built(), pd.DataFrame([ev("zz", "satisfaction", "12:00", sat="4")], columns=COLUMNS)])
    with pytest.raises(NotFound) as err:
        event_log_from_frame(frame)
    assert err.value.row == len(frame) + 1 and err.value.field == "task_id"
    assert len(event_log_from_frame(frame, drop_orphans=True)) == len(frame) - 1


@pytest.mark.parametrize(("column", "value", "message"), [
    ("event", "finished", "unknown event"),
    ("at", "2026-01-05T09:00:00", "no timezone"),
    ("at", "2026-01-05", "no timezone"),
    ("at", "2026-01-05T09:00:00+25:00", "ISO 8601"),
    ("quadrant", "Q7", "Q1..Q4"),
    ("handle_s", "-5", "expected a number"),
    ("satisfaction", "6", "expected a number"),
    ("first_contact_resolved", "maybe", "true/false"),
])
def test_bad_value_is_invalid_input_naming_row_and_column(column: str, value: str, message: str) -> None:
    frame = hand_built()
    target = 3 if column != "satisfaction" else 4  # row 3 is t1's completion, row 4 its satisfaction
    frame.iloc[target, COLUMNS.index(column)] = value
    with pytest.raises(InvalidInput, match=message) as err:
        event_log_from_frame(frame)
    assert err.value.row == target + 2 and err.value.field == column


def test_event_before_its_task_was_created_is_rejected() -> None:
    frame = hand_built()
    frame.iloc[2, COLUMNS.index("at")] = "2026-01-05T08:59:00Z"  # t1 accepted a minute before creation
    with pytest.raises(InvalidInput, match="before its creation") as err:
        event_log_from_frame(frame)
    assert (err.value.row, err.value.field) == (4, "at")


def test_completion_without_handle_time_or_agent_is_rejected() -> None:
    frame = hand_built()
    frame.iloc[3, COLUMNS.index("handle_s")] = ""
    with pytest.raises(InvalidInput, match="required") as err:
        event_log_from_frame(frame)
    assert (err.value.row, err.value.field) == (5, "handle_s")
    frame = hand_built()
    frame.iloc[2, COLUMNS.index("agent_id")] = ""
    with pytest.raises(InvalidInput, match="agent_id"):
        event_log_from_frame(frame)


def test_missing_required_column_and_duplicate_creation_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="missing columns"):
        event_log_from_frame(hand_built().drop(columns=["at"]))
    frame = pd.concat([hand_built(), pd.DataFrame([ev("t1", "created", "09:30", queue="x", quadrant="Q1")],
                                                   columns=COLUMNS)])
    with pytest.raises(InvalidInput, match="created twice"):
        event_log_from_frame(frame)


def test_extra_columns_and_typed_timestamps_are_accepted() -> None:
    frame = hand_built().assign(policy="A", note="anything")
    frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.tz_convert("America/New_York")
    log = event_log_from_frame(frame)
    assert "policy" in log.frame.columns
    assert scorecards(log).card("a1").metrics["handled"] == 2


def test_naive_datetime_column_is_rejected() -> None:
    frame = hand_built()
    frame["at"] = pd.to_datetime(frame["at"].str.rstrip("Z"))
    with pytest.raises(InvalidInput, match="timezone"):
        event_log_from_frame(frame)


def test_occupancy_adherence_and_aht_against_forecast() -> None:
    agent_time = agent_time_from_frame(pd.DataFrame({
        "agent_id": ["a1", "a1", "a2"], "scheduled_s": ["1000", "1000", "1000"], "on_shift_s": ["500", "500", "1200"]}))
    table = scorecards(event_log_from_frame(hand_built()), agent_time=agent_time,
                       forecast_aht_s={"billing": 250.0})
    a1, a2 = table.card("a1").metrics, table.card("a2").metrics
    assert a1["occupancy"] == pytest.approx(400 / 1000) and a1["adherence"] == pytest.approx(0.5)
    assert a2["adherence"] == 1.0  # capped
    assert a1["aht_vs_forecast"] == pytest.approx(200 / 250) and a2["aht_vs_forecast"] == pytest.approx(2.0)


def test_agent_time_rejects_bad_number_with_row() -> None:
    with pytest.raises(InvalidInput) as err:
        agent_time_from_frame(pd.DataFrame({"agent_id": ["a1", "a2"], "scheduled_s": ["1", "x"],
                                            "on_shift_s": ["1", "1"]}))
    assert (err.value.row, err.value.field) == (3, "scheduled_s")


def test_composite_is_reproducible_from_its_parts_by_hand() -> None:
    card = scorecards(event_log_from_frame(hand_built())).card("a2")
    # a2: sla 0 -> 0; fcr 1/0.75 capped 1; satisfaction 0 -> 0; asa 300/2400; complaint 1 -> 0.02/1
    expected_points = {"sla": 0.0, "fcr": 1.0, "satisfaction": 0.0, "asa_s": 300 / 2400, "complaint_rate": 0.02}
    weights = {"sla": 0.25, "fcr": 0.20, "satisfaction": 0.15, "asa_s": 0.10, "complaint_rate": 0.05}
    expected = 100 * sum(weights[m] * expected_points[m] for m in weights) / sum(weights.values())
    assert card.composite == pytest.approx(expected)
    assert card.composite == pytest.approx(sum(c.contribution for c in card.components))
    assert "asa_s 2.4e+03 vs 300" in card.explain()


def test_changed_weights_change_the_composite_as_computed_by_hand() -> None:
    log = event_log_from_frame(hand_built())
    only_sla_fcr = ScoringConfig().with_weights({m.metric: 0.0 for m in DEFAULT_DIMENSIONS} | {"sla": 1, "fcr": 1})
    card = scorecards(log, scoring=only_sla_fcr).card("a1")
    assert card.composite == pytest.approx(100 * (1.0 + 0.5 / 0.75) / 2)
    with pytest.raises(InvalidInput, match="speed"):
        ScoringConfig().with_weights({"speed": 1})


metric_values = st.one_of(st.just(math.nan), st.floats(0, 5000, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(values=st.fixed_dictionaries({d.metric: metric_values for d in DEFAULT_DIMENSIONS}),
       weights=st.lists(st.floats(0.0, 10.0), min_size=len(DEFAULT_DIMENSIONS), max_size=len(DEFAULT_DIMENSIONS)),
       cap=st.floats(1.0, 2.0))
def test_composite_equals_weighted_mean_of_capped_attainments(values: dict[str, float], weights: list[float],
                                                              cap: float) -> None:
    if sum(weights) == 0:
        weights[0] = 1.0
    config = ScoringConfig(cap=cap).with_weights({d.metric: w for d, w in zip(DEFAULT_DIMENSIONS, weights,
                                                                                strict=True)})
    components, composite = composite_score(values, config)
    present = [(c.weight, c) for c in components if not math.isnan(values[c.metric])]
    assert all(c.counted == (not math.isnan(values[c.metric])) for c in components)
    total = sum(w for w, _ in present)
    if total == 0:
        assert math.isnan(composite)
        return
    recomputed = 0.0
    for weight, comp in present:
        ratio = comp.value / comp.target if comp.higher_is_better else (
            math.inf if comp.value == 0 else comp.target / comp.value)
        recomputed += (weight / total) * min(ratio, cap)
    assert composite == pytest.approx(100 * recomputed)
    assert 0 <= composite <= 100 * cap + 1e-9


def test_event_log_is_sorted_and_keeps_source_rows() -> None:
    frame = hand_built().iloc[::-1]
    log = event_log_from_frame(frame)
    assert isinstance(log, EventLog)
    assert log.frame["at"].is_monotonic_increasing
    assert sorted(log.frame["row"]) == list(range(2, len(frame) + 2))


def test_dimensions_on_too_few_observations_are_shown_but_not_scored() -> None:
    log = event_log_from_frame(hand_built())
    card = scorecards(log, scoring=ScoringConfig(min_sample=2)).card("a1")
    satisfaction = next(c for c in card.components if c.metric == "satisfaction")
    assert satisfaction.value == 1.0 and satisfaction.sample == 1 and not satisfaction.counted
    assert satisfaction.contribution == 0.0
    # a1 keeps sla (n=2, 1.0), fcr (n=2, 0.5/0.75), asa (n=2, 240 s <= 300), complaint (n=2, 0)
    weights = {"sla": 0.25, "fcr": 0.20, "asa_s": 0.10, "complaint_rate": 0.05}
    scores = {"sla": 1.0, "fcr": 0.5 / 0.75, "asa_s": 1.0, "complaint_rate": 1.0}
    assert card.composite == pytest.approx(100 * sum(weights[m] * scores[m] for m in weights) / sum(weights.values()))
    with pytest.raises(InvalidInput, match="min_sample"):
        ScoringConfig(min_sample=-1)


def test_simulator_rows_become_events_carrying_extra_columns() -> None:
    from dispatcher.abtest import ab_report
    from dispatcher.scorecard import events_from_task_rows

    rows = pd.DataFrame({"task": [0, 1, 2, 3], "queue": "billing", "quadrant": "Q2",
                         "arrival_s": [0, 10, 20, 30], "start_s": [5, None, 2000, 40], "end_s": [100, None, 2100, 90],
                         "wait_s": [5, 1900, 1980, 10],  # task 1 gives up past its 30 min Q2 target
                         "abandoned": [False, True, False, False], "agent": ["a1", "", "a2", "a1"],
                         "policy": ["base", "base", "fast", "fast"]})
    origin = datetime(2026, 1, 5, tzinfo=UTC)
    log = event_log_from_frame(events_from_task_rows(rows, origin=origin))
    assert sorted(log.frame["event"].value_counts().items()) == [("abandoned", 1), ("accepted", 3),
                                                                  ("completed", 3), ("created", 4)]
    report = ab_report(log)
    assert report.policies == ("base", "fast") and report.tasks == (2, 2)
    assert report.kpi("sla").a == 0.5 and report.kpi("sla").b == 0.5  # task 1 abandoned, task 2 answered late
    with pytest.raises(InvalidInput) as err:
        events_from_task_rows(rows.assign(arrival_s=["0", "x", "1", "2"]), origin=origin)
    assert (err.value.row, err.value.field) == (3, "arrival_s")
    with pytest.raises(InvalidInput, match="missing columns"):
        events_from_task_rows(rows.drop(columns="agent"), origin=origin)
