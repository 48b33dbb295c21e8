"""Multi-factor authentication: TOTP enrolment, second-factor checks, recovery codes.

Who must use it is a setting (``mfa_required_roles``: police, auditors and admins by
default). A user of those roles who signed in with a password alone holds an
enrolment-only session until they enrol. Once enrolled, every sign-in needs a code
from the app or a recovery code. Wrong codes are throttled per account in the
database (growing delays), and a code's time step is remembered so it cannot be
replayed. The API routes and the web pages call the same functions here, so they
write the same audit entries (``mfa.enrol``, ``mfa.recovery_used``,
``login.mfa_failure``).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from doorstep.config import Settings
from doorstep.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, RateLimited
from doorstep.hub import totp
from doorstep.hub.context import Hub
from doorstep.hub.models import ApiToken, User
from doorstep.hub.models_mfa import RecoveryCode, TotpCredential
from doorstep.hub.security import secret_hash
from doorstep.hub.services import audit

ENROL_ROUTE = "/api/v1/auth/mfa/enrol"
ENROL_PAGE = "/account/mfa"
ISSUER = "Doorstep"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
RECOVERY_LENGTH = 16  # 80 bits: far beyond guessing, online or from a stolen table
FREE_FAILURES = 5
FIRST_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600


class EnrolmentRequired(Forbidden):
    """A session opened with a password alone, while multi-factor enrolment is due."""

    def __init__(self) -> None:
        super().__init__(
            "multi-factor enrolment required: this account must set up an authenticator "
            f"app first (API: POST {ENROL_ROUTE}, then POST /api/v1/auth/mfa/confirm; "
            f"pages: {ENROL_PAGE})"
        )


def required_for(settings: Settings, user: User) -> bool:
    """Whether this user's role must sign in with a second factor."""
    return user.role in settings.mfa_roles


def credential(session: Session, user: User) -> TotpCredential | None:
    return session.get(TotpCredential, user.id)


def is_enrolled(session: Session, user: User) -> bool:
    row = credential(session, user)
    return row is not None and row.confirmed_at is not None


def enrolment_due(settings: Settings, session: Session, user: User) -> bool:
    """A password alone opens only enrolment: the role needs MFA and none is set up."""
    return required_for(settings, user) and not is_enrolled(session, user)


def start_enrolment(session: Session, user: User, now: datetime) -> TotpCredential:
    """A secret to scan (the one offered before, if enrolment was started and not finished)."""
    row = credential(session, user)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("an authenticator app is already set up for this account")
    if row is None:
        row = TotpCredential(user_id=user.id, secret=totp.new_secret(), created_at=now)
        session.add(row)
        session.flush()
    return row


def provisioning_uri(row: TotpCredential, user: User) -> str:
    return totp.provisioning_uri(row.secret, user.email, ISSUER)


def confirm_enrolment(
    hub: Hub, session: Session, user: User, code: str, token: ApiToken | None, now: datetime
) -> list[str]:
    """Check a code from the app against the offered secret; return new recovery codes.

    The session that confirmed becomes a full one: it has just shown the second factor.
    """
    row = credential(session, user)
    if row is None:
        raise Conflict(f"start enrolment first (POST {ENROL_ROUTE})")
    if row.confirmed_at is not None:
        raise Conflict("an authenticator app is already set up for this account")
    _check_not_blocked(row, now)
    step = totp.matching_step(row.secret, code, now, row.last_step)
    if step is None:
        _record_failure(hub, session, user, row, "enrol", now)
        raise InvalidInput(
            "that code does not match; type the code the app shows now", field="code"
        )
    row.confirmed_at = now
    row.last_step = step
    row.failures = 0
    row.blocked_until = None
    codes = new_recovery_codes(session, user, now)
    if token is not None:
        token.enrolment_only = False
    audit.log_action(hub, session, user, "mfa.enrol", f"user:{user.id}", {}, now)
    session.flush()
    return codes


