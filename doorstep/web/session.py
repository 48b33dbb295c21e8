"""Cookie sessions and CSRF protection for the web pages.

The session cookie holds a normal user token (same table, same expiry as API
tokens), HttpOnly and SameSite=Lax. CSRF uses the double-submit pattern: a random
`doorstep_csrf` cookie whose value every form (hidden field) and script (header
`X-CSRF-Token`) must echo; a cross-site page can send the cookie but not read it.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from doorstep.errors import DoorstepError, Forbidden, NotAuthenticated
from doorstep.hub.deps import SessionDep
from doorstep.hub.models import User
from doorstep.hub.services.accounts import user_for_token

SESSION_COOKIE = "doorstep_session"
CSRF_COOKIE = "doorstep_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(DoorstepError):
    """A page needs a signed-in user; the web layer answers with a redirect."""

    status_code = 303


def csrf_token(request: Request) -> str:
    """The token for this browser, created on first use (set as a cookie by the page)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request that does not echo the CSRF cookie."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get(CSRF_FIELD, ""))
    if not cookie or not hmac.compare_digest(cookie, sent):
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
