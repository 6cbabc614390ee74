"""Realistic synthetic contact-center data with a known truth.

Arrivals are a non-homogeneous Poisson process per queue and 15-minute slot with a two-peak
intraday profile, weekday/weekend pattern, public holidays (closed, with a rebound the next
open day), a linear trend and day-level noise; handle times are lognormal. Because the expected
volume per slot is known, forecasts can be scored against the best achievable (``truth``).
Deterministic for a seed. Pure computation: returns DataFrames, writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import numpy as np
import numpy.typing as npt
import pandas as pd

from dispatcher.domain import Agent, BreakRule, Contract, ShiftTemplate
from dispatcher.errors import InvalidInput

QUEUE_NAMES = ("billing", "tech", "sales", "claims", "orders", "retention", "onboarding", "fraud")
SLOT_MIN = 15
SLOTS_PER_DAY = 24 * 60 // SLOT_MIN

# Mon..Sun volume factors; Sunday closed.
WEEKDAY_FACTOR = np.array([1.18, 1.06, 1.0, 0.97, 0.9, 0.42, 0.0])
OPEN_HOURS = {0: (7.0, 22.0), 1: (7.0, 22.0), 2: (7.0, 22.0), 3: (7.0, 22.0), 4: (7.0, 22.0), 5: (9.0, 17.0)}
REBOUND = 1.25  # the first open day after a holiday runs high


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    days: int = 56
    queues: int = 3
    agents: int = 60
    seed: int = 7
    start: date = date(2026, 1, 5)
    horizon_days: int = 14
    timezone: str = "America/New_York"
    country: str = "US"
    daily_volume: tuple[float, ...] = field(default_factory=tuple)
    """Mean Monday volume per queue; drawn from the seed when empty."""
    trend_per_year: float = 0.10
    day_noise_cv: float = 0.05

    def __post_init__(self) -> None:
        if self.days < 1:
            raise InvalidInput("days must be >= 1", field="days")
        if not 1 <= self.queues <= len(QUEUE_NAMES):
            raise InvalidInput(f"queues must be 1..{len(QUEUE_NAMES)}", field="queues")
        if self.agents < 1:
            raise InvalidInput("agents must be >= 1", field="agents")
        if self.horizon_days < 0:
            raise InvalidInput("horizon_days must be >= 0", field="horizon_days")
        if self.daily_volume and len(self.daily_volume) != self.queues:
            raise InvalidInput("daily_volume needs one value per queue", field="daily_volume")


@dataclass(frozen=True, slots=True)
class GeneratedData:
    contacts: pd.DataFrame
    """queue, created_at, handle_time_s, urgent, important, abandoned — one row per contact."""
    truth: pd.DataFrame
    """queue, period_start, expected_volume, expected_aht_s, is_history — per 15 minutes."""
    agents: list[Agent]
    templates: list[ShiftTemplate]


def intraday_profile(open_h: float, close_h: float, queue_index: int) -> npt.NDArray[np.float64]:
    """Relative intensity per 15-minute slot of one day: two peaks (late morning, early afternoon)."""
    centers = (np.arange(SLOTS_PER_DAY) + 0.5) * SLOT_MIN / 60
    morning = 10.25 + 0.25 * (queue_index % 3)
    afternoon = 14.25 + 0.5 * (queue_index % 2)
    shape = (
        1.0 * np.exp(-0.5 * ((centers - morning) / 1.4) ** 2)
        + 0.8 * np.exp(-0.5 * ((centers - afternoon) / 1.8) ** 2)
        + 0.12
    )
    shape[(centers < open_h) | (centers >= close_h)] = 0.0
    total = shape.sum()
    return shape / total if total > 0 else shape


def queue_names(n: int) -> list[str]:
    return list(QUEUE_NAMES[:n])


def holiday_dates(country: str, first: date, last: date) -> set[date]:
    try:
        cal = holidays_lib.country_holidays(country, years=range(first.year, last.year + 1))
    except NotImplementedError as exc:
        raise InvalidInput(f"unknown holiday country {country!r}", field="country") from exc
    return {d for d in cal if first <= d <= last}


def expected_grid(cfg: GeneratorConfig) -> tuple[pd.DatetimeIndex, npt.NDArray[np.float64], list[date]]:
    """Expected volume per (slot, queue) over history + horizon, and the list of days."""
    rng = np.random.default_rng(cfg.seed)
    total_days = cfg.days + cfg.horizon_days
    days = [cfg.start + timedelta(days=i) for i in range(total_days)]
    hols = holiday_dates(cfg.country, days[0], days[-1])
    base = (
        np.asarray(cfg.daily_volume, dtype=float)
        if cfg.daily_volume
        else np.round(rng.uniform(250, 1200, size=cfg.queues), -1)
    )
    profiles = {
        (wd, q): intraday_profile(*OPEN_HOURS[wd], q) if wd in OPEN_HOURS else np.zeros(SLOTS_PER_DAY)
        for wd in range(7)
        for q in range(cfg.queues)
    }
    grid = np.zeros((total_days * SLOTS_PER_DAY, cfg.queues))
    previous_closed_holiday = False
    for i, day in enumerate(days):
        wd = day.weekday()
        is_holiday = day in hols
        factor = 0.0 if is_holiday else WEEKDAY_FACTOR[wd]
        if factor > 0 and previous_closed_holiday:
            factor *= REBOUND
        if is_holiday:
            previous_closed_holiday = True
        elif factor > 0:
            previous_closed_holiday = False
        trend = 1.0 + cfg.trend_per_year * i / 365.0
        for q in range(cfg.queues):
            grid[i * SLOTS_PER_DAY : (i + 1) * SLOTS_PER_DAY, q] = base[q] * factor * trend * profiles[(wd, q)]
    tz = ZoneInfo(cfg.timezone)
    # Wall-clock slots in the site's timezone (a DST day keeps 96 slots of local time).
    starts = [
        datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=SLOT_MIN * s)
        for day in days
        for s in range(SLOTS_PER_DAY)
    ]
    index = pd.DatetimeIndex(pd.to_datetime([s.isoformat() for s in starts], utc=True)).tz_convert(tz)
    return index, grid, days


def median_handle_s(q: int) -> float:
    return (240.0, 420.0, 180.0, 360.0, 300.0, 480.0, 600.0, 270.0)[q]


def generate(cfg: GeneratorConfig) -> GeneratedData:
    rng = np.random.default_rng(cfg.seed + 1)
    names = queue_names(cfg.queues)
    index, grid, _ = expected_grid(cfg)
    n_hist_slots = cfg.days * SLOTS_PER_DAY

    # Day-level multiplicative noise (mean 1) makes arrivals overdispersed like real data.
    shape = 1.0 / cfg.day_noise_cv**2
    day_noise = rng.gamma(shape, 1.0 / shape, size=(cfg.days, cfg.queues))
    lam = grid[:n_hist_slots] * np.repeat(day_noise, SLOTS_PER_DAY, axis=0)
    counts = rng.poisson(lam)

    frames = []
    slot_ns = index[:n_hist_slots].as_unit("ns").asi8
    for q, name in enumerate(names):
        n = counts[:, q]
        total = int(n.sum())
        slot_of = np.repeat(np.arange(n_hist_slots), n)
        offsets = rng.uniform(0, SLOT_MIN * 60, size=total)
        ts_ns = slot_ns[slot_of] + (np.round(offsets, 3) * 1e9).astype(np.int64)
        order = np.argsort(ts_ns, kind="stable")
        handle = rng.lognormal(np.log(median_handle_s(q)), 0.6, size=total).round(1)
        urgent = rng.random(total) < 0.22
        important = rng.random(total) < 0.45
        abandoned = rng.random(total) < 0.05
        handle = np.where(abandoned, 0.0, handle)
        frames.append(
            pd.DataFrame(
                {
                    "queue": name,
                    "created_at": pd.to_datetime(ts_ns[order], utc=True, unit="ns").tz_convert(cfg.timezone),
                    "handle_time_s": handle[order],
                    "urgent": urgent[order],
                    "important": important[order],
                    "abandoned": abandoned[order],
                }
            )
        )
    contacts = pd.concat(frames, ignore_index=True).sort_values(["created_at", "queue"], kind="stable")
    contacts = contacts.reset_index(drop=True)

    truth = pd.DataFrame(
        {
            "queue": np.repeat(np.array(names), len(index)),
            "period_start": np.tile(index, cfg.queues),
            "expected_volume": grid.T.reshape(-1).round(6),
            "expected_aht_s": np.repeat(
                # mean of a lognormal(median m, sigma .6) is m * exp(.18); abandoned contacts have 0.
                [median_handle_s(q) * float(np.exp(0.18)) for q in range(cfg.queues)],
                len(index),
            ).round(2),
            "is_history": np.tile(np.arange(len(index)) < n_hist_slots, cfg.queues),
        }
    )
    truth["period_start"] = pd.DatetimeIndex(truth["period_start"]).tz_convert(cfg.timezone)
    return GeneratedData(
        contacts=contacts,
        truth=truth,
        agents=generate_agents(cfg, names, rng),
        templates=default_templates(),
    )


def generate_agents(cfg: GeneratorConfig, names: list[str], rng: np.random.Generator) -> list[Agent]:
    agents = []
    n_queues = len(names)
    for i in range(cfg.agents):
        primary = names[i % n_queues]
        skills = {primary: int(rng.integers(3, 6))}
        others = [s for s in names if s != primary]
        n_aux = int(rng.integers(0, min(2, len(others)) + 1))
        for aux in rng.choice(others, size=n_aux, replace=False) if n_aux else []:
            skills[str(aux)] = int(rng.integers(1, 4))
        part_time = rng.random() < 0.25
        contract = (
            Contract(max_hours_week=24.0, min_hours_week=16.0, max_days_week=4, min_rest_hours=11.0)
            if part_time
            else Contract(max_hours_week=40.0, min_hours_week=32.0, max_days_week=5, min_rest_hours=11.0)
        )
        agents.append(
            Agent(
                id=f"a{i + 1:03d}",
                name=f"Agent {i + 1:03d}",
                skills=skills,
                primary_skills=frozenset({primary}),
                capacity=1,
                contract=contract,
                team=f"team-{primary}",
                supervisor=f"sup-{primary}",
            )
        )
    return agents


def default_templates() -> list[ShiftTemplate]:
    """Staggered full shifts (8.5 h with a 30-min unpaid meal in hours 3-5 and a paid 15-min break)
    and part-time shifts (4 h, 6 h) covering 07:00-22:00."""
    meal = BreakRule(length_min=30, earliest_start_min=180, latest_start_min=300, paid=False)
    short = BreakRule(length_min=15, earliest_start_min=90, latest_start_min=150, paid=True)
    templates = [
        ShiftTemplate(f"F{h:02d}{m:02d}", time(h, m), timedelta(hours=8, minutes=30), (short, meal))
        for h, m in [(7, 0), (8, 0), (9, 0), (10, 0), (11, 0), (12, 0), (13, 0), (13, 30)]
    ]
    templates += [
        ShiftTemplate(f"P6-{h:02d}", time(h, 0), timedelta(hours=6), (short,)) for h in (7, 10, 13, 16)
    ]
    templates += [ShiftTemplate(f"P4-{h:02d}", time(h, 0), timedelta(hours=4)) for h in (7, 10, 14, 18)]
    return templates
