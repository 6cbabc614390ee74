"""A what-if study from a roster, a team and demand: the simulated window, staffing and scenario checks.

The file readers (api.formats.simulation.load_study) hand over parsed objects; everything decided
about them lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, tzinfo

from dispatcher.domain import Agent, Roster
from dispatcher.errors import InvalidInput
from dispatcher.simulation.arrivals import History
from dispatcher.simulation.model import Demand, SimulationConfig, staffing_from_roster
from dispatcher.simulation.replicate import Study
from dispatcher.simulation.scenarios import Scenario


@dataclass(frozen=True, slots=True)
class RosterWindow:
    """The whole local days a roster's shifts touch: what a study simulates."""

    first_day: date
    last_day: date
    tz: tzinfo | None

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def begin(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(0), tzinfo=self.tz)


def roster_window(roster: Roster, source: str = "roster") -> RosterWindow:
    if not roster.shifts:
        raise InvalidInput("the roster has no shifts", file=source)
    tz = roster.shifts[0].start.tzinfo
    return RosterWindow(
        first_day=min(s.start.astimezone(tz).date() for s in roster.shifts),
        last_day=max(s.end.astimezone(tz).date() for s in roster.shifts),
        tz=tz,
    )


def check_agents_known(scenarios: Sequence[Scenario], agent_ids: Sequence[str], source: str) -> None:
    """Every agent a scenario makes absent or re-rosters must be on the team."""
    known = set(agent_ids)
    for s in scenarios:
        for agent_id in [*s.absentees, *(e.agent_id for e in s.roster_edits)]:
            if agent_id not in known:
                raise InvalidInput(f"scenario {s.name!r} names unknown agent {agent_id!r}", file=source,
                                   field=f"scenarios[{s.name}].absentees" if agent_id in s.absentees
                                   else f"scenarios[{s.name}].roster_edits")


def build_study(
    team: Sequence[Agent],
    roster: Roster,
    demand: Demand,
    config: SimulationConfig,
    scenarios: Sequence[Scenario],
    *,
    replications: int = 20,
    seed: int = 1,
    routing: str | None = None,
    history: History | None = None,
    agents_source: str = "agents",
    scenarios_source: str = "scenarios",
) -> Study:
    """A study of ``scenarios`` on ``demand`` served by the rostered ``team``; ``routing`` overrides
    the scenario file's. Every forecast queue must be someone's skill."""
    skilled = {q for a in team for q in a.skills}
    uncovered = [q for q in demand.queues if q not in skilled]
    if uncovered:
        raise InvalidInput(f"no agent has the skill of forecast queues {uncovered}", file=agents_source,
                           field="skills")
    staffing = staffing_from_roster(roster, team, demand.queues, demand.start)
    check_agents_known(scenarios, staffing.agent_ids, scenarios_source)
    if routing is not None:
        config = SimulationConfig(**{**{f.name: getattr(config, f.name) for f in fields(config)}, "routing": routing})
    return Study(demand, staffing, config, tuple(scenarios), replications=replications, seed=seed, history=history)
