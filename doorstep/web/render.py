"""One view, two formats: a page and its JSON come from the same context."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from doorstep import __version__
from doorstep.web.header import unread_notifications
from doorstep.web.session import CSRF_FIELD, csrf_token, set_csrf_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.strftime(fmt) + " UTC" if value else "—"


TEMPLATES.env.filters["when"] = _when
TEMPLATES.env.globals["version"] = __version__
TEMPLATES.env.globals["csrf_field"] = CSRF_FIELD
TEMPLATES.env.globals["unread_notifications"] = unread_notifications


def wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json" or request.headers.get(
        "accept", ""
    ).startswith("application/json")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: Any = None,
    status_code: int = 200,
    public_keys: tuple[str, ...] | None = None,
) -> Response:
    """Render `template`, or the context as JSON when the client asks for JSON.

    `public_keys` limits what the JSON form exposes (the page may hold helpers,
    forms and the like that are not data).
    """
    if wants_json(request):
        data = {k: v for k, v in context.items() if public_keys is None or k in public_keys}
        return JSONResponse(jsonable_encoder(data), status_code=status_code)
    token = csrf_token(request)
    full = {"request": request, "user": user, "csrf": token, **context}
    response: HTMLResponse = TEMPLATES.TemplateResponse(
        request, template, full, status_code=status_code
    )
    set_csrf_cookie(request, response)
    return response
