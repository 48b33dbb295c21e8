"""Cookie sessions and CSRF protection for the web pages.

The session cookie holds a normal user token (same table, same expiry as API
tokens), HttpOnly and SameSite=Lax. The CSRF token is bound to the session: an HMAC,
keyed with ``settings.secret_key``, of the session token, or before sign-in of a random
pre-session id kept in the `doorstep_csrf` cookie. Every form (hidden field) and script
(header `X-CSRF-Token`) sends it; the server recomputes it from the cookies, so a pair an
attacker chose, or a token taken from another session, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from doorstep.errors import DoorstepError, Forbidden, NotAuthenticated
from doorstep.hub.deps import SessionDep
from doorstep.hub.models import ApiToken, User
from doorstep.hub.services.accounts import session_for_token, user_for_token

SESSION_COOKIE = "doorstep_session"
CSRF_COOKIE = "doorstep_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(DoorstepError):
    """A page needs a signed-in user; the web layer answers with a redirect."""

    status_code = 303


def _expected_token(request: Request, pre_session_id: str) -> str:
    """HMAC of the session token, or of the pre-session id when signed out."""
    session_token = request.cookies.get(SESSION_COOKIE)
    bound = f"session:{session_token}" if session_token else f"pre-session:{pre_session_id}"
    secret = request.app.state.hub.settings.secret_key.encode()
    return hmac.new(secret, b"doorstep-csrf\x00" + bound.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token forms and scripts send; a new pre-session id is made on first use."""
    pre_session_id = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not pre_session_id:
        pre_session_id = secrets.token_urlsafe(24)
        request.state.new_csrf = pre_session_id
    return _expected_token(request, str(pre_session_id))


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Send the pre-session id made while rendering, Secure in production."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            new,
            httponly=True,
            samesite="lax",
            secure=request.app.state.hub.settings.environment == "production",
            path="/",
        )


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose token is not the one for its session."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get(CSRF_FIELD, ""))
    pre_session_id = request.cookies.get(CSRF_COOKIE, "")
    bound = SESSION_COOKIE in request.cookies or pre_session_id
    if (
        not bound
        or not sent
        or not hmac.compare_digest(_expected_token(request, pre_session_id), sent)
    ):
        raise Forbidden("the form expired or came from another site; reload the page and retry")


def optional_user(request: Request, session: SessionDep) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return user_for_token(session, token)
    except NotAuthenticated:
        return None


MaybeUser = Annotated[User | None, Depends(optional_user)]


def shown_user(request: Request, session: Session) -> User | None:
    """Who an error page names in its header; an enrolment-only session is named too."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return user_for_token(session, token, enrolling=True)
    except NotAuthenticated:
        return None


def _signed_in_session(
    request: Request, session: Session, *, enrolling: bool
) -> tuple[User, ApiToken]:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired("please sign in")
    try:
        return session_for_token(session, token, enrolling=enrolling)
    except NotAuthenticated:
        raise LoginRequired("please sign in") from None


def web_session(request: Request, session: SessionDep) -> tuple[User, ApiToken]:
    """The signed-in user and their session row (a page that lists sessions)."""
    return _signed_in_session(request, session, enrolling=False)


def enrolling_session(request: Request, session: SessionDep) -> tuple[User, ApiToken]:
    """The signed-in user and session, also an enrolment-only one (the enrolment page)."""
    return _signed_in_session(request, session, enrolling=True)


WebSession = Annotated[tuple[User, ApiToken], Depends(web_session)]
EnrollingWeb = Annotated[tuple[User, ApiToken], Depends(enrolling_session)]


def signed_in(user: MaybeUser) -> User:
    if user is None:
        raise LoginRequired("please sign in")
    return user


WebUser = Annotated[User, Depends(signed_in)]


def web_roles(*roles: str) -> object:
    def check(user: WebUser) -> User:
        if user.role not in roles:
            raise Forbidden(f"this page is for the role {' or '.join(roles)}")
        return user

    return Depends(check)


WebOwner = Annotated[User, web_roles("owner")]
CSRF = Depends(check_csrf)
