"""FastAPI dependency aliases: the queue, and the caller's principal by role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.service.auth import Authenticator, Principal, require_role
from api.store.notifier import Notifier
from api.store.queue import LiveQueue

bearer = HTTPBearer(auto_error=False, description="API key: Authorization: Bearer <key>")


def get_queue(request: Request) -> LiveQueue:
    queue: LiveQueue = request.app.state.queue
    return queue


def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    auth: Authenticator = request.app.state.auth
    header = f"Bearer {credentials.credentials}" if credentials is not None else None
    return await auth.principal(header)


async def require_supervisor(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return require_role(principal, "supervisor")


async def require_integration(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    return require_role(principal, "integration", "supervisor")


QueueDep = Annotated[LiveQueue, Depends(get_queue)]
NotifierDep = Annotated[Notifier, Depends(get_notifier)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
SupervisorDep = Annotated[Principal, Depends(require_supervisor)]
IntegrationDep = Annotated[Principal, Depends(require_integration)]
