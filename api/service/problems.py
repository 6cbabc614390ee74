"""JSON problem bodies: the one place that turns an error into an HTTP status, body and headers.

Used by the FastAPI exception handler and by the pure-ASGI fast path, so both answer alike.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from dispatcher.errors import DispatchwiseError, Unauthorized

log = logging.getLogger("dispatchwise.api")

Problem = tuple[int, dict[str, Any], dict[str, str]]
"""(status, body, extra headers)"""

HTTP_ERROR_NAMES = {404: "NotFound", 405: "MethodNotAllowed"}


def problem_body(error: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": error, "detail": message, "message": message, **extra}


def validation_problem(errors: list[Any], strip: tuple[str, ...] = ("body",)) -> dict[str, Any]:
    """The 422 body for pydantic errors: the first error names the field; all are listed."""
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in strip) or None
    if first.get("type") == "json_invalid":
        where = None  # the location is a character offset, not a field
    message = f"{where}: {first.get('msg', 'invalid input')}" if where else str(first.get("msg", "invalid input"))
    cleaned = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
    return problem_body("InvalidInput", message, field=where, errors=cleaned)


def problem_for(exc: Exception, where: str = "") -> Problem:
    """Status, body and headers for any exception; an unexpected one is logged with its traceback."""
    if isinstance(exc, DispatchwiseError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else {}
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return (exc.status_code if exc.status_code >= 400 else 400), exc.to_dict(), headers
    if isinstance(exc, RequestValidationError):
        return 422, validation_problem(list(exc.errors())), {}
    if isinstance(exc, StarletteHTTPException):
        name = HTTP_ERROR_NAMES.get(exc.status_code, "HTTPError")
        return exc.status_code, problem_body(name, str(exc.detail)), dict(exc.headers or {})
    log.exception("unhandled error on %s", where or "a request", exc_info=exc)
    return 500, problem_body("InternalError", "internal error; see the server log"), {}


async def problem_response(request: Request, exc: Exception) -> JSONResponse:
    """The exception handler of the app (registered for every exception class it answers)."""
    status, body, headers = problem_for(exc, f"{request.method} {request.url.path}")
    return JSONResponse(body, status_code=status, headers=headers or None)


HANDLED = (DispatchwiseError, RequestValidationError, StarletteHTTPException, Exception)
