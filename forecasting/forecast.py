"""From history to the forecast table other components read (one row per queue per period).

Columns, exactly: ``queue, period_start, volume, volume_lo80, volume_hi80, volume_lo95, volume_hi95,
aht_s, model``. ``period_start`` is tz-aware in the site timezone (real periods: a DST day has 92
or 100 of 15 minutes); closed periods are included with volume, intervals and AHT all 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

import numpy as np
import pandas as pd

from dispatcher.errors import InvalidInput
from forecasting.aht import aht_profile
from forecasting.calendar import (
    DayNote,
    PlannerDay,
    SpecialDay,
    check_holiday_mode,
    day_notes,
    plan_horizon,
    public_holidays,
)
from forecasting.models import MODELS, Intervals
from forecasting.select import ENSEMBLE, Backtest, backtest, choose, ensemble_members, model_input
from forecasting.series import DayGrid, FloatArray, history_grids, parse_freq, parse_horizon_days

COLUMNS = ["queue", "period_start", "volume", "volume_lo80", "volume_hi80", "volume_lo95", "volume_hi95",
           "aht_s", "model"]
LEVELS = (80, 95)
AUTO = "auto"


@dataclass(frozen=True, slots=True)
class QueueForecast:
    queue: str
    model: str
    frame: pd.DataFrame
    backtest: Backtest | None
    notes: tuple[DayNote, ...] = ()
    """Every horizon day forecast closed or treated as a holiday/special day, with the reason."""


def auto_candidates() -> list[str]:
    return [name for name, spec in MODELS.items() if spec.in_auto]


def check_model(model: str) -> None:
    if model not in (AUTO, ENSEMBLE) and model not in MODELS:
        raise InvalidInput(f"unknown model {model!r}; choose auto, ensemble or one of {sorted(MODELS)}",
                           field="model")


def localize(stamp: pd.Timestamp, timezone: str) -> pd.Timestamp:
    """A wall-clock time in the site timezone (a skipped DST time moves forward)."""
    if stamp.tzinfo is not None:
        return stamp.tz_convert(timezone)
    return stamp.tz_localize(timezone, nonexistent="shift_forward", ambiguous=True)


def horizon_window(grids: Mapping[str, DayGrid], *, freq_min: int, horizon_days: int,
                   start: str | datetime | None, timezone: str) -> pd.DatetimeIndex:
    """Periods of the horizon: from ``start`` (default: midnight after the history) for ``horizon_days``."""
    if start is None:
        end_day = max(g.end_day for g in grids.values())
        first = localize(pd.Timestamp(end_day), timezone)
    else:
        try:
            first = localize(pd.Timestamp(start), timezone)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"cannot read start time {start!r}", field="start") from exc
    first = first.floor(f"{freq_min}min", nonexistent="shift_forward", ambiguous=True)
    wall = first.tz_localize(None)
    last = localize(wall + pd.Timedelta(days=horizon_days), timezone)
    return pd.date_range(first, last, freq=f"{freq_min}min", inclusive="left")


def forecast_queue(
    grid: DayGrid,
    periods: pd.DatetimeIndex,
    *,
    model: str = AUTO,
    holidays: Mapping[date, str] | None = None,
    special_days: Iterable[SpecialDay] = (),
    planner: Iterable[PlannerDay] = (),
    holiday_mode: str = "learn",
    origins: int = 4,
    backtest_horizon_days: int = 7,
    progress: Callable[[int], None] | None = None,
) -> QueueForecast:
    """Forecast one queue over ``periods``; ``auto`` picks the model by rolling-origin backtest and
    intervals are calibrated on the chosen model's backtest residuals."""
    check_model(model)
    holidays = dict(holidays or {})
    specials = list(special_days)
    planned = [p for p in planner if p.applies_to(grid.queue)]
    local = periods.tz_localize(None)
    period_day = local.normalize().to_numpy().astype("datetime64[D]")
    slot = ((local.hour * 60 + local.minute) // grid.freq_min).to_numpy()
    first_day, last_day = period_day.min(), period_day.max()
    keep_days = int((first_day - np.datetime64(grid.first_day, "D")).astype(np.int64))
    if keep_days < 7:
        raise InvalidInput(f"forecast start {periods[0]} leaves less than a week of history for queue "
                           f"{grid.queue!r}", field="start")
    history = grid.head(min(keep_days, grid.n_days))
    days = first_day + np.arange(int((last_day - first_day).astype(np.int64)) + 1)
    if model in (AUTO, ENSEMBLE):
        candidates = auto_candidates()
    else:
        candidates = [model]
    result = backtest(history, models=candidates, origins=origins, horizon_days=backtest_horizon_days,
                      holidays=holidays, special_days=specials, planner=planned, holiday_mode=holiday_mode,
                      ensemble=len(candidates) > 1, progress=progress)
    chosen = choose(result) if model == AUTO else model
    calendar, inputs = model_input(history, holidays, specials, planned, holiday_mode)
    members = ensemble_members(result) if chosen == ENSEMBLE else [chosen]
    normal = np.median(np.stack([MODELS[m].fit(inputs).predict(days, levels=()).point for m in members]), axis=0)
    plan = plan_horizon(history, calendar, days)
    point: FloatArray = normal * np.array([f for f, _, _ in plan])[:, None]
    intervals = result.intervals(chosen, LEVELS) if chosen in result.points else None
    calib = intervals or Intervals()
    open_cells = calendar.open_mask(days) & (point.sum(axis=1) > 0)[:, None]
    bands = {lv: calib.bands(point, lv, open_cells) for lv in LEVELS}
    aht = aht_profile(history, days)
    aht = np.where(point > 0, aht, 0.0)
    row = (period_day - first_day).astype(np.int64)
    frame = pd.DataFrame({
        "queue": grid.queue,
        "period_start": periods,
        "volume": point[row, slot],
        "volume_lo80": bands[80][0][row, slot],
        "volume_hi80": bands[80][1][row, slot],
        "volume_lo95": bands[95][0][row, slot],
        "volume_hi95": bands[95][1][row, slot],
        "aht_s": aht[row, slot],
        "model": chosen,
    })
    notes = day_notes(grid.queue, calendar, days, plan, point.sum(axis=1))
    return QueueForecast(grid.queue, chosen, frame[COLUMNS], result, tuple(notes))


def check_planner_queues(planner: Sequence[PlannerDay], grids: Mapping[str, DayGrid]) -> None:
    """Every calendar row names a queue of the history (or none: all queues)."""
    for row in planner:
        if row.queue is not None and row.queue not in grids:
            raise InvalidInput(f"unknown queue {row.queue!r}; the history has {sorted(grids)}", field="queue",
                               row=row.row)


def _forecast_one(grid: DayGrid, periods: pd.DatetimeIndex, kwargs: dict[str, object]) -> QueueForecast:
    return forecast_queue(grid, periods, **kwargs)  # type: ignore[arg-type]


def forecast_queues(
    grids: Mapping[str, DayGrid],
    *,
    horizon: str | int = "7d",
    start: str | datetime | None = None,
    model: str = AUTO,
    country: str | None = None,
    subdivision: str | None = None,
    timezone: str = "America/New_York",
    special_days: Sequence[SpecialDay] = (),
    planner: Sequence[PlannerDay] = (),
    holiday_mode: str = "learn",
    origins: int = 4,
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[QueueForecast]:
    """Forecast every queue (in ``n_jobs`` processes when > 1; progress then ticks per queue)."""
    check_model(model)
    check_holiday_mode(holiday_mode)
    if not grids:
        raise InvalidInput("history has no queues", field="queue")
    check_planner_queues(planner, grids)
    freq_min = next(iter(grids.values())).freq_min
    horizon_days = horizon if isinstance(horizon, int) else parse_horizon_days(horizon)
    periods = horizon_window(grids, freq_min=freq_min, horizon_days=horizon_days, start=start, timezone=timezone)
    first = min(g.first_day for g in grids.values())
    last = periods[-1].date()
    holidays = public_holidays(country, first, last, subdivision)
    kwargs: dict[str, object] = {"model": model, "holidays": holidays, "special_days": tuple(special_days),
                                 "planner": tuple(planner), "holiday_mode": holiday_mode, "origins": origins,
                                 "backtest_horizon_days": min(horizon_days, 7)}
    if n_jobs > 1 and len(grids) > 1:
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            results = []
            for done in pool.map(partial(_forecast_one, periods=periods, kwargs=kwargs), grids.values()):
                results.append(done)
                if progress is not None:
                    progress(1)
            return results
    return [forecast_queue(g, periods, progress=progress, **kwargs) for g in grids.values()]  # type: ignore[arg-type]


def forecast_frame(
    history: pd.DataFrame,
    *,
    freq: str = "15min",
    horizon: str = "7d",
    start: str | datetime | None = None,
    model: str = AUTO,
    country: str | None = None,
    subdivision: str | None = None,
    timezone: str = "America/New_York",
    special_days: Sequence[SpecialDay] = (),
    planner: Sequence[PlannerDay] = (),
    holiday_mode: str = "learn",
    origins: int = 4,
    n_jobs: int = 1,
    time_col: str | None = None,
    volume_col: str | None = None,
    queue_col: str | None = None,
) -> pd.DataFrame:
    """History (event log or interval table) in, forecast table out — no files involved."""
    parse_freq(freq)
    grids = history_grids(history, freq=freq, timezone=timezone, time_col=time_col, volume_col=volume_col,
                          queue_col=queue_col)
    results = forecast_queues(grids, horizon=horizon, start=start, model=model, country=country,
                              subdivision=subdivision, timezone=timezone, special_days=special_days,
                              planner=planner, holiday_mode=holiday_mode, origins=origins, n_jobs=n_jobs)
    return pd.concat([r.frame for r in results], ignore_index=True)
