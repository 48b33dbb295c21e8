"""The pages and their static files, and how a page shows an error."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from doorstep.errors import DoorstepError, RetryLater, Unavailable
from doorstep.hub.db import describe_error
from doorstep.hub.models import User
from doorstep.hub.services.mfa import ENROL_PAGE, EnrolmentRequired
from doorstep.web.render import render, wants_json
from doorstep.web.session import LoginRequired, shown_user
from doorstep.web.views import (
    account,
    auditor,
    auth,
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
PAGE_ROUTERS = [
    auth.router,
    account.router,
    owner.router,
    inbox.router,
    preferences.router,
    modes.router,
    notifications.router,
    officer.router,
    auditor.router,
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
    context = {"title": titles.get(exc.status_code, "Something went wrong"), "message": exc.message}
    # When the database is what failed, the page names no one rather than fail again.
    user = None if isinstance(exc, Unavailable) else _error_page_user(request)
    response = render(request, "error.html", context, user=user, status_code=exc.status_code)
    if isinstance(exc, RetryLater):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _error_page_user(request: Request) -> User | None:
    """Who an error page names in its header; no one if the database cannot say."""
    try:
        with request.app.state.hub.sessions() as session:
            return shown_user(request, session)
    except SQLAlchemyError as exc:
        log.warning("an error page shown without its user: %s", describe_error(exc))
        return None


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
