"""Redis outages: which errors mean "the store is down", the 503 they become, one log line per outage."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

import redis.exceptions

from dispatcher.errors import DispatchwiseError

log = logging.getLogger("dispatchwise.store")

STORE_DOWN_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
)
"""Errors that say Redis cannot serve right now (down, loading, full, a read-only replica), not that
the request was wrong. BusyLoadingError, OutOfMemoryError and ReadOnlyError are ResponseErrors in redis-py."""

RETRY_AFTER_S = 2
CLOSE_WITHIN_S = 2.0
"""Closing a Redis client or subscription gives up after this long: redis-py's ``aclose`` can wait forever
on a dead socket (``wait_closed``, redis/redis-py#3941), which hung shutdown after a Redis restart."""


async def close_within(closing: Awaitable[object], seconds: float = CLOSE_WITHIN_S) -> None:
    """Await ``closing`` (a Redis client's or subscription's ``aclose()``) for at most ``seconds``; a close
    that fails or stalls is left behind (the socket is gone or going either way)."""
    try:
        await asyncio.wait_for(closing, timeout=seconds)
    except TimeoutError:
        log.warning("closing a Redis connection took longer than %.0f s; left behind", seconds)
    except Exception as exc:  # a failing close of a dead connection is not news
        log.debug("closing a Redis connection failed: %r", exc)


class StoreUnavailable(DispatchwiseError):
    """Redis cannot serve right now; the client should retry after ``retry_after_s``."""

    status_code = 503
    retry_after_s = RETRY_AFTER_S


class TooBusy(DispatchwiseError):
    """A per-caller or per-process limit is reached; retry after ``retry_after_s``."""

    status_code = 429
    retry_after_s = 1


class StoreStatus:
    """Up or down, as last seen: the first failure of an outage logs one warning, recovery logs one line."""

    def __init__(self, consequence: str = "answering 503 until it is back") -> None:
        self.consequence = consequence
        self.down_since: float | None = None
        self.failures = 0

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, exc: BaseException) -> StoreUnavailable:
        self.failures += 1
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("redis unavailable (%s: %s); %s", type(exc).__name__, exc, self.consequence)
        return StoreUnavailable(f"the task store (Redis) is unavailable: {type(exc).__name__}; retry shortly")

    def recovered(self) -> None:
        if self.down_since is not None:
            log.warning("redis is back after %.1f s (%d failed calls)", time.monotonic() - self.down_since,
                        self.failures)
            self.down_since = None
            self.failures = 0
