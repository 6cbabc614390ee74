"""Bearer API keys with roles. Keys are stored as SHA-256 digests; lookups are cached briefly."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from api.store.queue import LiveQueue
from dispatcher.errors import Forbidden, InvalidInput, Unauthorized

__all__ = ["ROLES", "Authenticator", "Forbidden", "Principal", "Unauthorized", "create_key", "key_digest"]

ROLES = ("integration", "agent", "supervisor")


@dataclass(frozen=True, slots=True)
class Principal:
    role: str
    agent_id: str | None = None


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()

CACHE_TTL_S = 10.0
"""Lookups are cached this long; a revocation is published and evicts the entry in every process at once
(api/store/notifier.py), and the TTL bounds the rare case of a lost notification."""


def new_key() -> str:
    return "dw_" + secrets.token_urlsafe(24)


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str, field: str = "expires") -> float:
    """``30d``, ``12h``, ``90m``, ``3600s`` or plain seconds -> seconds."""
    value = text.strip().lower()
    unit = DURATION_UNITS.get(value[-1:]) if value else None
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 10 * 365 * 86_400:
        raise InvalidInput(f"{field} must be a duration like 30d, 12h, 90m or 3600s (up to 10 years), got {text!r}",
                           field=field)
    return seconds


async def create_key(queue: LiveQueue, role: str, agent_id: str | None = None,
                     expires_in_s: float | None = None) -> tuple[str, str]:
    """Store a new key (hashed) and return (key id, key): the only time the plain key is seen."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    if role == "agent" and not agent_id:
        raise InvalidInput("an agent key needs --agent / agent_id", field="agent_id")
    if role != "agent" and agent_id:
        raise InvalidInput("only agent keys are bound to an agent", field="agent_id")
    key = new_key()
    expires_ms = queue.now_ms() + int(expires_in_s * 1000) if expires_in_s is not None else None
    key_id = await queue.store_key(key_digest(key), role, agent_id, expires_ms)
    return key_id, key


def bearer_token(authorization: str | None) -> str | None:
    """The key in an ``Authorization`` header: scheme ``Bearer`` in any case, as RFC 7235 and FastAPI's
    HTTPBearer read it, so the fast path and the routes accept the same headers."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class Authenticator:
    """Turns an ``Authorization: Bearer`` header into a Principal."""

    def __init__(self, queue: LiveQueue, bootstrap_key: str | None = None) -> None:
        self.queue = queue
        self.bootstrap_digest = key_digest(bootstrap_key) if bootstrap_key else None
        self._cache: dict[str, tuple[Principal, float, int | None]] = {}
        """digest -> (principal, cached until (monotonic), key expiry ms); revocations evict at once."""

    def forget(self, digest: str) -> None:
        """Drop a cached key at once (its revocation was published; see api/store/notifier.py)."""
        self._cache.pop(digest, None)

    async def principal(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        if token is None:
            raise Unauthorized("missing bearer API key (header 'Authorization: Bearer <key>')", field="authorization")
        return await self.principal_for_digest(key_digest(token))

    async def principal_for_digest(self, digest: str) -> Principal:
        """The principal of a key known by its SHA-256 (a dashboard session stores only that)."""
        if digest == self.bootstrap_digest:
            return Principal("supervisor")
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            principal, expires_ms = cached[0], cached[2]
        else:
            stored = await self.queue.lookup_key(digest)
            if stored is None:
                raise Unauthorized("unknown or revoked API key", field="authorization")
            principal, expires_ms = Principal(stored[0], stored[1]), stored[2]
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (principal, now + CACHE_TTL_S, expires_ms)
        if expires_ms is not None and expires_ms <= self.queue.now_ms():
            raise Unauthorized("expired API key", field="authorization")
        return principal


def actor_of(principal: Principal) -> str:
    """The name written to the audit trail for what this caller does."""
    return f"agent:{principal.agent_id}" if principal.role == "agent" else principal.role


def require_role(principal: Principal, *roles: str) -> Principal:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not do this (needs {' or '.join(roles)})", field="authorization")
    return principal


def acting_agent(principal: Principal, agent_id: str | None = None) -> str | None:
    """For an agent key: its own agent id (refusing another agent's); None for other roles."""
    if principal.role != "agent":
        return None
    if agent_id is not None and agent_id != principal.agent_id:
        raise Forbidden(f"an agent key may only act for its own agent ({principal.agent_id})", field="agent_id")
    return principal.agent_id
