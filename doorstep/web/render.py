"""One view, two formats: a page and its JSON come from the same context."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from doorstep import __version__
from doorstep.web.header import unread_notifications
from doorstep.web.session import CSRF_FIELD, csrf_token, set_csrf_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


# What localtime.js shows for each strftime format the templates use.
_LOCAL_FORMATS = {
    "%Y-%m-%d %H:%M": "datetime",
    "%Y-%m-%d %H:%M:%S": "datetime-seconds",
    "%H:%M": "time",
    "%H:%M:%S": "time-seconds",
    "%Y-%m-%d": "date",
}


def _when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> Markup | str:
    """A `<time>` with the UTC instant; localtime.js rewrites its text in the viewer's
    zone (with the zone's name), and without scripts the UTC text stands. Takes a
    datetime or the ISO text of one (JSON-shaped contexts); naive means UTC."""
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = utc.strftime(fmt) + " UTC"
    return Markup('<time datetime="{}" data-format="{}" title="{}">{}</time>').format(
        utc.isoformat().replace("+00:00", "Z"),
        _LOCAL_FORMATS.get(fmt, "datetime"),
        utc.strftime("%Y-%m-%d %H:%M:%S") + " UTC",
        text,
    )


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
