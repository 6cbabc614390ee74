"""``dispatchwise forecast`` and ``dispatchwise backtest``: demand per queue and period from a history file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.formats.forecast import (
    check_calendar_queues,
    meta_path,
    plot_forecast,
    read_calendar,
    read_history,
    read_special_days,
    write_forecast,
)
from dispatcher.errors import InvalidInput
from forecasting.calendar import HOLIDAY_MODES, DayNote, PlannerDay, check_holiday_mode, public_holidays
from forecasting.forecast import AUTO, auto_candidates, check_model, forecast_queues
from forecasting.models import MODELS
from forecasting.select import ENSEMBLE, ModelScore, backtest
from forecasting.series import parse_freq, parse_horizon_days

History = Annotated[Path, typer.Argument(help="Event log or interval table (CSV or Parquet).")]
Freq = Annotated[str, typer.Option(help="Period length, 5 to 60 minutes dividing the day.")]
Country = Annotated[str | None, typer.Option(help="Public holidays of this country (holidays package).")]
Subdivision = Annotated[str | None, typer.Option(help="State/province for public holidays.")]
Timezone = Annotated[str, typer.Option(help="Site timezone for naive timestamps and output.")]
TimeCol = Annotated[str | None, typer.Option("--time-col", help="Timestamp column.")]
VolumeCol = Annotated[str | None, typer.Option("--volume-col", help="Volume column (interval table).")]
QueueCol = Annotated[str | None, typer.Option("--queue-col", help="Queue column.")]
CalendarFile = Annotated[Path | None, typer.Option(
    "--calendar", help="Planner's calendar CSV date,queue,kind,effect,label (kind: closed|open|special); "
    "overrides what is learned from history.")]
HolidayMode = Annotated[str, typer.Option(
    "--holidays", help=f"Public holidays ({'|'.join(HOLIDAY_MODES)}): learn = closed only when the same holiday "
    "was observed closed in history; never-seen holidays stay open.")]


def read_planner(calendar: Path | None, queues: list[str]) -> list[PlannerDay]:
    if calendar is None:
        return []
    planner = read_calendar(calendar)
    check_calendar_queues(planner, queues, calendar)
    return planner


def print_notes(console: Console, notes: list[DayNote]) -> None:
    """Every horizon day forecast closed, holiday or special, with the reason; whole-day zeros on a
    weekday open in history in red."""
    if not notes:
        console.print("assumed: every horizon day is a normal day of its weekday", style="dim")
        return
    table = Table(title="days the forecast treated specially (also in the CSV's .meta.json)")
    for column in ("day", "queue", "factor", "reason"):
        table.add_column(column, justify="right" if column == "factor" else "left")
    for note in notes:
        style = "bold red" if note.warning else None
        reason = f"{note.reason} — WARNING: whole day 0 on a weekday open in history" if note.warning else note.reason
        table.add_row(f"{note.day:%a %Y-%m-%d}", note.queue, f"×{note.factor:.2f}", reason, style=style)
    console.print(table)


def progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def fmt(value: object, pattern: str = "{:.3f}") -> str:
    if not isinstance(value, int | float) or not np.isfinite(value):
        return "–"
    return pattern.format(value)


def forecast_command(
    history: History,
    freq: Freq = "15min",
    horizon: Annotated[str, typer.Option(help="Length of the forecast, e.g. 7d, 2w.")] = "7d",
    start: Annotated[str | None, typer.Option(help="First period (ISO); default: day after history.")] = None,
    model: Annotated[str, typer.Option(help=f"auto, ensemble or one of: {', '.join(MODELS)}.")] = AUTO,
    country: Country = None,
    subdivision: Subdivision = None,
    timezone: Timezone = "America/New_York",
    special_days: Annotated[Path | None, typer.Option(help="CSV date,name[,factor] of special days.")] = None,
    calendar: CalendarFile = None,
    holidays: HolidayMode = "learn",
    origins: Annotated[int, typer.Option(help="Backtest origins (weekly) for auto and intervals.")] = 4,
    jobs: Annotated[int, typer.Option(help="Processes over queues.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Write the forecast CSV here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Draw history tail, forecast and intervals (PNG).")] = None,
    time_col: TimeCol = None,
    volume_col: VolumeCol = None,
    queue_col: QueueCol = None,
) -> None:
    """Forecast volume (with 80/95% intervals) and AHT per queue and period."""
    check_model(model)
    check_holiday_mode(holidays)
    parse_freq(freq)
    parse_horizon_days(horizon)
    if origins < 1:
        raise InvalidInput("origins must be >= 1", field="--origins")
    console = Console()
    grids = read_history(history, freq=freq, timezone=timezone, time_col=time_col, volume_col=volume_col,
                         queue_col=queue_col)
    specials = read_special_days(special_days) if special_days else []
    planner = read_planner(calendar, list(grids))
    n_models = len(auto_candidates()) if model in (AUTO, ENSEMBLE) else 1
    total = len(grids) if jobs > 1 else len(grids) * origins * n_models
    with progress_bar(console) as bar:
        task = bar.add_task(f"backtesting {len(grids)} queue(s)", total=total)
        results = forecast_queues(grids, horizon=horizon, start=start, model=model, country=country,
                                  subdivision=subdivision, timezone=timezone, special_days=specials,
                                  planner=planner, holiday_mode=holidays, origins=origins, n_jobs=jobs,
                                  progress=lambda n: bar.advance(task, n))
    frame = pd.concat([r.frame for r in results], ignore_index=True)
    table = Table(title=f"forecast {frame['period_start'].iloc[0]:%Y-%m-%d %H:%M} + {horizon}, {freq} periods")
    for column in ("queue", "model", "WAPE", "naive", "cov80", "cov95", "contacts", "peak", "AHT s"):
        table.add_column(column, justify="left" if column in ("queue", "model") else "right")
    for result in results:
        part = result.frame
        scores = {s.model: s for s in result.backtest.scores} if result.backtest else {}
        chosen = scores.get(result.model)
        naive = scores.get("snaive_week")
        weights = part["volume"].to_numpy()
        aht = part["aht_s"].to_numpy()
        known = ~np.isnan(aht)
        mean_aht = (float(np.sum(aht[known] * weights[known]) / weights[known].sum())
                    if known.any() and weights[known].sum() > 0 else float("nan"))
        table.add_row(
            result.queue, result.model,
            fmt(chosen.wape if chosen else float("nan")), fmt(naive.wape if naive else float("nan")),
            fmt(chosen.coverage.get(80, float("nan")) if chosen else float("nan"), "{:.0%}"),
            fmt(chosen.coverage.get(95, float("nan")) if chosen else float("nan"), "{:.0%}"),
            f"{weights.sum():,.0f}", f"{weights.max():.1f}", fmt(mean_aht, "{:.0f}"),
        )
    console.print(table)
    console.print("WAPE: backtest of the chosen model; naive: same weekday last week; cov: backtest interval "
                  "coverage; peak: highest period", style="dim")
    notes = [n for r in results for n in r.notes]
    print_notes(console, notes)
    if out is not None:
        write_forecast(frame, out, notes)
        console.print(f"wrote {len(frame):,} rows to {out} (assumptions in {meta_path(out).name})")
    if plot is not None:
        plot_forecast(grids, frame, plot, timezone=timezone)
        console.print(f"plotted to {plot}")


def backtest_command(
    history: History,
    freq: Freq = "15min",
    horizon: Annotated[str, typer.Option(help="Horizon of each origin, e.g. 5d, 7d.")] = "7d",
    origins: Annotated[int, typer.Option(help="Number of weekly origins.")] = 4,
    models: Annotated[str, typer.Option(help="Comma-separated models, 'auto' (the auto set) or 'all'.")] = AUTO,
    country: Country = None,
    subdivision: Subdivision = None,
    timezone: Timezone = "America/New_York",
    calendar: CalendarFile = None,
    holidays: HolidayMode = "learn",
    out: Annotated[Path | None, typer.Option(help="Write the per-model table as CSV.")] = None,
    time_col: TimeCol = None,
    volume_col: VolumeCol = None,
    queue_col: QueueCol = None,
) -> None:
    """Rolling-origin backtest: WAPE, MASE, bias, 80/95% coverage and fit time per model and queue."""
    if origins < 1:
        raise InvalidInput("origins must be >= 1", field="--origins")
    names = auto_candidates() if models == AUTO else list(MODELS) if models == "all" else [
        m.strip() for m in models.split(",") if m.strip()]
    for name in names:
        if name not in MODELS:
            raise InvalidInput(f"unknown model {name!r}; choose from {sorted(MODELS)}", field="--models")
    horizon_days = parse_horizon_days(horizon)
    parse_freq(freq)
    check_holiday_mode(holidays)
    console = Console()
    grids = read_history(history, freq=freq, timezone=timezone, time_col=time_col, volume_col=volume_col,
                         queue_col=queue_col)
    planner = read_planner(calendar, list(grids))
    rows = []
    per_origin = []
    with progress_bar(console) as bar:
        task = bar.add_task("backtesting", total=len(grids) * origins * len(names))
        for queue, grid in grids.items():
            public = public_holidays(country, grid.first_day, grid.end_day, subdivision)
            result = backtest(grid, models=names, origins=origins, horizon_days=horizon_days,
                              holidays=public, planner=[p for p in planner if p.applies_to(queue)],
                              holiday_mode=holidays, progress=lambda n: bar.advance(task, n))
            for s in result.scores:
                rows.append({"queue": queue, "model": s.model, "wape": s.wape, "median_wape": s.median_wape,
                             "mase": s.mase, "bias": s.bias,
                             "coverage80": s.coverage.get(80, np.nan), "coverage95": s.coverage.get(95, np.nan),
                             "fit_s": s.fit_s, "origins": len(result.origins)})
            if result.origins:
                per_origin.append((queue, result.scores[0], result.origins))
    table = Table(title=f"rolling-origin backtest: {origins} origins × {horizon}, {freq} periods (best first)")
    for column in ("queue", "model", "WAPE", "med", "MASE", "bias", "cov80", "cov95", "fit s"):
        table.add_column(column, justify="left" if column in ("queue", "model") else "right")
    for r in rows:
        table.add_row(str(r["queue"]), str(r["model"]), fmt(r["wape"]), fmt(r["median_wape"]), fmt(r["mase"]),
                      fmt(r["bias"], "{:+.3f}"), fmt(r["coverage80"], "{:.0%}"), fmt(r["coverage95"], "{:.0%}"),
                      fmt(r["fit_s"], "{:.3f}"))
    console.print(table)
    print_origins(console, per_origin)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(out, index=False)
        console.print(f"wrote {len(rows)} rows to {out}")


def print_origins(console: Console, per_origin: list[tuple[str, ModelScore, tuple[date, ...]]]) -> None:
    """Each origin's WAPE and interval coverage (calibrated on the other origins) for each queue's best model."""
    table = Table(title="per origin, best model of each queue: intervals calibrated on the other origins")
    for column in ("queue", "model", "origin", "WAPE", "cov80", "cov95"):
        table.add_column(column, justify="left" if column in ("queue", "model", "origin") else "right")
    for queue, score, origins in per_origin:
        for k, origin in enumerate(origins):
            cover = {lv: score.origin_coverage.get(lv, ())[k:k + 1] for lv in (80, 95)}
            table.add_row(queue, score.model, f"{origin:%a %Y-%m-%d}",
                          fmt(score.origin_wape[k] if k < len(score.origin_wape) else float("nan")),
                          *(fmt(cover[lv][0] if cover[lv] else float("nan"), "{:.0%}") for lv in (80, 95)))
    console.print(table)
    console.print("cov: share of held-out periods inside the band; nominal 80% / 95%", style="dim")


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast_command)
    app.command("backtest")(backtest_command)
