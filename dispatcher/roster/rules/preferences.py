"""Preferences: a day an agent would rather have off, or a shift template they would rather work."""

from __future__ import annotations

from dispatcher.roster.assign import AssignModel


def assign(am: AssignModel) -> None:
    weight = am.problem.weights.preference
    position = {a.id: i for i, a in enumerate(am.group.agents)}
    for pref in am.problem.preferences:
        i = position.get(pref.agent_id)
        if i is None:
            continue
        for c in am.candidates:
            if not pref.applies(c.day):
                continue
            if pref.kind == "off" or c.template.name != pref.template:
                am.penalise(am.y[i, c.index], weight)
