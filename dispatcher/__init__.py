"""dispatchwise core: domain model, staffing, rostering, live assignment and simulation (no I/O)."""

__version__ = "0.1.0"
