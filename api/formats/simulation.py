"""Files of ``dispatchwise simulate``: forecast CSV → Demand, scenario TOML/YAML, results CSV, plot.

Formats
- forecast.csv: ``queue,period_start,volume,...,aht_s`` (the forecast output; extra columns ignored)
  or the generator's truth.csv (``expected_volume``, ``expected_aht_s``). Periods are contiguous and
  equally long per queue, and every queue covers the same periods; a gap is an error naming the row.
- scenarios (``.toml``, ``.yaml``/``.yml``): an optional ``[simulation]`` table of base settings
  (routing, batch_interval_s, answer_within_s, mean_patience_s, handle_distribution, handle_sigma,
  urgent_share, important_share, volume_uncertainty = true to draw each replication's forecast error
  from the forecast's 95% intervals ``volume_lo95``/``volume_hi95``; honour_skill_plan = true to keep
  agents to the roster's skill blocks; policy = the routing policy: ``live``, ``greedy``,
  ``longest-idle`` or a policy.toml path relative to the scenario file) and a list ``scenarios`` of
  tables with ``name`` and any of volume, aht, absentees, random_absentees, roster_edits, routing,
  policy, sl_target_s, shrinkage, patience_s. ``roster_edits`` is a list of ``{agent, start, end}`` with
  ``HH:MM`` times on the first simulated day or ISO timestamps. A scenario named ``baseline`` is the
  reference; without one the unchanged inputs are added as ``baseline``.
- history (contacts.csv of ``dispatchwise generate``): ``queue,created_at,handle_time_s,urgent,important,
  abandoned``. Used to fit the lognormal handle-time shape, and with a replay day, replayed: the
  contacts of that day (and the following ones, for a multi-day roster) arrive at the same local
  times on the roster's days; abandoned contacts get a drawn handle time.
- results.csv: ``scenario,kpi,mean,ci95_lo,ci95_hi,diff_vs_baseline,diff_ci95_lo,diff_ci95_hi,replications``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from api.formats.figures import save_figure
from api.formats.forecast import read_forecast as read_forecast_csv
from api.formats.policy import resolve_policy
from dispatcher.errors import DispatchwiseError, InvalidInput
from dispatcher.simulation.arrivals import History, demand_from_history, fit_lognormal_sigma
from dispatcher.simulation.model import Demand, SimulationConfig
from dispatcher.simulation.replicate import Study
from dispatcher.simulation.scenarios import BASELINE, Scenario, ShiftEdit
from dispatcher.simulation.study import build_study, roster_window

SIMULATION_KEYS = {
    "routing", "batch_interval_s", "answer_within_s", "mean_patience_s", "handle_distribution",
    "handle_sigma", "urgent_share", "important_share", "volume_uncertainty", "honour_skill_plan", "policy",
}
SCENARIO_KEYS = {
    "name", "volume", "aht", "absentees", "random_absentees", "roster_edits", "routing", "sl_target_s",
    "shrinkage", "patience_s", "policy",
}
EDIT_KEYS = {"agent", "start", "end"}
FILE_KEY_OF_FIELD = {
    "volume_multiplier": "volume", "aht_multiplier": "aht", "answer_within_s": "sl_target_s",
    "mean_patience_s": "patience_s", "roster_edits": "roster_edits",
}
PLOT_KPIS = (
    ("service_level", "service level"), ("asa_s", "ASA (s)"), ("abandon_rate", "abandonment"),
    ("occupancy", "occupancy"), ("sla_Q1", "Q1 SLA attainment"),
    ("occupancy_cv", "load spread across agents (CV, lower = fairer)"),
)


def read_forecast(path: Path, start: datetime | None = None, end: datetime | None = None) -> Demand:
    """Forecast (or truth) CSV → Demand on one grid of equal periods shared by all queues.

    With ``start``/``end`` only periods starting in [start, end) are kept (and checked for gaps)."""
    frame = read_forecast_csv(path)
    frame["_row"], frame["_t"] = frame["row"], frame["start"]
    volume_col, aht_col = "volume", "aht_s"
    tz = datetime.fromisoformat(frame["period_start"].iloc[0]).tzinfo
    if start is not None or end is not None:
        lo = pd.Timestamp(start) if start is not None else frame["_t"].min()
        hi = pd.Timestamp(end) if end is not None else frame["_t"].max() + pd.Timedelta(seconds=1)
        frame = frame[(frame["_t"] >= lo) & (frame["_t"] < hi)].copy()
        if frame.empty:
            raise InvalidInput(f"no forecast periods between {start} and {end}", file=str(path),
                               field="period_start")
    queues = tuple(str(q) for q in dict.fromkeys(frame["queue"].astype(str)))
    grids = {}
    for queue in queues:
        part = frame[frame["queue"].astype(str) == queue].sort_values("_t")
        steps = part["_t"].diff().dt.total_seconds().to_numpy()[1:]
        if len(part) > 1:
            step = float(np.median(steps))
            off = np.flatnonzero(steps != step)
            if off.size:
                i = int(off[0]) + 1
                raise InvalidInput(
                    f"queue {queue}: gap or overlap before period {part['period_start'].iloc[i]} "
                    f"({steps[i - 1]:.0f} s after the previous period, expected {step:.0f} s)",
                    file=str(path), row=int(part["_row"].iloc[i]), field="period_start",
                )
        grids[queue] = part
    first = grids[queues[0]]
    for queue in queues[1:]:
        if len(grids[queue]) != len(first) or not (grids[queue]["_t"].to_numpy() == first["_t"].to_numpy()).all():
            raise InvalidInput(f"queue {queue} does not cover the same periods as queue {queues[0]}",
                               file=str(path), field="period_start")
    period_s = (
        float((first["_t"].iloc[1] - first["_t"].iloc[0]).total_seconds()) if len(first) > 1 else 900.0
    )
    start = first["_t"].iloc[0].to_pydatetime().astimezone(tz)
    volume = np.stack([grids[q][volume_col].to_numpy(dtype=float) for q in queues], axis=1)
    aht = np.stack([grids[q][aht_col].to_numpy(dtype=float) for q in queues], axis=1)
    rel_sd = None
    if {"volume_lo95", "volume_hi95"} <= set(frame.columns):
        # the 95% interval of a count holds Poisson noise (variance = volume) plus the forecast's
        # own error (variance = (volume * rel_sd)^2); keep the latter
        spread = [
            (pd.to_numeric(grids[q]["volume_hi95"], errors="coerce").to_numpy(dtype=float)
             - pd.to_numeric(grids[q]["volume_lo95"], errors="coerce").to_numpy(dtype=float)) / (2 * 1.959964)
            for q in queues
        ]
        total_var = np.nan_to_num(np.stack(spread, axis=1) ** 2)
        rel_sd = np.sqrt(np.maximum(total_var - volume, 0.0)) / np.where(volume > 0, volume, 1.0)
        rel_sd = np.where(volume > 0, rel_sd, 0.0)
    try:
        return Demand(queues, start, period_s, volume, aht, rel_sd)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, file=str(path), field=exc.field) from exc


HISTORY_COLUMNS = ("queue", "created_at", "handle_time_s", "urgent", "important", "abandoned")
TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}


def _read_history_frame(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"malformed CSV: {exc}", file=str(path)) from exc
    missing = [c for c in HISTORY_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"missing columns {missing}; found {list(frame.columns)}", file=str(path), row=1)
    created = pd.to_datetime(frame["created_at"], errors="coerce", utc=True, format="ISO8601")
    if created.isna().any():
        i = int(np.flatnonzero(created.isna().to_numpy())[0])
        raise InvalidInput(f"not an ISO timestamp with offset: {frame['created_at'].iloc[i]!r}", file=str(path),
                           row=i + 2, field="created_at")
    handle = pd.to_numeric(frame["handle_time_s"], errors="coerce")
    if handle.isna().any() or (handle < 0).any():
        i = int(np.flatnonzero((handle.isna() | (handle < 0)).to_numpy())[0])
        raise InvalidInput(f"handle_time_s must be a number >= 0, got {frame['handle_time_s'].iloc[i]!r}",
                           file=str(path), row=i + 2, field="handle_time_s")
    out = pd.DataFrame({"queue": frame["queue"].astype(str), "created_at": created, "handle_time_s": handle})
    for column in ("urgent", "important", "abandoned"):
        words = frame[column].str.strip().str.lower()
        bad = ~words.isin(TRUE_WORDS | FALSE_WORDS)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InvalidInput(f"{column} must be true or false, got {frame[column].iloc[i]!r}", file=str(path),
                               row=i + 2, field=column)
        out[column] = words.isin(TRUE_WORDS)
    return out


def history_handle_sigma(path: Path) -> float:
    """Lognormal shape fitted to the recorded handle times of answered contacts."""
    frame = _read_history_frame(path)
    answered = frame[~frame["abandoned"]]
    codes = pd.factorize(answered["queue"])[0].astype(np.int64)
    try:
        return fit_lognormal_sigma(answered["handle_time_s"].to_numpy(dtype=float), codes)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, file=str(path), field=exc.field) from exc


def read_replay(
    path: Path, replay_day: date, first_day: date, days: int, tz: Any, period_s: float = 900.0
) -> tuple[History, Demand]:
    """The contacts of ``days`` days from ``replay_day``, moved to the same local times from ``first_day``."""
    frame = _read_history_frame(path)
    local = frame["created_at"].dt.tz_convert(tz).dt.tz_localize(None)
    replay_midnight = pd.Timestamp(replay_day)
    keep = (local >= replay_midnight) & (local < replay_midnight + pd.Timedelta(days=days))
    if not keep.any():
        raise InvalidInput(f"no contacts on {replay_day} (the replay day)", file=str(path), field="created_at")
    frame, local = frame[keep], local[keep]
    moved = (local - replay_midnight + pd.Timestamp(first_day)).dt.tz_localize(
        tz, ambiguous=np.zeros(len(local), dtype=bool), nonexistent="shift_forward"
    )
    start = datetime.combine(first_day, time(0), tzinfo=tz)
    arrival = (moved - pd.Timestamp(start)).dt.total_seconds().to_numpy(dtype=float)
    queues = tuple(str(q) for q in dict.fromkeys(frame["queue"]))
    codes = np.asarray([queues.index(q) for q in frame["queue"]], dtype=np.int64)
    handle = np.where(frame["abandoned"].to_numpy(), np.nan, frame["handle_time_s"].to_numpy(dtype=float))
    order = np.argsort(arrival, kind="stable")
    history = History(
        arrival_s=arrival[order], queue=codes[order], handle_s=handle[order],
        urgent=frame["urgent"].to_numpy(dtype=bool)[order], important=frame["important"].to_numpy(dtype=bool)[order],
    )
    periods = round(days * 86400 / period_s)
    return history, demand_from_history(history, queues, start, period_s, periods)


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    config: SimulationConfig
    scenarios: tuple[Scenario, ...]
    """The baseline first."""


def _load_mapping(path: Path) -> Mapping[str, Any]:
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise InvalidInput(f"scenario file must end in .toml, .yaml or .yml, got {suffix!r}", file=str(path))
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot parse: {exc}", file=str(path)) from exc
    if not isinstance(data, dict):
        raise InvalidInput("the top level must be a table/mapping", file=str(path))
    return data


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str, path: Path | str) -> None:
    if not isinstance(table, Mapping):
        raise InvalidInput(f"{where} must be a table/mapping, got {table!r}", file=str(path), field=where)
    unknown = sorted(set(table) - allowed)
    if unknown:
        key = unknown[0]
        raise InvalidInput(
            f"unknown key {key!r} (value {table[key]!r}) in {where}; allowed: {', '.join(sorted(allowed))}",
            file=str(path), field=f"{where}.{key}",
        )


def _number(value: Any, key: str, where: str, path: Path | str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{key} must be a number, got {value!r}", file=str(path), field=f"{where}.{key}")
    if value < 0:
        raise InvalidInput(f"{key} must not be negative, got {value!r}", file=str(path), field=f"{where}.{key}")
    return float(value)


def _moment(value: Any, day_start: datetime, key: str, where: str, path: Path | str) -> float:
    text = str(value)
    try:
        if len(text) <= 5 and ":" in text:
            hh, mm = text.split(":")
            if (hh, mm) == ("24", "00"):
                midnight = datetime.combine(day_start.date(), time(0), tzinfo=day_start.tzinfo)
                return (midnight - day_start).total_seconds() + 86400.0
            moment = datetime.combine(day_start.date(), time(int(hh), int(mm)), tzinfo=day_start.tzinfo)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=day_start.tzinfo)
    except ValueError as exc:
        raise InvalidInput(f"{key} must be HH:MM or an ISO timestamp, got {value!r}", file=str(path),
                           field=f"{where}.{key}") from exc
    return (moment - day_start).total_seconds()


def read_scenarios(path: Path, demand: Demand, base: SimulationConfig | None = None) -> ScenarioFile:
    """Parse a scenario file against the demand it will run on (roster-edit times are relative to it)."""
    return parse_scenarios(_load_mapping(path), demand, base, path)


def parse_scenarios(
    data: Mapping[str, Any], demand: Demand, base: SimulationConfig | None, path: Path | str
) -> ScenarioFile:
    """The scenario file's structure from any mapping (a parsed file or a JSON body named ``path``)."""
    _check_keys(data, {"simulation", "scenarios"}, "top level", path)
    settings = data.get("simulation", {})
    _check_keys(settings, SIMULATION_KEYS, "simulation", path)
    config = base or SimulationConfig()
    base_dir = Path(path).parent if isinstance(path, Path) else None
    settings = dict(settings)
    if "policy" in settings:
        settings["policy"] = resolve_policy(settings["policy"], base_dir, "simulation.policy")
    try:
        config = SimulationConfig(**{**{f.name: getattr(config, f.name) for f in fields(config)}, **settings})
    except DispatchwiseError as exc:
        raise InvalidInput(exc.message, file=str(path), field=f"simulation.{exc.field}") from exc
    except TypeError as exc:
        raise InvalidInput(f"bad simulation setting: {exc}", file=str(path), field="simulation") from exc
    raw = data.get("scenarios", [])
    if not isinstance(raw, list):
        raise InvalidInput(f"scenarios must be a list of tables, got {raw!r}", file=str(path), field="scenarios")
    day_start = demand.start
    scenarios: list[Scenario] = []
    for i, table in enumerate(raw):
        where = f"scenarios[{i}]"
        _check_keys(table, SCENARIO_KEYS, where, path)
        if "name" not in table or not str(table["name"]).strip():
            raise InvalidInput("every scenario needs a name", file=str(path), field=f"{where}.name")
        where = f"scenarios[{table['name']}]"
        edits = []
        for j, edit in enumerate(table.get("roster_edits", [])):
            _check_keys(edit, EDIT_KEYS, f"{where}.roster_edits[{j}]", path)
            if set(edit) != EDIT_KEYS:
                raise InvalidInput(f"a roster edit needs agent, start and end, got {edit!r}", file=str(path),
                                   field=f"{where}.roster_edits[{j}]")
            edits.append((str(edit["agent"]), _moment(edit["start"], day_start, "start", where, path),
                          _moment(edit["end"], day_start, "end", where, path)))
        absentees = table.get("absentees", [])
        if not isinstance(absentees, list):
            raise InvalidInput(f"absentees must be a list of agent ids, got {absentees!r}", file=str(path),
                               field=f"{where}.absentees")
        optional = {
            key: _number(table[key], key, where, path)
            for key in ("sl_target_s", "patience_s")
            if key in table
        }
        policy = resolve_policy(table["policy"], base_dir, f"{where}.policy") if "policy" in table else None
        try:
            scenarios.append(Scenario(
                name=str(table["name"]),
                volume_multiplier=_number(table.get("volume", 1.0), "volume", where, path),
                aht_multiplier=_number(table.get("aht", 1.0), "aht", where, path),
                absentees=tuple(str(a) for a in absentees),
                random_absentees=int(_number(table.get("random_absentees", 0), "random_absentees", where, path)),
                roster_edits=tuple(ShiftEdit(a, s, e) for a, s, e in edits),
                routing=str(table["routing"]) if "routing" in table else None,
                answer_within_s=optional.get("sl_target_s"),
                shrinkage=_number(table.get("shrinkage", 0.0), "shrinkage", where, path),
                mean_patience_s=optional.get("patience_s"),
                policy=policy,
            ))
        except DispatchwiseError as exc:
            if exc.file is not None:
                raise
            key = FILE_KEY_OF_FIELD.get(exc.field or "", exc.field)
            raise InvalidInput(exc.message, file=str(path), field=f"{where}.{key}") from exc
    names = [s.name for s in scenarios]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise InvalidInput(f"scenario name {duplicate!r} appears twice", file=str(path), field="scenarios.name")
    baseline = [s for s in scenarios if s.name == BASELINE.name]
    others = [s for s in scenarios if s.name != BASELINE.name]
    return ScenarioFile(config, (baseline[0] if baseline else BASELINE, *others))


