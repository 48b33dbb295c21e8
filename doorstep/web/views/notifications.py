"""The notification centre page: every signed-in user's notifications, newest first.

The page and its JSON (``?format=json``) come from the same context as the API's
``GET /api/v1/notifications``, through :mod:`doorstep.hub.services.notification_centre`.
Marking read is a plain form post, so it works without scripts.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from doorstep.errors import InvalidInput
from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, SessionDep
from doorstep.hub.schemas_notifications import NotificationPublic
from doorstep.hub.services import notification_centre as centre
from doorstep.web.forms import FormFields
from doorstep.web.render import render
from doorstep.web.session import CSRF, WebUser

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
_CURSOR = re.compile(centre.CURSOR_PATTERN)


def _cursor(value: str | None) -> str | None:
    """A cursor from the query or a form; the service refuses what it did not make."""
    if not value:
        return None
    if not _CURSOR.fullmatch(value):
        raise InvalidInput("not a cursor this hub gave out", field="before")
    return value


def _back(before: str | None) -> str:
    return "/notifications" + (f"?before={before}" if before else "")


@router.get("/notifications")
def notifications_page(request: Request, user: WebUser, session: SessionDep) -> Response:
    before = _cursor(request.query_params.get("before"))
    page = centre.list_for(session, user, limit=PAGE_SIZE, before=before)
    context = {
        "items": [NotificationPublic.of(n) for n in page.items],
        "next": page.next,
        "unread": page.unread,
        "before": before,
    }
    return render(
        request,
        "notifications.html",
        context,
        user=user,
        public_keys=("items", "next", "unread"),
    )


@router.post("/notifications/read-all", dependencies=[CSRF])
def mark_all_read(user: WebUser, session: SessionDep) -> Response:
    centre.mark_all_read(session, user, utcnow())
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/{note_id}/read", dependencies=[CSRF])
def mark_read(note_id: EntityId, form: FormFields, user: WebUser, session: SessionDep) -> Response:
    centre.mark_read(session, user, note_id, utcnow())
    return RedirectResponse(_back(_cursor(form.get("before"))), status_code=303)
