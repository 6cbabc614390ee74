"""Supervisor web dashboard: ``app.include_router(dashboard.router)`` serves it at ``/``."""

from api.service.dashboard.routes import router

__all__ = ["router"]
