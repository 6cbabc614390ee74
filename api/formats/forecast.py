"""Files around forecasting: read a history (CSV/Parquet), special days and the planner's calendar;
write and read the forecast CSV (the one reader every later step uses) with its sidecar; plot.

Forecast CSV: ``queue,period_start,volume,volume_lo80,volume_hi80,volume_lo95,volume_hi95,aht_s,model``
(`forecasting.forecast.COLUMNS`), ``period_start`` ISO with its UTC offset; the generator's truth.csv
(``expected_volume``, ``expected_aht_s``) reads the same. Sidecar ``forecast.csv.meta.json``: the days
the forecast assumed closed, holiday or special, with the reason (``notes``).
Calendar CSV: ``date,queue,kind,effect,label``; kind ``closed``, ``open`` or ``special`` (effect: a
multiplier, empty = learned from past rows with the same label); empty queue = every queue.
Errors name the file, and the row and column when the content is at fault (header = row 1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from api.formats.figures import save_figure
from dispatcher.errors import DispatchwiseError, InvalidInput
from forecasting.calendar import CALENDAR_KINDS, DayNote, PlannerDay, SpecialDay
from forecasting.forecast import COLUMNS
from forecasting.series import DayGrid, history_grids

CALENDAR_COLUMNS = ("date", "queue", "kind", "effect", "label")
REQUIRED_COLUMNS = ("queue", "period_start", "volume", "aht_s")
TRUTH_ALIASES = {"expected_volume": "volume", "expected_aht_s": "aht_s"}
INTERVAL_COLUMNS = ("volume_lo80", "volume_hi80", "volume_lo95", "volume_hi95")


def read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, skipinitialspace=True)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InvalidInput(f"cannot read table: {exc}", file=str(path)) from exc


def read_history(path: Path, *, freq: str, timezone: str, time_col: str | None = None,
                 volume_col: str | None = None, queue_col: str | None = None) -> dict[str, DayGrid]:
    frame = read_table(path)
    try:
        return history_grids(frame, freq=freq, timezone=timezone, time_col=time_col, volume_col=volume_col,
                             queue_col=queue_col)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=exc.field, row=exc.row, file=str(path)) from exc


def read_special_days(path: Path) -> list[SpecialDay]:
    """CSV with ``date,name[,factor]``; an empty factor is learned from past days of that name."""
    frame = read_table(path)
    for column in ("date", "name"):
        if column not in frame.columns:
            raise InvalidInput(f"missing column {column!r}", file=str(path), row=1, field=column)
    days = []
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        try:
            day = date.fromisoformat(str(row.date).strip())
        except ValueError as exc:
            raise InvalidInput(f"not an ISO date: {row.date!r}", file=str(path), row=i, field="date") from exc
        raw = getattr(row, "factor", None)
        factor = None if raw is None or pd.isna(raw) or str(raw).strip() == "" else raw
        try:
            value = None if factor is None else float(factor)
        except ValueError as exc:
            raise InvalidInput(f"not a number: {factor!r}", file=str(path), row=i, field="factor") from exc
        if value is not None and value < 0:
            raise InvalidInput(f"negative factor {value}", file=str(path), row=i, field="factor")
        days.append(SpecialDay(day, str(row.name), value))
    return days


def read_calendar(path: Path) -> list[PlannerDay]:
    """The planner's calendar CSV (see module doc); one clear error naming the row for a bad date,
    kind or effect (an unknown queue is checked against the history: `check_calendar_queues`)."""
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read calendar: {exc}", file=str(path)) from exc
    missing = [c for c in ("date", "kind") if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in CALENDAR_COLUMNS]
    if missing or unknown:
        raise InvalidInput(f"calendar columns are {list(CALENDAR_COLUMNS)}; missing {missing}, unknown {unknown}",
                           file=str(path), row=1)
    rows = []
    for i, record in enumerate(frame.to_dict("records"), start=2):
        try:
            rows.append(calendar_row({str(k): str(v) for k, v in record.items()}, i))
        except DispatchwiseError as exc:
            raise InvalidInput(exc.message, file=str(path), row=i, field=exc.field) from exc
    return rows


def calendar_row(record: dict[str, str], row: int) -> PlannerDay:
    text = record["date"].strip()
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"not an ISO date (YYYY-MM-DD): {text!r}", field="date") from exc
    kind = record["kind"].strip().lower()
    if kind not in CALENDAR_KINDS:
        raise InvalidInput(f"unknown kind {record['kind']!r}; use one of {list(CALENDAR_KINDS)}", field="kind")
    raw = record.get("effect", "").strip()
    try:
        effect = float(raw) if raw else None
    except ValueError as exc:
        raise InvalidInput(f"effect is not a number: {raw!r}", field="effect") from exc
    if effect is not None and kind != "special":
        raise InvalidInput(f"effect {raw} is for special days only, this row is {kind!r}", field="effect")
    queue = record.get("queue", "").strip() or None
    return PlannerDay(day, kind, queue, effect, record.get("label", "").strip(), row)


def check_calendar_queues(planner: Sequence[PlannerDay], queues: Iterable[str], path: Path) -> None:
    known = set(queues)
    for day in planner:
        if day.queue is not None and day.queue not in known:
            raise InvalidInput(f"unknown queue {day.queue!r}; the history has {sorted(known)}", file=str(path),
                               row=day.row, field="queue")


def meta_path(path: Path) -> Path:
    """The forecast CSV's sidecar: ``forecast.csv.meta.json``."""
    return path.with_name(path.name + ".meta.json")


