"""Scorecards per agent, team or queue from one canonical event log; composite scores shown with their parts.

The canonical event log is the one table both the live service (audit stream) and the simulator map
onto. One row per event, columns (extra columns are ignored, missing optional ones read as empty):

========================  ==========================================================================
``task_id``               required, non-empty
``event``                 required: created, offered, accepted, rejected, expired, completed,
                          abandoned, cancelled, reopened, satisfaction
``at``                    required, timezone-aware ISO 8601 (``Z`` or an offset)
``queue``                 required on ``created`` (the skill the task needs)
``quadrant``              Q1..Q4, required on ``created``
``agent_id``              required on ``accepted`` and ``completed``, may be empty elsewhere
``team``                  the agent's team; may be empty (then taken from ``agent_teams``)
``created_at``            optional on ``created`` (defaults to ``at``)
``response_due_at``       optional on ``created`` (defaults to the SLA policy's response target)
``handle_s``              required on ``completed``: seconds of handling, >= 0
``resolution_code``       optional text on ``completed``
``first_contact_resolved`` optional boolean on ``completed`` (empty: resolved unless reopened)
``complaint``             optional boolean on ``completed``
``satisfaction``          integer 1..5, required on ``satisfaction`` events
========================  ==========================================================================

Metric definitions (the cohort is the tasks *created* in ``[start, end)``):
volume handled = completions; ASA = first ``accepted`` minus ``created_at``; SLA attainment = the
service level of :mod:`dispatcher.kpis` with each task's ``response_due_at`` as its threshold (answered
by it / answered + abandoned after it + unanswered past it; short abandons, cancelled tasks and
tasks not yet due are excluded); AHT = mean ``handle_s``; FCR = first completion resolved and not reopened within
``reopen_window_s``; abandonment = abandoned / (created - cancelled); satisfaction = share of scores
>= 4 with its sample size; occupancy = handled seconds / on-shift seconds; adherence = on-shift
seconds / scheduled seconds (from the optional agent-time table, ``agent_id, scheduled_s, on_shift_s``).

Composite: each scored dimension is normalised against its target (value/target, or target/value when
lower is better, capped), weighted, and summed into points; every card keeps its parts so the
composite is reproducible by hand. :func:`events_from_task_rows` maps the simulator's one-row-per-task
export onto this log.

Modules: :mod:`.events` (the log and its readers), :mod:`.outcomes` (per task), :mod:`.metrics` (the
KPI table), :mod:`.scoring` (composites, :func:`scorecards`), :mod:`.task_rows` (simulator export).
"""

from dispatcher.scorecard.events import (
    AGENT_TIME_COLUMNS,
    EVENT_COLUMNS,
    REQUIRED_COLUMNS,
    EventKind,
    EventLog,
    agent_time_from_frame,
    append_satisfaction,
    event_log_from_frame,
)
from dispatcher.scorecard.metrics import LEVELS, METRIC_COLUMNS, SAMPLE_OF, Level, scorecard_metrics
from dispatcher.scorecard.outcomes import OutcomeConfig, task_outcomes
from dispatcher.scorecard.scoring import (
    DEFAULT_DIMENSIONS,
    Dimension,
    Scorecard,
    ScorecardTable,
    ScoreComponent,
    ScoringConfig,
    composite_score,
    scorecards,
)
from dispatcher.scorecard.task_rows import TASK_ROW_COLUMNS, events_from_task_rows

__all__ = [
    "AGENT_TIME_COLUMNS", "DEFAULT_DIMENSIONS", "EVENT_COLUMNS", "LEVELS", "METRIC_COLUMNS", "REQUIRED_COLUMNS",
    "SAMPLE_OF", "TASK_ROW_COLUMNS", "Dimension", "EventKind", "EventLog", "Level", "OutcomeConfig",
    "ScoreComponent", "Scorecard", "ScorecardTable", "ScoringConfig", "agent_time_from_frame",
    "append_satisfaction", "composite_score", "event_log_from_frame", "events_from_task_rows",
    "scorecard_metrics", "scorecards", "task_outcomes",
]
