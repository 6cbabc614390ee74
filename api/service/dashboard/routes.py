"""The supervisor dashboard: ``/`` serves the single-page board, ``/dashboard/static/*`` its assets and
``/dashboard/panels/<name>`` the file-fed panels (supervisor key required).

The page itself holds no data, so it is public; it asks for a supervisor key, keeps it in the
browser session and sends it as a bearer header on every JSON call. The browser's EventSource cannot
send headers, so ``/dashboard/events?key=`` checks the key from the query and then serves the same
stream as ``/v1/events``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from api.live.intraday import Targets
from api.service.auth import Authenticator, require_role
from api.service.dashboard.live_panels import LIVE_PANELS, live_panel
from api.service.dashboard.panels import PANEL_NAMES, read_panel
from api.service.deps import QueueDep, SupervisorDep
from api.service.routes import events as events_route
from api.service.routes.plan import get_plan
from api.service.settings import Settings, get_settings
from dispatcher.errors import DispatchwiseError, NotFound

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


@router.get("/dashboard/events", include_in_schema=False, response_class=StreamingResponse)
async def dashboard_events(
    request: Request,
    queue: QueueDep,
    key: Annotated[str, Query(min_length=1, description="a supervisor API key")],
    since: Annotated[str, Query()] = "$",
    max_events: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    timeout_s: Annotated[float | None, Query(gt=0, le=86_400)] = None,
) -> StreamingResponse:
    """``/v1/events`` for EventSource: the supervisor key comes as ``?key=`` instead of a header."""
    auth: Authenticator = request.app.state.auth
    principal = require_role(await auth.principal(f"Bearer {key}"), "supervisor")
    return await events_route.events(
        request, queue, principal, since=since, max_events=max_events, timeout_s=timeout_s,
        last_event_id=request.headers.get("last-event-id"),
    )
