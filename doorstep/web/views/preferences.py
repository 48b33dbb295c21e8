"""The settings page's email block: the same service as ``PATCH /api/v1/me/preferences``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from doorstep.errors import InvalidInput
from doorstep.hub.deps import SessionDep
from doorstep.hub.schemas_reach import PreferencesUpdate
from doorstep.hub.services import preferences
from doorstep.web.forms import FormErrors, FormFields, parse_form
from doorstep.web.session import CSRF, WebOwner

router = APIRouter(include_in_schema=False)


@router.post("/settings/email", dependencies=[CSRF])
def save_email_preferences(form: FormFields, owner: WebOwner, session: SessionDep) -> Response:
    """Unticked boxes are absent from a form, so both booleans are always set here."""
    values = {
        "email_notifications": form.get("email_notifications") == "on",
        "event_email_digest": form.get("event_email_digest") == "on",
        "timezone": form.get("timezone", ""),
    }
    try:
        data = parse_form(PreferencesUpdate, values)
    except FormErrors as exc:
        field, message = next(iter(exc.errors.items()))
        raise InvalidInput(message, field=field) from None
    preferences.update(session, owner, data)
    return RedirectResponse("/settings?saved=1#email", status_code=303)
