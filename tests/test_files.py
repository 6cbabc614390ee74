from __future__ import annotations

from pathlib import Path

import pytest

from api.formats.agents import read_agents, write_agents
from api.formats.templates import read_templates, write_templates
from dispatcher.datagen import default_templates
from dispatcher.domain import Agent, Contract
from dispatcher.errors import InvalidInput

HEADER = "id,name,skills,primary_skills,capacity\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_agents_round_trip_through_csv(tmp_path: Path) -> None:
    agents = [
        Agent(id="a1", name="Ann", skills={"billing": 5, "tech": 2}, primary_skills=frozenset({"billing"}),
              capacity=2, contract=Contract(max_hours_week=24, min_hours_week=16, max_days_week=4),
              team="t1", supervisor="s1"),
        Agent(id="a2", name="Bo", skills={"tech": 3}, primary_skills=frozenset({"tech"})),
    ]
    path = tmp_path / "agents.csv"
    write_agents(path, agents)
    assert read_agents(path) == agents


def test_templates_round_trip_through_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_templates(path, default_templates())
    assert read_templates(path) == default_templates()


def test_proficiency_out_of_range_names_file_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "agents.csv", HEADER + "a1,A,billing:3,billing,1\na2,B,tech:7,tech,1\n")
    with pytest.raises(InvalidInput) as err:
        read_agents(path)
    assert err.value.row == 3 and err.value.field == "skills" and err.value.file == str(path)
    assert "1-5" in str(err.value)


def test_malformed_skill_cell_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "agents.csv", HEADER + "a1,A,billing=3,billing,1\n")
    with pytest.raises(InvalidInput) as err:
        read_agents(path)
    assert (err.value.row, err.value.field) == (2, "skills")


def test_unknown_skill_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "agents.csv", HEADER + "a1,A,billing:3;astrology:2,billing,1\n")
    with pytest.raises(InvalidInput, match="astrology"):
        read_agents(path, known_skills={"billing", "tech"})


def test_duplicate_agent_and_ragged_row_are_rejected(tmp_path: Path) -> None:
    dup = write(tmp_path, "dup.csv", HEADER + "a1,A,billing:3,,1\na1,B,billing:2,,1\n")
    with pytest.raises(InvalidInput, match="duplicate"):
        read_agents(dup)
    ragged = write(tmp_path, "ragged.csv", HEADER + "a1,A,billing:3,,1,extra,more\n")
    with pytest.raises(InvalidInput) as err:
        read_agents(ragged)
    assert err.value.row == 2


def test_missing_column_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="missing columns"):
        read_agents(write(tmp_path, "a.csv", "id,name\na1,A\n"))
    with pytest.raises(InvalidInput, match="not found"):
        read_agents(tmp_path / "nope.csv")


def test_template_longer_than_a_day_names_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "name,start,length_min,breaks\nF,08:00,480,\nX,08:00,1500,\n")
    with pytest.raises(InvalidInput) as err:
        read_templates(path)
    assert (err.value.row, err.value.field) == (3, "length")


def test_template_bad_start_time_names_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "name,start,length_min,breaks\nF,25:99,480,\n")
    with pytest.raises(InvalidInput) as err:
        read_templates(path)
    assert (err.value.row, err.value.field) == (2, "start")
