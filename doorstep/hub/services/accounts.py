"""Users, agencies and tokens: sign-up, admin-created accounts, login."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from doorstep.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, RateLimited
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
            raise RateLimited(f"too many failed logins; try again in {int(wait) + 1} seconds")
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
