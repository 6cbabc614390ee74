"""The supervisor dashboard: ``/`` serves the single-page board, ``/dashboard/static/*`` its assets and
``/dashboard/panels/<name>`` the file-fed panels (supervisor key required).

The page itself holds no data, so it is public; it asks for a supervisor key, keeps it in the
browser session and sends it as a bearer header on every JSON call. The browser's EventSource cannot
send headers, and a key in a URL ends up in logs and history, so the page first opens a session
(``POST /dashboard/session`` with the bearer key): an HttpOnly, SameSite=Strict cookie that names a
random token stored in Redis with the key's digest. ``/dashboard/events`` reads the cookie, checks
the key behind it (a revoked key ends its sessions) and serves the same stream as ``/v1/events``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from api.live.intraday import Targets
from api.service.auth import Authenticator, bearer_token, key_digest, require_role
from api.service.dashboard.live_panels import LIVE_PANELS, live_panel
from api.service.dashboard.panels import PANEL_NAMES, read_panel
from api.service.deps import QueueDep, SupervisorDep
from api.service.routes import events as events_route
from api.service.routes.plan import get_plan
from api.service.settings import Settings, get_settings
from dispatcher.errors import DispatchwiseError, NotFound, Unauthorized

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "uplot.iife.min.js": "text/javascript; charset=utf-8",
    "uplot.min.css": "text/css; charset=utf-8",
    "uplot.LICENSE": "text/plain; charset=utf-8",
}
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["dashboard"])


def report_dir(request: Request) -> Path:
    """``<data_dir>/report`` of the running app (``app.state.settings``), else of the environment."""
    settings = getattr(request.app.state, "settings", None)
    if not isinstance(settings, Settings):
        settings = get_settings()
    return Path(settings.data_dir) / "report"


@router.get("/", include_in_schema=False)
def dashboard_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type=STATIC_FILES["index.html"], headers=NO_CACHE)


@router.get("/dashboard", include_in_schema=False)
def dashboard_alias() -> RedirectResponse:
    return RedirectResponse("/", status_code=307)


@router.get("/dashboard/static/{name}", include_in_schema=False)
def dashboard_asset(name: str) -> FileResponse:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound(f"no dashboard asset named {name!r}", field="name")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=NO_CACHE)


@router.get("/dashboard/panels/{name}", summary="A dashboard panel (forecast, coverage, shifts, simulation)")
async def dashboard_panel(name: str, request: Request, queue: QueueDep, _: SupervisorDep) -> dict[str, Any]:
    """``{"name", "data": <panel JSON> | null, "error": <message> | null}``; null data means "no data yet".
    Forecast, coverage and shifts come from today's published plan when there is one (then ``"source":
    "published plan"``), else from the files the demo writes (``"source": "file"``; the board labels them
    with the date they hold, which need not be today)."""
    if name not in PANEL_NAMES:
        raise NotFound(f"no dashboard panel named {name!r}; known: {', '.join(PANEL_NAMES)}", field="name")
    if name in LIVE_PANELS:
        settings = request.app.state.settings
        plan = get_plan(request)
        try:
            live = await live_panel(name, queue, plan, plan.now(),
                                    Targets(settings.service_level_target, settings.answer_within_s))
        except DispatchwiseError as exc:
            return {"name": name, "data": None, "error": str(exc), "source": "published plan"}
        if live is not None:
            return {"name": name, "data": live.model_dump(mode="json"), "error": None, "source": "published plan"}
    try:
        panel = read_panel(report_dir(request), name)
    except DispatchwiseError as exc:  # a broken file shows in its panel instead of breaking the board
        return {"name": name, "data": None, "error": str(exc), "source": "file"}
    return {"name": name, "data": None if panel is None else panel.model_dump(mode="json"), "error": None,
            "source": "file"}


SESSION_COOKIE = "dw_session"
SESSION_TTL_S = 12 * 3600


@router.post("/dashboard/session", status_code=204, summary="Open a dashboard session (cookie) for the event stream")
async def open_session(request: Request, queue: QueueDep, _: SupervisorDep) -> Response:
    key = bearer_token(request.headers.get("authorization"))
    assert key is not None  # SupervisorDep has authenticated it
    token = secrets.token_urlsafe(32)
    await queue.store_session(key_digest(token), key_digest(key), SESSION_TTL_S * 1000)
    response = Response(status_code=204)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL_S, path="/dashboard", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@router.delete("/dashboard/session", status_code=204, include_in_schema=False)
async def close_session(request: Request, queue: QueueDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await queue.drop_session(key_digest(token))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/dashboard")
    return response


@router.get("/dashboard/events", include_in_schema=False, response_class=StreamingResponse)
async def dashboard_events(
    request: Request,
    queue: QueueDep,
    since: Annotated[str, Query()] = "$",
    max_events: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    timeout_s: Annotated[float | None, Query(gt=0, le=86_400)] = None,
) -> StreamingResponse:
    """``/v1/events`` for EventSource: the caller is the key behind the session cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    digest = await queue.session_key_digest(key_digest(token)) if token else None
    if digest is None:
        raise Unauthorized("no dashboard session: POST /dashboard/session with a supervisor key first",
                           field="cookie")
    auth: Authenticator = request.app.state.auth
    principal = require_role(await auth.principal_for_digest(digest), "supervisor")
    return await events_route.events(
        request, queue, principal, since=since, max_events=max_events, timeout_s=timeout_s,
        last_event_id=request.headers.get("last-event-id"),
    )
