"""Multi-factor authentication: enrol an authenticator app (TOTP), recovery codes.

Enrolment is reachable with an enrolment-only session (a police, auditor or admin
account that signed in with a password alone): start, scan, confirm with a code.
"""

from __future__ import annotations

from fastapi import APIRouter

from doorstep.errors import Conflict
from doorstep.hub.db import utcnow
from doorstep.hub.deps import CurrentSignedIn, Enrolling, HubDep, SessionDep
from doorstep.hub.openapi import errors
from doorstep.hub.schemas_mfa import MfaCode, MfaEnrolment, MfaStatus, RecoveryCodes
from doorstep.hub.services import mfa

router = APIRouter(prefix="/auth/mfa", tags=["auth"])


@router.get("", response_model=MfaStatus)
def mfa_status(caller: Enrolling, session: SessionDep, hub: HubDep) -> MfaStatus:
    """Whether an app is set up, whether your role needs one, recovery codes left."""
    return MfaStatus(
        enrolled=mfa.is_enrolled(session, caller.user),
        required=mfa.required_for(hub.settings, caller.user),
        recovery_codes_left=mfa.recovery_codes_left(session, caller.user),
    )


@router.post("/enrol", response_model=MfaEnrolment, responses=errors(409))
def enrol(caller: Enrolling, session: SessionDep) -> MfaEnrolment:
    """Start enrolment: a secret to scan or type into an authenticator app (409 if set up).

    Asking again before confirming gives the same secret.
    """
    row = mfa.start_enrolment(session, caller.user, utcnow())
    return MfaEnrolment(secret=row.secret, otpauth_uri=mfa.provisioning_uri(row, caller.user))


@router.post("/confirm", response_model=RecoveryCodes, responses=errors(409, 429))
def confirm(data: MfaCode, caller: Enrolling, session: SessionDep, hub: HubDep) -> RecoveryCodes:
    """Finish enrolment with the code the app shows; returns 10 recovery codes, once.

    This session becomes a full one. Wrong codes are throttled (429 with retry_after).
    """
    codes = mfa.confirm_enrolment(hub, session, caller.user, data.code, caller.token, utcnow())
    return RecoveryCodes(recovery_codes=codes)


@router.post("/recovery-codes", response_model=RecoveryCodes, responses=errors(409))
def new_recovery_codes(caller: CurrentSignedIn, session: SessionDep) -> RecoveryCodes:
    """Replace your recovery codes with 10 new ones (the old ones stop working)."""
    if not mfa.is_enrolled(session, caller.user):
        raise Conflict("set up an authenticator app first")
    return RecoveryCodes(recovery_codes=mfa.new_recovery_codes(session, caller.user, utcnow()))
