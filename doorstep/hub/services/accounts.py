"""Users, agencies and tokens: sign-up, admin-created accounts, sign-in and out, settings.

Sign-in, sign-out and opting out of police requests are one function each, called by
the API routes and the web pages alike, so both write the same audit rows.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from doorstep.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, RateLimited
from doorstep.hub.context import Hub
from doorstep.hub.db import utcnow
from doorstep.hub.models import AGENCY_ROLES, Agency, ApiToken, Role, User
from doorstep.hub.ratelimit import LoginThrottle, wait_in_words
from doorstep.hub.security import (
    USER_TOKEN_PREFIX,
    hash_password,
    new_secret,
    secret_hash,
    verify_password,
)
from doorstep.hub.services import audit, mfa
from doorstep.hub.services.mfa import EnrolmentRequired


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
    # Hash before touching the database: the wait for a turn to hash (bounded, see
    # security.py) then holds no connection, and a taken email costs the same time.
    password_hash = hash_password(password)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("an account with this email already exists", field="email")
    agency = get_or_create_agency(session, agency_name) if agency_name else None
    user = User(
        email=email,
        name=name,
        password_hash=password_hash,
        role=role.value,
        agency_id=agency.id if agency else None,
    )
    session.add(user)
    session.flush()
    return user


def sign_up(
    hub: Hub, session: Session, *, email: str, password: str, name: str, client: str
) -> User:
    """Create an owner account for an anonymous caller, at most so many per client address.

    Every sign-up that gets this far counts, taken or not: each costs a password hash.
    The account is committed here, in the worker thread that wrote it: with SQLite the
    write lock would otherwise wait for a second worker thread to commit, and a burst
    of sign-ups queued for their turn to hash holds every worker (then 30 s "database
    is locked").
    """
    wait = hub.signup_limiter.take(client)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many sign-ups from your address; try again in {wait_in_words(seconds)}",
            retry_after=seconds,
        )
    user = create_user(session, email=email, password=password, name=name, role=Role.owner)
    session.commit()
    return user


MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path


def authenticate(
    session: Session, limiter: LoginThrottle, email: str, password: str, client: str
) -> User:
    """Check a password, throttled per client address and per (client address, account).

    Nothing counts per account alone, so failures from elsewhere never refuse the owner
    (docs/security.md, "Sign-in throttling"). An email longer than any address can be
    (a flood of made-up ones) counts against the client alone: it gets no key of its
    own, yet cannot dodge the limit.
    """
    account = normalise_email(email) if len(email) <= MAX_EMAIL_LENGTH else None
    with limiter.attempt(client, account) as attempt:
        user = session.scalar(select(User).where(User.email == account)) if account else None
        if not verify_password(user.password_hash if user else None, password) or user is None:
            attempt.failed()
            raise NotAuthenticated("wrong email or password")
        attempt.succeeded()
    if not user.is_active:
        raise Forbidden("this account is disabled")
    return user


def issue_token(
    session: Session,
    user: User,
    ttl: timedelta,
    *,
    client: str = "",
    enrolment_only: bool = False,
) -> tuple[str, ApiToken]:
    """A new session for ``user``. It is a full one unless ``enrolment_only``: the caller
    vouches for how the user signed in (``sign_in`` checks the password and, where one is
    enrolled or due, the second factor; scripts and tests may issue full tokens)."""
    token = new_secret(USER_TOKEN_PREFIX)
    now = utcnow()
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))
    row = ApiToken(
        token_hash=secret_hash(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + ttl,
        client=client[:100],
        last_used_at=now,
        enrolment_only=enrolment_only,
    )
    session.add(row)
    session.flush()
    return token, row


# last_used_at is written at most this often per session, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def session_for_token(
    session: Session, token: str, *, enrolling: bool = False
) -> tuple[User, ApiToken]:
    """The user and session row of a live token.

    An enrolment-only session (password alone while MFA is due) raises
    ``EnrolmentRequired`` (403 naming the enrolment route) unless ``enrolling``: only
    enrolment, ``/auth/me`` and sign-out pass that.
    """
    if not token.startswith(USER_TOKEN_PREFIX):
        raise NotAuthenticated("not a user token")
    row = session.get(ApiToken, secret_hash(token))
    now = utcnow()
    if row is None or row.expires_at <= now:
        raise NotAuthenticated("the token is unknown or has expired; log in again")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("the account no longer exists or is disabled")
    if row.enrolment_only and not enrolling:
        raise EnrolmentRequired()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return user, row


def user_for_token(session: Session, token: str, *, enrolling: bool = False) -> User:
    return session_for_token(session, token, enrolling=enrolling)[0]


def revoke_token(session: Session, token: str) -> None:
    session.execute(delete(ApiToken).where(ApiToken.token_hash == secret_hash(token)))


def sign_in(
    hub: Hub,
    session: Session,
    email: str,
    password: str,
    client: str,
    now: datetime,
    *,
    totp_code: str | None = None,
) -> tuple[User, str, ApiToken]:
    """Check the password (and the second factor) and issue a token: ``login`` in the log.

    A wrong password is recorded as ``login.failure`` and committed before the error
    goes up, so the refusal stays in the log although the caller's reply is an error;
    a sign-in is committed before it returns (see below).
    An account with an authenticator app needs its code (or a recovery code) in
    ``totp_code``; one whose role must enrol and has not gets an enrolment-only session.
    """
    try:
        user = authenticate(session, hub.login_limiter, email, password, client)
    except NotAuthenticated:
        subject = f"login:{normalise_email(email)}"
        audit.log_action(hub, session, None, "login.failure", subject, {"client": client}, now)
        session.commit()
        raise
    mfa.verify_second_factor(hub, session, user, totp_code, client, now)
    enrolment_only = mfa.enrolment_due(hub.settings, session, user)
    token, row = issue_token(
        session, user, hub.token_ttl, client=client, enrolment_only=enrolment_only
    )
    audit.log_action(hub, session, user, "login", f"user:{user.id}", {"client": client}, now)
    # Committed here, in the thread that wrote: on SQLite the write lock is held until the
    # commit, and a commit left to the request's teardown can wait for a worker thread
    # that other sign-ins (queued for a hashing turn, or for the lock) are holding.
    session.commit()
    return user, token, row


def sign_out(hub: Hub, session: Session, token: str, now: datetime) -> None:
    """Revoke a token (API bearer or page session): ``logout`` if it was a live one."""
    try:
        user = user_for_token(session, token, enrolling=True)
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