def set_secret(session: Session, user: User, secret: str, now: datetime) -> None:
    """Enrol with a given secret at once (``doorstep user add --totp-secret``, the demo)."""
    if not totp.is_valid_secret(secret):
        raise InvalidInput("a TOTP secret is base32 of at least 26 characters", field="totp_secret")
    row = credential(session, user)
    if row is None:
        row = TotpCredential(user_id=user.id, secret="", created_at=now)
        session.add(row)
    row.secret = totp.normalise_secret(secret)
    row.confirmed_at = now
    row.last_step = None
    row.failures = 0
    row.blocked_until = None
    session.flush()


def new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    """Replace the user's recovery codes with new ones, shown once and stored hashed."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=secret_hash(code), created_at=now))
    session.flush()
    return ["-".join(code[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)) for code in codes]


def recovery_codes_left(session: Session, user: User) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def verify_second_factor(
    hub: Hub, session: Session, user: User, code: str | None, client: str, now: datetime
) -> None:
    """Check a TOTP code or a recovery code at sign-in, for an enrolled user.

    Throttled per account: after FREE_FAILURES wrong codes in a row each further one
    blocks the account's code checks for a growing time (429 with ``retry_after``), even
    for a right code. Only someone who knows the password gets this far, so the block
    cannot be used by a stranger to lock an owner out.
    """
    row = credential(session, user)
    if row is None or row.confirmed_at is None:
        return
    if not code or not code.strip():
        raise NotAuthenticated(
            "this account needs a code from its authenticator app (or a recovery code): "
            "send it as totp_code",
            field="totp_code",
        )
    _check_not_blocked(row, now)
    step = totp.matching_step(row.secret, code, now, row.last_step)
    if step is not None:
        row.last_step = step
    elif not _use_recovery_code(hub, session, user, code, client, now):
        _record_failure(hub, session, user, row, "sign-in", now, client=client)
        raise NotAuthenticated(
            "wrong or already used code; type the code the app shows now", field="totp_code"
        )
    row.failures = 0
    row.blocked_until = None
    session.flush()


def _use_recovery_code(
    hub: Hub, session: Session, user: User, code: str, client: str, now: datetime
) -> bool:
    cleaned = code.strip().lower().replace("-", "").replace(" ", "")
    if len(cleaned) != RECOVERY_LENGTH:
        return False
    found = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == secret_hash(cleaned),
            RecoveryCode.used_at.is_(None),
        )
    )
    if found is None:
        return False
    found.used_at = now
    left = recovery_codes_left(session, user) - 1
    audit.log_action(
        hub,
        session,
        user,
        "mfa.recovery_used",
        f"user:{user.id}",
        {"client": client, "left": left},
        now,
    )
    return True


def delay_after(failures: int) -> int:
    """Seconds an account waits after this many wrong codes in a row (0: no wait)."""
    if failures < FREE_FAILURES:
        return 0
    return min(FIRST_DELAY_SECONDS * 2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS)


def _check_not_blocked(row: TotpCredential, now: datetime) -> None:
    if row.blocked_until is not None and row.blocked_until > now:
        wait = (row.blocked_until - now).total_seconds()
        raise RateLimited(
            f"too many wrong codes; try again in {int(wait + 0.999)} seconds", retry_after=wait
        )


def _record_failure(
    hub: Hub,
    session: Session,
    user: User,
    row: TotpCredential,
    stage: str,
    now: datetime,
    *,
    client: str = "",
) -> None:
    """Count a wrong code and commit it with its audit entry before the error goes up."""
    row.failures += 1
    wait = delay_after(row.failures)
    row.blocked_until = now + timedelta(seconds=wait) if wait else None
    details = {"stage": stage, "failures": row.failures, **({"client": client} if client else {})}
    audit.log_action(hub, session, user, "login.mfa_failure", f"user:{user.id}", details, now)
    session.commit()