def write_forecast(frame: pd.DataFrame, path: Path, notes: Sequence[DayNote] = ()) -> None:
    """The forecast CSV, and its sidecar listing the days assumed closed, holiday or special."""
    out = frame[COLUMNS].copy()
    out["period_start"] = out["period_start"].map(lambda t: t.isoformat())
    for column in COLUMNS[2:8]:
        out[column] = out[column].round(3)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    write_notes(path, notes)


def write_notes(path: Path, notes: Sequence[DayNote]) -> None:
    """The sidecar of a forecast CSV, or of a file made from one (requirements.csv) so later steps repeat it."""
    meta = {"notes": [{**asdict(n), "day": n.day.isoformat()} for n in notes]}
    meta_path(path).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read_forecast_notes(path: Path) -> list[DayNote]:
    """The notes of a forecast CSV's sidecar (none when there is no sidecar)."""
    side = meta_path(path)
    if not side.exists():
        return []
    try:
        notes = json.loads(side.read_text(encoding="utf-8"))["notes"]
        return [DayNote(**{**n, "day": date.fromisoformat(n["day"])}) for n in notes]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"cannot read forecast notes: {exc}", file=str(side)) from exc


def read_forecast(path: Path) -> pd.DataFrame:
    """The forecast CSV (or truth.csv), validated: see `parse`."""
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    try:
        frame = pd.read_csv(path, dtype={"queue": str, "period_start": str}, keep_default_na=False,
                            na_values=[""], skipinitialspace=True)
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read CSV: {exc}", file=str(path)) from exc
    try:
        return parse(frame)
    except DispatchwiseError as exc:
        raise InvalidInput(exc.message, field=exc.field, row=exc.row, file=str(path)) from exc


