"""Request bodies: authenticated before a byte is read, and cut off at ``max_body_bytes`` while reading.

The outermost ASGI layer. A request that carries a body (Content-Length > 0 or chunked) must present
a key the service knows, else it gets 401 and its body is never read; a declared length over the
limit gets 413 unread; a chunked body is counted as it arrives and refused with 413 once it passes
the limit. Every endpoint that takes a body needs a key anyway, so nothing legitimate is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from fastapi import HTTPException

from api.service.problems import problem_for
from api.store.outage import STORE_DOWN_ERRORS
from dispatcher.errors import DispatchwiseError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(DispatchwiseError):
    status_code = 413


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: int | None = None
        chunked = False
        authorization = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = self.max_bytes + 1  # unreadable length: refuse rather than guess
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"authorization":
                authorization = value.decode("latin-1")
        if not chunked and not length:
            await self.app(scope, receive, send)
            return
        try:
            await scope["app"].state.auth.principal(authorization)
        except Exception as exc:  # 401, or 503 when the key store is down
            await self._refuse(scope, send, exc)
            return
        if length is not None and length > self.max_bytes:
            await self._refuse(scope, send, self._too_large())
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, str(self._too_large()))
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except HTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            await self._refuse(scope, send, self._too_large())

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"request body is larger than {self.max_bytes} bytes (DISPATCHWISE_MAX_BODY_BYTES)",
                            field="body")

    async def _refuse(self, scope: Scope, send: Send, exc: Exception) -> None:
        store_status = getattr(scope["app"].state, "store_status", None)
        if store_status is not None and isinstance(exc, STORE_DOWN_ERRORS):
            exc = store_status.failed(exc)
        status, problem, extra = problem_for(exc, f"{scope['method']} {scope['path']}")
        body = orjson.dumps(problem)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close"),
                   *((k.lower().encode(), v.encode()) for k, v in extra.items())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
