"""Intraday re-forecast: given today's actuals so far, rescale the rest of the day.

The ratio of actual to forecast volume over the elapsed periods is shrunk towards 1 by
``prior_contacts`` pseudo-contacts (early in the day, a handful of calls should not double the
afternoon) and applied to the remaining periods.
"""

from __future__ import annotations

import numpy as np

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
