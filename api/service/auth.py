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
"""A revoked key keeps working for at most this long in a running API process."""


def new_key() -> str:
    return "dw_" + secrets.token_urlsafe(24)


async def create_key(queue: LiveQueue, role: str, agent_id: str | None = None) -> str:
    """Store a new key (hashed) and return it: the only time the plain key is seen."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    if role == "agent" and not agent_id:
        raise InvalidInput("an agent key needs --agent / agent_id", field="agent_id")
    if role != "agent" and agent_id:
        raise InvalidInput("only agent keys are bound to an agent", field="agent_id")
    key = new_key()
    await queue.store_key(key_digest(key), role, agent_id)
    return key


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
        self._cache: dict[str, tuple[Principal, float]] = {}

    def forget(self, digest: str) -> None:
        """Drop a cached key at once (its revocation was published; see api/store/notifier.py)."""
        self._cache.pop(digest, None)

    async def principal(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        if token is None:
            raise Unauthorized("missing bearer API key (header 'Authorization: Bearer <key>')", field="authorization")
        digest = key_digest(token)
        if digest == self.bootstrap_digest:
            return Principal("supervisor")
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        stored = await self.queue.lookup_key(digest)
        if stored is None:
            raise Unauthorized("unknown API key", field="authorization")
        found = Principal(*stored)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (found, now + CACHE_TTL_S)
        return found


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
