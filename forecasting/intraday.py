"""Intraday re-forecast: given today's actuals so far, rescale the rest of the day.

The ratio of actual to forecast volume over the elapsed periods is shrunk towards 1 by
``prior_contacts`` pseudo-contacts (early in the day, a handful of calls should not double the
afternoon) and applied to the remaining periods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dispatcher.errors import InvalidInput
from forecasting.series import FloatArray

PRIOR_CONTACTS = 30.0


def reforecast_rest_of_day(forecast: FloatArray, actual_so_far: FloatArray, *,
                           prior_contacts: float = PRIOR_CONTACTS) -> FloatArray:
    """Today's forecast with the elapsed periods replaced by actuals and the rest rescaled.

    ``forecast`` covers the whole day; ``actual_so_far`` the elapsed periods (its length is "now").
    """
    elapsed = len(actual_so_far)
    if elapsed > len(forecast):
        raise InvalidInput(f"{elapsed} actual periods but the day has {len(forecast)}", field="actual_so_far")
    if np.any(actual_so_far < 0) or np.any(np.isnan(actual_so_far)):
        raise InvalidInput("actuals must be non-negative numbers", field="actual_so_far")
    expected = float(forecast[:elapsed].sum())
    observed = float(actual_so_far.sum())
    ratio = (observed + prior_contacts) / (expected + prior_contacts)
    return np.concatenate([actual_so_far.astype(float), forecast[elapsed:] * ratio])


def reforecast_table(forecast: pd.DataFrame, actuals: pd.DataFrame, now: pd.Timestamp, *,
                     prior_contacts: float = PRIOR_CONTACTS) -> pd.DataFrame:
    """The forecast table (see `forecasting.forecast.COLUMNS`) with today's not-yet-started periods
    rescaled per queue by today's actual/forecast ratio so far (volume and intervals alike).

    ``actuals``: ``queue, period_start, volume`` for today's elapsed periods (missing ones count 0);
    ``now`` is tz-aware; "today" is the local day of ``now`` in the table's timezone.
    """
    if now.tzinfo is None:
        raise InvalidInput("now must carry a timezone offset", field="now")
    out = forecast.copy()
    starts = out["period_start"]
    local_now = now.tz_convert(starts.dt.tz)
    today = (starts.dt.normalize() == local_now.normalize()).to_numpy()
    elapsed = today & (starts < now).to_numpy()
    pending = today & (starts >= now).to_numpy()
    for queue in out["queue"].unique():
        mine = (out["queue"] == queue).to_numpy()
        seen = actuals[actuals["queue"] == queue]
        observed = float(seen.loc[seen["period_start"].isin(starts[mine & elapsed]), "volume"].sum())
        expected = float(out.loc[mine & elapsed, "volume"].sum())
        ratio = (observed + prior_contacts) / (expected + prior_contacts)
        rows = mine & pending
        for column in ("volume", "volume_lo80", "volume_hi80", "volume_lo95", "volume_hi95"):
            out.loc[rows, column] = out.loc[rows, column] * ratio
    return out
