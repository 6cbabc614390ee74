"""Every forecasting model behind one contract (see `base`); `MODELS` names them for the CLI and `auto`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from forecasting.intervals import Intervals
from forecasting.models.base import Fitted, ModelInput, Prediction
from forecasting.models.ets import fit_ets, fit_mstl
from forecasting.models.glm import fit_glm
from forecasting.models.naive import (
    fit_ewm_week,
    fit_mean_week4,
    fit_mean_week8,
    fit_median_week3,
    fit_snaive_day,
    fit_snaive_week,
)
from forecasting.models.profile import (
    fit_profile_pooled,
    fit_profile_smooth,
    fit_profile_trend,
    fit_profile_weekday,
)
from forecasting.models.recent import fit_recent_type3, fit_recent_type5


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    fit: Callable[[ModelInput], Fitted]
    in_auto: bool
    """Part of the `auto` backtest (fast enough); the others are opt-in by name."""
    description: str


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("snaive_week", fit_snaive_week, True, "same period, last same weekday"),
        ModelSpec("snaive_day", fit_snaive_day, True, "same period, last day with the same hours"),
        ModelSpec("mean_week4", fit_mean_week4, True, "mean of the last 4 same weekdays"),
        ModelSpec("median_week3", fit_median_week3, True, "median of the last 3 same weekdays"),
        ModelSpec("ewm_week", fit_ewm_week, True, "same weekdays, weights halving each week back"),
        ModelSpec("recent_type3", fit_recent_type3, True, "last 3 days of the same day type, weekday-levelled"),
        ModelSpec("recent_type5", fit_recent_type5, True, "last 5 days of the same day type, weekday-levelled"),
        ModelSpec("mean_week8", fit_mean_week8, True, "mean of the last 8 same weekdays"),
        ModelSpec("profile_weekday", fit_profile_weekday, True, "weekday total × weekday intraday share"),
        ModelSpec("profile_pooled", fit_profile_pooled, True, "weekday total × share pooled over same hours"),
        ModelSpec("profile_smooth", fit_profile_smooth, True, "profile_pooled with a smoothed share"),
        ModelSpec("profile_trend", fit_profile_trend, True, "profile_smooth carried along a log trend"),
        ModelSpec("glm", fit_glm, True, "Poisson GLM: period × hours group + weekday + trend"),
        ModelSpec("ets", fit_ets, True, "Holt-Winters (additive weekly season) on open periods"),
        ModelSpec("mstl", fit_mstl, False, "MSTL daily+weekly on open periods + ETS level (opt-in: slow)"),
    )
}

__all__ = ["MODELS", "Fitted", "Intervals", "ModelInput", "ModelSpec", "Prediction"]
