"""Routing policies as named, serialisable settings: policy.toml, scenario files naming a policy,
and the dict form the A/B API takes; bad values name the key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.formats.policy import read_policy
from api.formats.simulation import parse_scenarios
from dispatcher.errors import InvalidInput
from dispatcher.policy import GREEDY, LIVE, AssignmentPolicy, RoutingPolicy
from dispatcher.simulation.model import Demand

POLICY_TOML = """
name = "patient"
mode = "optimal"
batch_interval_s = 5.0
dispatch_at_once = false
[weights]
load_weight = 0.0
urgency_weight = 20.0
quadrant_weights = {Q1 = 4.0, Q2 = 3.0, Q3 = 2.0, Q4 = 1.0}
"""


def demand() -> Demand:
    return Demand(("billing",), datetime(2026, 1, 12, tzinfo=UTC), 900.0, np.ones((4, 1)), np.full((4, 1), 200.0))


def test_policy_file_sets_mode_grid_and_weights(tmp_path: Path) -> None:
    path = tmp_path / "patient.toml"
    path.write_text(POLICY_TOML)
    policy = read_policy(path)
    assert (policy.name, policy.mode, policy.batch_interval_s, policy.dispatch_at_once) == ("patient", "optimal", 5.0,
                                                                                             False)
    assert policy.weights.load_weight == 0.0 and policy.weights.urgency_weight == 20.0
    assert policy.weights.fairness_weight == AssignmentPolicy().fairness_weight, "unset weights keep defaults"


@pytest.mark.parametrize(("text", "field"), [
    ('mode = "fastest"', "mode"),
    ("batch_interval_s = -1", "batch_interval_s"),
    ("[weights]\nload_weight = -2", "weights.load_weight"),
    ("[weights]\nspeed = 1", "weights.speed"),
    ("colour = 1", "colour"),
    ('dispatch_at_once = "yes"', "dispatch_at_once"),
])
def test_bad_policy_file_names_file_and_key(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as err:
        read_policy(path)
    assert err.value.field == field and err.value.file == str(path)


def test_scenarios_name_a_built_in_policy_or_a_policy_file(tmp_path: Path) -> None:
    (tmp_path / "patient.toml").write_text(POLICY_TOML)
    spec = parse_scenarios({"simulation": {"policy": "live"}, "scenarios": [
        {"name": "baseline"}, {"name": "greedy", "policy": "greedy"}, {"name": "patient", "policy": "patient.toml"},
    ]}, demand(), None, tmp_path / "whatif.toml")
    assert spec.config.policy == LIVE
    configs = {s.name: s.config(spec.config) for s in spec.scenarios}
    assert configs["greedy"].routing_policy == GREEDY
    assert configs["patient"].routing_policy.name == "patient" and configs["patient"].routing == "optimizer"
    with pytest.raises(InvalidInput) as err:
        parse_scenarios({"scenarios": [{"name": "x", "policy": "nosuch.toml"}]}, demand(), None,
                        tmp_path / "whatif.toml")
    assert err.value.field == "scenarios[x].policy"


@given(
    mode=st.sampled_from(["optimal", "greedy", "longest-idle"]),
    interval=st.floats(0, 3600),
    at_once=st.booleans(),
    load=st.floats(0, 100),
    strict=st.booleans(),
)
def test_a_policy_survives_its_dict_form(mode: str, interval: float, at_once: bool, load: float, strict: bool) -> None:
    policy = RoutingPolicy(name="p", mode=mode, batch_interval_s=interval, dispatch_at_once=at_once,
                           weights=AssignmentPolicy(load_weight=load, strict_quadrants=strict))
    assert RoutingPolicy.from_dict(policy.to_dict()) == policy


def test_batch_grid_is_the_next_multiple_of_the_interval() -> None:
    assert LIVE.next_batch_s(0.0) == 2.0 and LIVE.next_batch_s(3.9) == 4.0 and LIVE.next_batch_s(4.0) == 6.0
    assert GREEDY.next_batch_s(3.9) == 3.9, "interval 0: decide at every event"
