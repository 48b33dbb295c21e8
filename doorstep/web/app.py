"""The pages and their static files, and how a page shows an error."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from doorstep.errors import DoorstepError, RetryLater, Unavailable
from doorstep.hub.db import describe_error
from doorstep.hub.errors_http import InvalidRequest
from doorstep.hub.models import User
from doorstep.hub.services.mfa import ENROL_PAGE, EnrolmentRequired
from doorstep.web.render import render, wants_json
from doorstep.web.session import LoginRequired, shown_user
from doorstep.web.views import (
    account,
    admin,
    auditor,
    auth,
    history,
    inbox,
    modes,
    notifications,
    officer,
    owner,
    preferences,
    public,
    pwa,
    receipts,
)

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
FAVICON = STATIC_DIR / "icons" / "favicon.ico"  # made by scripts/make_favicon.py
PAGE_ROUTERS = [
    auth.router,
    account.router,
    owner.router,
    history.router,
    inbox.router,
    preferences.router,
    modes.router,
    notifications.router,
    officer.router,
    auditor.router,
    admin.router,
    public.router,
    receipts.router,
    pwa.router,
]


def html_error(request: Request, exc: DoorstepError) -> Response | None:
    """How a page (not the API) shows an error: a redirect to sign in, or a readable page."""
    if request.url.path.startswith(("/api/", "/docs", "/openapi")) or wants_json(request):
        return None
    if isinstance(exc, EnrolmentRequired):  # password alone while MFA is due: enrol first
        return RedirectResponse(ENROL_PAGE, status_code=303)
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    titles = {
        401: "Please sign in",
        403: "Not allowed",
        404: "Not found",
        422: "Please check the form",
        429: "Please wait",
        503: "Temporarily unavailable",
    }
    context: dict[str, object] = {
        "title": titles.get(exc.status_code, "Something went wrong"),
        "message": exc.message,
    }
    if isinstance(exc, InvalidRequest):
        context.update(bad_request_context(request, exc))
    # When the database is what failed, the page names no one rather than fail again.
    user = None if isinstance(exc, Unavailable) else _error_page_user(request)
    response = render(request, "error.html", context, user=user, status_code=exc.status_code)
    if isinstance(exc, RetryLater):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def bad_request_context(request: Request, exc: InvalidRequest) -> dict[str, object]:
    """What a page says about values it could not use: each parameter, what was given and
    what it should be, and the page without them when the fault is in the address."""
    problems = []
    for error, where in zip(exc.errors, exc.locations, strict=True):
        given = (
            request.query_params.get(error.field)
            if where == "query"
            else request.path_params.get(error.field)
            if where == "path"
            else None
        )
        problems.append({"field": error.field, "given": given, "reason": error.reason})
    in_address = all(where in ("query", "path") for where in exc.locations)
    names = ", ".join(dict.fromkeys(f"“{p['field']}”" for p in problems))
    if not in_address:
        return {"problems": problems}
    return {
        "title": "This address has a value the page cannot use",
        "message": f"Check {names} in the address.",
        "problems": problems,
        "retry": request.url.path if all(w == "query" for w in exc.locations) else None,
    }


def _error_page_user(request: Request) -> User | None:
    """Who an error page names in its header; no one if the database cannot say."""
    try:
        with request.app.state.hub.sessions() as session:
            return shown_user(request, session)
    except SQLAlchemyError as exc:
        log.warning("an error page shown without its user: %s", describe_error(exc))
        return None


def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico by themselves, before (or without) any page naming it."""
    return FileResponse(
        FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)
    for router in PAGE_ROUTERS:
        app.include_router(router)
