"""The hot path ``POST /v1/tasks`` as a pure-ASGI handler in front of FastAPI.

Same contract as the documented FastAPI route (auth, pydantic validation of TaskCreate, one Lua
round trip, JSON problem bodies), minus the per-request routing, dependency injection and
response-model work that otherwise costs more than Redis does. Every other request passes through.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from pydantic import ValidationError

from api.service.auth import require_role
from api.service.problems import problem_for, validation_problem
from api.service.schemas import TaskCreate
from api.store.outage import STORE_DOWN_ERRORS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("dispatchwise.api")
JSON = (b"content-type", b"application/json")


class TaskCreateFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/tasks" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        status, body, extra = await self._handle(scope, receive)
        headers = [JSON, (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        state = scope["app"].state
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        try:
            principal = await state.auth.principal(authorization)
            require_role(principal, "integration", "supervisor")
            try:
                body = TaskCreate.model_validate_json(b"".join(chunks))
            except ValidationError as exc:
                return 422, orjson.dumps(validation_problem(exc.errors(include_url=False, include_input=False))), []
            task, created = await state.queue.create_task(
                external_id=body.external_id, source=body.source, skill=body.skill, urgent=body.urgent,
                important=body.important, deadline=body.due_at, expected_handle_s=body.expected_handle_s,
                payload=body.payload, customer_id=body.customer_id,
            )
            return (201 if created else 200), orjson.dumps(task), []
        except Exception as exc:
            if isinstance(exc, STORE_DOWN_ERRORS):
                exc = state.store_status.failed(exc)
            status, problem, headers = problem_for(exc, "POST /v1/tasks")
            return status, orjson.dumps(problem), [(k.lower().encode(), v.encode()) for k, v in headers.items()]