def parse(frame: pd.DataFrame, first_row: int = 2) -> pd.DataFrame:
    """Forecast rows → ``queue, period_start`` (text as given), ``start`` (UTC), ``volume``, ``aht_s``
    (0 where volume is 0 and AHT is empty), the interval columns present, and ``row`` (the file row:
    rows count from ``first_row``, 2 in a CSV whose header is row 1). Errors name row and column."""
    frame = frame.rename(columns={k: v for k, v in TRUTH_ALIASES.items() if v not in frame.columns})
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"missing columns {missing}; found {list(frame.columns)}", row=1)
    if frame.empty:
        raise InvalidInput("no periods in the forecast", row=first_row)
    out = pd.DataFrame({"queue": frame["queue"].astype(str).str.strip(),
                        "period_start": frame["period_start"].astype(str).str.strip()})
    for column in ("volume", "aht_s", *(c for c in INTERVAL_COLUMNS if c in frame.columns)):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        text_bad = numbers.isna() & frame[column].notna()
        if text_bad.any():
            i = int(np.flatnonzero(text_bad.to_numpy())[0])
            raise InvalidInput(f"not a number: {frame[column].iloc[i]!r}", row=i + first_row, field=column)
        out[column] = numbers.astype(float)
    volume = out["volume"].to_numpy()
    bad = ~np.isfinite(volume) | (volume < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"volume must be a number >= 0, got {frame['volume'].iloc[i]}", row=i + first_row,
                           field="volume")
    aht = out["aht_s"].to_numpy()
    bad = (volume > 0) & ~(np.isfinite(aht) & (aht > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"aht_s must be a number > 0 where volume > 0, got {frame['aht_s'].iloc[i]}",
                           row=i + first_row, field="aht_s")
    bad = np.isfinite(aht) & (aht < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"aht_s must not be negative, got {float(aht[i])!r}", row=i + first_row, field="aht_s")
    out["aht_s"] = np.where(np.isfinite(aht), aht, 0.0)
    if (out["queue"] == "").any():
        i = int(np.flatnonzero((out["queue"] == "").to_numpy())[0])
        raise InvalidInput("queue must not be empty", row=i + first_row, field="queue")
    out["start"] = utc_starts(out["period_start"], first_row)
    out["row"] = np.arange(len(out)) + first_row
    duplicated = out.duplicated(["queue", "start"])
    if duplicated.any():
        i = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InvalidInput(f"queue {out['queue'].iloc[i]!r} has period {out['period_start'].iloc[i]} twice",
                           row=i + first_row, field="period_start")
    return out


def utc_starts(text: pd.Series, first_row: int) -> pd.Series:
    """ISO timestamps with a UTC offset → UTC Timestamps; a bad or offset-less one names its row."""
    starts = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    if starts.isna().any():
        i = int(np.flatnonzero(starts.isna().to_numpy())[0])
        raise InvalidInput(f"not an ISO timestamp: {text.iloc[i]!r}", row=i + first_row, field="period_start")
    naive = ~text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, case=False)
    if naive.any():
        i = int(np.flatnonzero(naive.to_numpy())[0])
        raise InvalidInput(f"timestamp {text.iloc[i]!r} has no UTC offset", row=i + first_row,
                           field="period_start")
    return starts


def plot_forecast(grids: dict[str, DayGrid], frame: pd.DataFrame, path: Path, *, timezone: str,
                  tail_days: int = 14) -> None:
    """History tail, forecast and 80/95% intervals per queue, one panel each (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    queues: Sequence[str] = list(dict.fromkeys(frame["queue"]))
    fig, axes = plt.subplots(len(queues), 1, figsize=(12, 3.2 * len(queues)), squeeze=False)
    for ax, queue in zip(axes[:, 0], queues, strict=True):
        part = frame[frame["queue"] == queue]
        x = part["period_start"].dt.tz_localize(None)
        grid = grids.get(queue)
        if grid is not None:
            tail = grid.volume[-tail_days:]
            starts = (pd.Timestamp(grid.days[-len(tail)])
                      + pd.to_timedelta(np.arange(tail.size) * grid.freq_min, unit="min"))
            ax.plot(starts, np.nan_to_num(tail.ravel()), color="0.4", lw=0.8, label="history")
        ax.fill_between(x, part["volume_lo95"], part["volume_hi95"], color="tab:blue", alpha=0.15, label="95%")
        ax.fill_between(x, part["volume_lo80"], part["volume_hi80"], color="tab:blue", alpha=0.3, label="80%")
        ax.plot(x, part["volume"], color="tab:blue", lw=1.0, label=f"forecast ({part['model'].iloc[0]})")
        ax.set_title(f"{queue} — contacts per period ({timezone})")
        ax.legend(loc="upper left", fontsize=8)
    save_figure(fig, path)
