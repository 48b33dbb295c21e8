"""Users, agencies and tokens: sign-up, admin-created accounts, sign-in and out, settings.

Sign-in, sign-out and opting out of police requests are one function each, called by
the API routes and the web pages alike, so both write the same audit rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from doorstep.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, RateLimited
from doorstep.hub.context import Hub
from doorstep.hub.db import utcnow
from doorstep.hub.models import AGENCY_ROLES, Agency, ApiToken, Role, User
from doorstep.hub.ratelimit import LoginRateLimiter
from doorstep.hub.security import (
    USER_TOKEN_PREFIX,
    hash_password,
    new_secret,
    secret_hash,
    verify_password,
)
from doorstep.hub.services import audit


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_or_create_agency(session: Session, name: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.name == name))
    if agency is None:
        agency = Agency(name=name)
        session.add(agency)
        session.flush()
    return agency


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    name: str,
    role: Role = Role.owner,
    agency_name: str | None = None,
) -> User:
    email = normalise_email(email)
    if role in AGENCY_ROLES and not agency_name:
        raise InvalidInput(f"a {role.value} must belong to an agency", field="agency")
    if role not in AGENCY_ROLES and agency_name:
        raise InvalidInput(f"a {role.value} does not belong to an agency", field="agency")
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("an account with this email already exists", field="email")
    agency = get_or_create_agency(session, agency_name) if agency_name else None
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role.value,
        agency_id=agency.id if agency else None,
    )
    session.add(user)
    session.flush()
    return user


MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path


def authenticate(
    session: Session, limiter: LoginRateLimiter, email: str, password: str, client: str
) -> User:
    """Check a password, counting failures per email and per client address.

    An email longer than any address can be (a flood of made-up ones) counts against
    the client alone: it gets no key of its own, yet cannot dodge the limit.
    """
    client_key = f"client:{client}"
    email_key = f"email:{normalise_email(email)}" if len(email) <= MAX_EMAIL_LENGTH else None
    keys = (email_key, client_key) if email_key else (client_key,)
    for key in keys:
        wait = limiter.retry_after(key)
        if wait is not None:
            seconds = int(wait) + 1
            raise RateLimited(
                f"too many failed logins; try again in {seconds} seconds", retry_after=seconds
            )
    user = (
        session.scalar(select(User).where(User.email == normalise_email(email)))
        if email_key
        else None
    )
    if not verify_password(user.password_hash if user else None, password) or user is None:
        for key in keys:
            limiter.record_failure(key)
        raise NotAuthenticated("wrong email or password")
    if not user.is_active:
        raise Forbidden("this account is disabled")
    limiter.reset(keys[0])
    return user


def issue_token(session: Session, user: User, ttl: timedelta) -> tuple[str, ApiToken]:
    token = new_secret(USER_TOKEN_PREFIX)
    now = utcnow()
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))
    row = ApiToken(token_hash=secret_hash(token), user_id=user.id, expires_at=now + ttl)
    session.add(row)
    session.flush()
    return token, row


def user_for_token(session: Session, token: str) -> User:
    if not token.startswith(USER_TOKEN_PREFIX):
        raise NotAuthenticated("not a user token")
    row = session.get(ApiToken, secret_hash(token))
    if row is None or row.expires_at <= utcnow():
        raise NotAuthenticated("the token is unknown or has expired; log in again")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("the account no longer exists or is disabled")
    return user


def revoke_token(session: Session, token: str) -> None:
    session.execute(delete(ApiToken).where(ApiToken.token_hash == secret_hash(token)))


def sign_in(
    hub: Hub, session: Session, email: str, password: str, client: str, now: datetime
) -> tuple[User, str, ApiToken]:
    """Check the password and issue a token: ``login`` in the audit log.

    A wrong password is recorded as ``login.failure`` and committed before the error
    goes up, so the refusal stays in the log although the caller's reply is an error.
    """
    try:
        user = authenticate(session, hub.login_limiter, email, password, client)
    except NotAuthenticated:
        subject = f"login:{normalise_email(email)}"
        audit.log_action(hub, session, None, "login.failure", subject, {"client": client}, now)
        session.commit()
        raise
    token, row = issue_token(session, user, hub.token_ttl)
    audit.log_action(hub, session, user, "login", f"user:{user.id}", {"client": client}, now)
    return user, token, row


def sign_out(hub: Hub, session: Session, token: str, now: datetime) -> None:
    """Revoke a token (API bearer or page session): ``logout`` if it was a live one."""
    try:
        user = user_for_token(session, token)
    except NotAuthenticated:
        return  # nothing to end; the caller forgets the token either way
    revoke_token(session, token)
    audit.log_action(hub, session, user, "logout", f"user:{user.id}", {}, now)


def set_opt_out(hub: Hub, session: Session, user: User, opt_out: bool, now: datetime) -> User:
    """Opt out of (or back into) every police request: ``owner.opt_out`` / ``owner.opt_in``.

    Setting what is already set changes nothing and records nothing.
    """
    if user.opt_out_requests != opt_out:
        user.opt_out_requests = opt_out
        action = "owner.opt_out" if opt_out else "owner.opt_in"
        audit.log_action(hub, session, user, action, f"user:{user.id}", {}, now)
    session.flush()
    return user
