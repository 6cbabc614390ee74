"""Ingest and validate demand history, and lay it on the calendar grid (one row a day, one column a period).

Two input forms, both as a DataFrame (files are read in ``api/``):
- an event log: one row per contact with a timestamp (``created_at``), optional ``queue`` and
  ``handle_time_s``;
- an interval table: ``period_start`` and ``volume`` per period, optional ``queue`` and ``aht_s``.

Timestamps with an offset or ``Z`` are converted to the site timezone; naive ones are read as site
wall-clock time. The grid is in local wall-clock time: a day is a row of ``24h / freq`` periods, so
"the same slot last week" is always seven rows up, whatever days are missing. A day without any
volume is *missing* (closed day, holiday or data gap), stored as NaN, never as zero demand.
Row numbers in errors count the header as row 1, like a spreadsheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from dispatcher.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DayArray = npt.NDArray[np.datetime64]

DEFAULT_QUEUE = "default"
TIME_COLUMNS = ("period_start", "created_at", "timestamp", "time", "datetime")
VOLUME_COLUMNS = ("volume", "count", "contacts")
_OFFSET = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DayGrid:
    """One queue's history: ``volume[d, s]`` contacts in period ``s`` of day ``first_day + d`` (NaN: day missing)."""

    queue: str
    first_day: date
    freq_min: int
    volume: FloatArray
    handle_s: FloatArray
    """Total handle seconds per period (NaN where unknown)."""

    @property
    def periods_per_day(self) -> int:
        return 24 * 60 // self.freq_min

    @property
    def n_days(self) -> int:
        return int(self.volume.shape[0])

    @property
    def days(self) -> DayArray:
        return np.datetime64(self.first_day, "D") + np.arange(self.n_days)

    @property
    def end_day(self) -> date:
        """The first day after the history."""
        return self.first_day + pd.Timedelta(days=self.n_days).to_pytimedelta()

    def head(self, n_days: int) -> DayGrid:
        """The first ``n_days`` days (history before a backtest origin)."""
        return DayGrid(self.queue, self.first_day, self.freq_min, self.volume[:n_days], self.handle_s[:n_days])


def weekday_of(days: DayArray) -> npt.NDArray[np.int64]:
    """Monday=0 … Sunday=6 for datetime64[D] days (1970-01-01 was a Thursday)."""
    return ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(np.int64)


def parse_freq(freq: str) -> int:
    """Minutes per period; 5 to 60 and dividing the day, else InvalidInput."""
    text = freq.strip().lower()
    match = re.fullmatch(r"(\d+)\s*(min|m|t|h)", text)
    if match is None:
        raise InvalidInput(f"cannot read frequency {freq!r}; use e.g. 15min, 30min, 1h", field="freq")
    minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1)
    if not 5 <= minutes <= 60:
        raise InvalidInput(f"frequency {freq!r} must be between 5 and 60 minutes", field="freq")
    if (24 * 60) % minutes:
        raise InvalidInput(f"frequency {freq!r} does not divide the day into whole periods", field="freq")
    return minutes


