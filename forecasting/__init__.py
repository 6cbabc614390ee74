"""Demand forecasting per queue and period: ingest, calendar, models, backtested model choice."""

from forecasting.calendar import DayNote, PlannerDay, SpecialDay
from forecasting.forecast import COLUMNS, QueueForecast, forecast_frame, forecast_queues
from forecasting.intraday import reforecast_rest_of_day, reforecast_table
from forecasting.select import Backtest, ModelScore, backtest
from forecasting.series import DayGrid, history_grids

__all__ = ["COLUMNS", "Backtest", "DayGrid", "DayNote", "ModelScore", "PlannerDay", "QueueForecast", "SpecialDay",
           "backtest", "forecast_frame", "forecast_queues", "history_grids", "reforecast_rest_of_day",
           "reforecast_table"]
