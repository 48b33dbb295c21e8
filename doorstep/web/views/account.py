"""Account pages: set up an authenticator app (multi-factor), list and end sessions.

The enrolment page is the one page an enrolment-only session (a police, auditor or
admin account that signed in with a password alone) can open; every other page sends
it here. Both pages call the same services as the API (services/mfa.py, sessions.py).
"""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from doorstep.errors import DoorstepError, RetryLater
from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, HubDep, SessionDep
from doorstep.hub.models import User
from doorstep.hub.models_mfa import TotpCredential
from doorstep.hub.services import mfa, sessions
from doorstep.web.forms import FormFields
from doorstep.web.render import render
from doorstep.web.session import CSRF, EnrollingWeb, WebSession, WebUser

router = APIRouter(include_in_schema=False)


def qr_data_uri(text: str) -> str:
    """A QR code as an SVG data: URI, so the page needs no script and no inline style."""
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2))


def _enrol_context(row: TotpCredential, user: User) -> dict[str, object]:
    uri = mfa.provisioning_uri(row, user)
    secret = " ".join(row.secret[i : i + 4] for i in range(0, len(row.secret), 4))
    return {"qr": qr_data_uri(uri), "secret": secret, "errors": {}}


@router.get(mfa.ENROL_PAGE)
def mfa_page(
    request: Request, signed_in: EnrollingWeb, session: SessionDep, hub: HubDep
) -> Response:
    user, token = signed_in
    context: dict[str, object] = {
        "email": user.email,
        "required": mfa.required_for(hub.settings, user),
        "enrolled": mfa.is_enrolled(session, user),
        "stale": token.enrolment_only,
        "codes_left": mfa.recovery_codes_left(session, user),
    }
    if not context["enrolled"]:
        context.update(_enrol_context(mfa.start_enrolment(session, user, utcnow()), user))
    # Named in the header only once it is a full session: the header's links and live
    # updates would all lead back here.
    shown = None if token.enrolment_only else user
    return render(request, "account_mfa.html", context, user=shown, public_keys=())


@router.post(mfa.ENROL_PAGE, dependencies=[CSRF])
def mfa_confirm(
    request: Request, form: FormFields, signed_in: EnrollingWeb, session: SessionDep, hub: HubDep
) -> Response:
    user, token = signed_in
    try:
        codes = mfa.confirm_enrolment(hub, session, user, form.get("code", ""), token, utcnow())
    except DoorstepError as exc:
        row = mfa.start_enrolment(session, user, utcnow())
        context: dict[str, object] = {
            "email": user.email,
            "required": mfa.required_for(hub.settings, user),
            "enrolled": False,
            "stale": token.enrolment_only,
            "codes_left": 0,
            **_enrol_context(row, user),
            "errors": {"code": exc.message},
        }
        response = render(
            request, "account_mfa.html", context, status_code=exc.status_code, public_keys=()
        )
        if isinstance(exc, RetryLater):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return render(request, "account_recovery.html", {"codes": codes}, user=user, public_keys=())


@router.get("/account/sessions")
def sessions_page(request: Request, signed_in: WebSession, session: SessionDep) -> Response:
    user, token = signed_in
    listed = [
        {
            "id": row.id,
            "created_at": row.created_at,
            "last_used_at": row.last_used_at,
            "expires_at": row.expires_at,
            "client": row.client,
            "current": row.id == token.id,
        }
        for row in sessions.list_sessions(session, user, utcnow())
    ]
    return render(
        request, "account_sessions.html", {"sessions": listed}, user=user, public_keys=("sessions",)
    )


@router.post("/account/sessions/{session_id}/revoke", dependencies=[CSRF])
def revoke(session_id: EntityId, user: WebUser, session: SessionDep, hub: HubDep) -> Response:
    sessions.revoke_session(hub, session, user, session_id, utcnow())
    return RedirectResponse("/account/sessions", status_code=303)