def parse_horizon_days(horizon: str) -> int:
    """Whole days of a horizon such as ``7d``, ``2w`` or ``48h`` (rounded up to days)."""
    match = re.fullmatch(r"(\d+)\s*(d|w|h)", horizon.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(f"cannot read horizon {horizon!r}; use e.g. 7d, 2w, 48h", field="horizon")
    n = int(match.group(1))
    return {"d": n, "w": 7 * n, "h": -(-n // 24)}[match.group(2)]


def _pick(frame: pd.DataFrame, given: str | None, candidates: tuple[str, ...], what: str) -> str | None:
    if given is not None:
        if given not in frame.columns:
            raise InvalidInput(f"{what} column {given!r} not found; columns are {list(frame.columns)}",
                               field=given, row=1)
        return given
    return next((c for c in candidates if c in frame.columns), None)


def wall_clock(values: pd.Series, *, timezone: str, column: str, first_row: int) -> tuple[pd.Series, np.ndarray]:
    """Local wall-clock times (naive) in the site timezone, and an instant key per row (UTC for
    timestamps with an offset, so the repeated hour of a DST change is not a duplicate);
    unparsable cells raise with their row."""
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    if empty.any():
        pos = int(np.flatnonzero(empty.to_numpy())[0])
        raise InvalidInput("empty timestamp", field=column, row=pos + first_row)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        utc = values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        return values.dt.tz_convert(timezone).dt.tz_localize(None), utc.to_numpy().astype(np.int64) * 2
    if pd.api.types.is_datetime64_dtype(values.dtype):
        naive = values.astype("datetime64[ns]")
        return naive, naive.to_numpy().astype(np.int64) * 2 + 1
    aware = text.str.contains(_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    key = np.zeros(len(values), dtype=np.int64)
    if aware.any():
        parsed = pd.to_datetime(text[aware], utc=True, errors="coerce", format="ISO8601")
        out[aware] = parsed.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[ns]")
        key[aware] = parsed.dt.tz_localize(None).astype("datetime64[ns]").to_numpy().astype(np.int64) * 2
    if (~aware).any():
        parsed = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601")
        out[~aware] = parsed.astype("datetime64[ns]")
    bad = out.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"cannot read time {text.iloc[pos]!r}", field=column, row=pos + first_row)
    key[~aware] = out[~aware].to_numpy().astype(np.int64) * 2 + 1
    return out, key


def _numbers(frame: pd.DataFrame, column: str, first_row: int, *, allow_missing: bool) -> FloatArray:
    raw = frame[column]
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(numbers) & ~(raw.isna().to_numpy() & allow_missing)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InvalidInput(f"not a number: {raw.iloc[pos]!r}", field=column, row=pos + first_row)
    negative = numbers < 0
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise InvalidInput(f"negative value {numbers[pos]:g}", field=column, row=pos + first_row)
    return numbers


def history_grids(
    frame: pd.DataFrame,
    *,
    freq: str = "15min",
    timezone: str = "America/New_York",
    time_col: str | None = None,
    volume_col: str | None = None,
    queue_col: str | None = None,
    handle_col: str | None = None,
    aht_col: str | None = None,
    first_row: int = 2,
) -> dict[str, DayGrid]:
    """Validate an event log or interval table and aggregate it to one DayGrid per queue."""
    freq_min = parse_freq(freq)
    if frame.empty:
        raise InvalidInput("history has no rows", row=first_row)
    frame = frame.reset_index(drop=True)
    tcol = _pick(frame, time_col, TIME_COLUMNS, "time")
    if tcol is None:
        raise InvalidInput(f"no time column; expected one of {list(TIME_COLUMNS)} or pass --time-col",
                           field="period_start", row=1)
    vcol = _pick(frame, volume_col, VOLUME_COLUMNS, "volume")
    qcol = _pick(frame, queue_col, ("queue",), "queue")
    local, instant = wall_clock(frame[tcol], timezone=timezone, column=tcol, first_row=first_row)
    queues = (frame[qcol].astype("string").fillna(DEFAULT_QUEUE).to_numpy(dtype=str) if qcol
              else np.full(len(frame), DEFAULT_QUEUE))
    if vcol is not None:  # interval table
        volume = _numbers(frame, vcol, first_row, allow_missing=False)
        acol = _pick(frame, aht_col, ("aht_s", "aht"), "aht")
        handle = (_numbers(frame, acol, first_row, allow_missing=True) * volume if acol
                  else np.full(len(frame), np.nan))
        key = pd.DataFrame({"q": queues, "t": instant})
        dup = key.duplicated().to_numpy()
        if dup.any():
            pos = int(np.flatnonzero(dup)[0])
            raise InvalidInput(f"duplicated period {local.iloc[pos]} for queue {str(queues[pos])!r}",
                               field=tcol, row=pos + first_row)
    else:  # event log
        volume = np.ones(len(frame))
        hcol = _pick(frame, handle_col, ("handle_time_s", "handle_s", "aht_s"), "handle time")
        handle = _numbers(frame, hcol, first_row, allow_missing=True) if hcol else np.full(len(frame), np.nan)
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy(dtype=np.int64)
    day = local.dt.normalize().to_numpy().astype("datetime64[D]")
    first = day.min()
    day_index = (day - first).astype(np.int64)
    n_days = int(day_index.max()) + 1
    per_day = 24 * 60 // freq_min
    cell = day_index * per_day + minute // freq_min
    grids = {}
    for queue in sorted(set(queues.tolist())):
        mine = queues == queue
        vol: FloatArray = np.asarray(
            np.bincount(cell[mine], weights=volume[mine], minlength=n_days * per_day), dtype=np.float64
        ).reshape(n_days, per_day)
        known = ~np.isnan(handle[mine])
        hsum: FloatArray = np.asarray(
            np.bincount(cell[mine][known], weights=handle[mine][known], minlength=n_days * per_day), dtype=np.float64
        )
        handle_grid: FloatArray = (hsum if known.any() else np.full(len(hsum), np.nan)).reshape(n_days, per_day)
        empty_day = vol.sum(axis=1) <= 0
        vol[empty_day] = np.nan
        grids[queue] = DayGrid(queue, pd.Timestamp(first).date(), freq_min, vol, handle_grid)
    return grids
