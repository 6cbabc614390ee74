"""Files around forecasting: read a history (CSV/Parquet), special days, write the forecast CSV and plot.

Errors name the file, and the row and column when the content is at fault (header = row 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from dispatcher.errors import InvalidInput
from forecasting.calendar import SpecialDay
from forecasting.forecast import COLUMNS
from forecasting.series import DayGrid, history_grids


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


def write_forecast(frame: pd.DataFrame, path: Path) -> None:
    out = frame[COLUMNS].copy()
    out["period_start"] = out["period_start"].map(lambda t: t.isoformat())
    for column in COLUMNS[2:8]:
        out[column] = out[column].round(3)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)


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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