def write_results(path: Path, results: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(path, index=False, float_format="%.6g")


def plot_comparison(path: Path, results: pd.DataFrame, title: str = "what-if scenarios") -> None:
    """One panel per headline KPI, one bar per scenario with its 95% confidence interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(results["scenario"]))
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    colors = plt.get_cmap("tab10")(np.arange(len(scenarios)) % 10)
    for ax, (kpi, label) in zip(axes.flat, PLOT_KPIS, strict=True):
        rows = results[results["kpi"] == kpi].set_index("scenario").reindex(scenarios)
        means = rows["mean"].to_numpy(dtype=float)
        err = np.vstack([means - rows["ci95_lo"].to_numpy(dtype=float), rows["ci95_hi"].to_numpy(dtype=float) - means])
        ax.bar(np.arange(len(scenarios)), means, yerr=np.nan_to_num(err), color=colors, capsize=4)
        ax.set_title(label)
        ax.set_xticks(np.arange(len(scenarios)), scenarios, rotation=25, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{title} (mean and 95% CI over replications)")
    save_figure(fig, path)


def load_study(
    *,
    forecast: Path | None,
    roster: Path,
    agents: Path,
    scenarios: Path | Mapping[str, Any] | None = None,
    replications: int = 20,
    seed: int = 1,
    routing: str | None = None,
    scenarios_source: str = "scenarios",
    history: Path | None = None,
    replay_day: date | None = None,
) -> Study:
    """Everything ``simulate`` needs, from files: the roster's days of the forecast (or of a replayed
    history), staffing, scenarios; a history also fits the lognormal handle-time shape."""
    from api.formats.agents import read_agents
    from api.formats.roster import read_roster

    if replications < 1:
        raise InvalidInput(f"must be >= 1, got {replications}", field="replications")
    team = read_agents(agents)
    plan = read_roster(roster, team)
    window = roster_window(plan, str(roster))
    replay: History | None = None
    if replay_day is not None:
        if history is None:
            raise InvalidInput("a replay day needs a history file", field="--history")
        replay, demand = read_replay(history, replay_day, window.first_day, window.days, window.tz)
    elif forecast is None:
        raise InvalidInput("give a forecast, or a history file and a replay day", field="--forecast")
    else:
        demand = read_forecast(forecast, window.begin, window.end)
    settings: dict[str, Any] = {}
    if routing is not None:
        settings["routing"] = routing
    if history is not None:
        settings["handle_sigma"] = history_handle_sigma(history)
    try:
        base = SimulationConfig(**settings)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=exc.field) from exc
    if scenarios is None:
        spec = ScenarioFile(base, (BASELINE,))
    elif isinstance(scenarios, Path):
        spec = read_scenarios(scenarios, demand, base)
        scenarios_source = str(scenarios)
    else:
        spec = parse_scenarios(scenarios, demand, base, scenarios_source)
    return build_study(team, plan, demand, spec.config, spec.scenarios, replications=replications, seed=seed,
                       routing=routing, history=replay, agents_source=str(agents), scenarios_source=scenarios_source)
