"""Demand forecasting per queue and period: ingest, calendar, models, backtested model choice."""
