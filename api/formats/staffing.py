"""Files around staffing: read the forecast CSV and a per-queue policy (TOML or YAML); write the
requirements table (built by dispatcher.requirements) as CSV and draw it.

Forecast CSV (from ``dispatchwise forecast``): ``queue,period_start,volume,volume_lo80,volume_hi80,
volume_lo95,volume_hi95,aht_s,model``, one row per queue and period; only ``queue, period_start,
volume, aht_s`` are used. Period length = spacing of ``period_start`` within a queue.

Policy file::

    [default]                 # every queue
    service_level = "80/20"   # 80 % answered within 20 s (or 0.8 / 80 with answer_within = "20s")
    patience = "120s"         # Erlang A; omit for Erlang C
    max_occupancy = 0.85
    shrinkage = 0.3
    [queues.chat]
    concurrency = 3
    [queues.email]
    resolution_deadline = "2h"   # deferred work: backlog cleared within 2 open hours

Keys: service_level, answer_within, patience, max_occupancy, max_asa, max_abandon, shrinkage,
concurrency, min_agents, max_agents, resolution_deadline. Durations: ``20s``, ``5m``, ``2h``, ``1d``
or plain seconds. Requirements CSV: ``queue,period_start,volume,aht_s,agents,agents_scheduled,
service_level,asa_s,occupancy,abandon_rate`` (abandon_rate empty when patience is not modelled).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from api.formats.figures import save_figure
from api.formats.forecast import parse
from api.formats.forecast import read_forecast as read_forecast  # noqa: PLC0414 (re-export: the one forecast reader)
from dispatcher.errors import DispatchwiseError, InvalidInput
from dispatcher.requirements import (
    REQUIREMENT_COLUMNS,
    StaffingPolicy,
)
from dispatcher.staffing import StaffingTargets

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_duration(value: object, field_name: str) -> float:
    """Seconds from ``120s``, ``2m``, ``1.5h``, ``2d`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise InvalidInput(f"expected a duration such as 20s or 2h, got {value!r}", field=field_name)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        unit = match.group(2).lower() if match else ""
        if not match or unit not in ("", *_UNITS):
            raise InvalidInput(f"expected a duration such as 20s, 5m or 2h, got {value!r}", field=field_name)
        seconds = float(match.group(1)) * _UNITS.get(unit, 1.0)
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidInput(f"duration must be > 0, got {value!r}", field=field_name)
    return seconds


def parse_service_level(value: object, field_name: str = "service_level") -> tuple[float, float | None]:
    """``80/20`` → (0.8, 20 s); ``0.8`` or ``80`` → (0.8, None). Percent must be in (0, 100]."""
    text = str(value).strip()
    answer: float | None = None
    if "/" in text:
        level_text, _, answer_text = text.partition("/")
        answer = parse_duration(answer_text.strip() or "x", "answer_within")
        text = level_text.strip().rstrip("%")
    try:
        level = float(text.rstrip("%"))
    except ValueError as exc:
        raise InvalidInput(f"expected a service level such as 80/20, got {value!r}", field=field_name) from exc
    fraction = level / 100.0 if level > 1.0 or "/" in str(value) or str(value).strip().endswith("%") else level
    if not (math.isfinite(fraction) and 0.0 < fraction <= 1.0):
        raise InvalidInput(f"service level must be in (0, 100] %, got {value!r}", field=field_name)
    return fraction, answer


_NUMBER_KEYS = {"max_occupancy": "max_occupancy", "max_abandon": "max_abandon", "shrinkage": "shrinkage"}
_DURATION_KEYS = {"answer_within": "answer_within_s", "patience": "patience_s", "max_asa": "max_asa_s",
                  "resolution_deadline": "resolution_deadline_s"}
_INT_KEYS = {"concurrency": "concurrency", "min_agents": "min_agents_open", "max_agents": "max_agents"}
POLICY_KEYS = frozenset({"service_level", *_NUMBER_KEYS, *_DURATION_KEYS, *_INT_KEYS})


def target_overrides(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """StaffingTargets keyword arguments from a policy section (unknown keys are an error)."""
    unknown = sorted(set(values) - POLICY_KEYS)
    if unknown:
        raise InvalidInput(f"unknown keys {unknown} in [{where}]; allowed: {sorted(POLICY_KEYS)}", field=where)
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{where}.{key}"
        if key == "service_level":
            level, answer = parse_service_level(value, name)
            out["service_level"] = level
            if answer is not None:
                out["answer_within_s"] = answer
        elif key in _DURATION_KEYS:
            out[_DURATION_KEYS[key]] = parse_duration(value, name)
        elif key in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
                raise InvalidInput(f"expected a whole number, got {value!r}", field=name)
            out[_INT_KEYS[key]] = int(value)
        else:
            try:
                number = float(value)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"expected a number, got {value!r}", field=name) from exc
            if key == "max_occupancy" and number > 1.0:
                number /= 100.0  # 85 means 85 %
            out[_NUMBER_KEYS[key]] = number
    return out


def build_policy(document: Mapping[str, Any], flags: Mapping[str, Any] | None = None, *,
                 source: str | None = None, default_label: str = "default") -> StaffingPolicy:
    """Policy from a parsed document: built-in defaults < [default] < flags < [queues.NAME].

    ``source`` names the file in errors; ``default_label`` names the default section.
    """
    if not isinstance(document, Mapping):
        raise InvalidInput("policy must be a table with [default] and [queues.NAME] sections", file=source)
    unknown = sorted(set(document) - {"default", "queues"})
    if unknown:
        raise InvalidInput(f"unknown sections {unknown}; expected [default] and [queues.NAME]", file=source)
    try:
        common = {**target_overrides(document.get("default") or {}, default_label), **(flags or {})}
        queues_doc = document.get("queues") or {}
        if not isinstance(queues_doc, Mapping):
            raise InvalidInput("[queues] must map queue names to tables", field="queues")
        default = StaffingTargets(**common)
        queues = {str(name): StaffingTargets(**{**common, **target_overrides(section or {}, f"queues.{name}")})
                  for name, section in queues_doc.items()}
    except DispatchwiseError as exc:
        raise InvalidInput(exc.message, field=exc.field, file=source) from exc
    return StaffingPolicy(default=default, queues=queues)


def read_policy(path: Path, flags: Mapping[str, Any] | None = None) -> StaffingPolicy:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) policy file."""
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            document: Any = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            document = yaml.safe_load(text) or {}
        else:
            raise InvalidInput("policy file must end in .toml, .yaml or .yml", file=str(path))
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot parse policy: {exc}", file=str(path)) from exc
    return build_policy(document, flags=flags, source=str(path))


# ----------------------------------------------------------------------------------------- forecast


validate_forecast = parse
"""The forecast CSV has one reader, `api.formats.forecast.read_forecast`; this is its row check."""


def write_requirements(frame: pd.DataFrame, path: Path) -> None:
    out = frame[REQUIREMENT_COLUMNS].copy()
    for column, digits in (("volume", 3), ("aht_s", 3), ("service_level", 6), ("asa_s", 3),
                           ("occupancy", 6), ("abandon_rate", 6)):
        out[column] = out[column].astype(float).round(digits)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)


def plot_requirements(frame: pd.DataFrame, path: Path) -> None:
    """Volume and agents (needed and scheduled) per period, one panel per queue (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    queues = list(dict.fromkeys(frame["queue"]))
    fig, axes = plt.subplots(len(queues), 1, figsize=(12, 3.2 * len(queues)), squeeze=False)
    for ax, queue in zip(axes[:, 0], queues, strict=True):
        part = frame[frame["queue"] == queue]
        x = pd.to_datetime(part["period_start"].str.slice(0, 19), format="ISO8601")  # site wall clock
        ax.step(x, part["agents_scheduled"], where="post", color="tab:orange", lw=1.0, label="scheduled")
        ax.step(x, part["agents"], where="post", color="tab:green", lw=1.0, label="on the floor")
        ax.set_ylabel("agents")
        twin = ax.twinx()
        twin.plot(x, part["volume"], color="0.5", lw=0.6, alpha=0.7, label="volume")
        twin.set_ylabel("contacts / period")
        ax.set_title(f"{queue} — staffing requirement")
        ax.legend(loc="upper left", fontsize=8)
    save_figure(fig, path)


def targets_as_dict(targets: StaffingTargets) -> dict[str, Any]:
    return dataclasses.asdict(targets)
