"""Sign-up, login (OAuth2 password form) and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from doorstep.hub.db import utcnow
from doorstep.hub.deps import Credentials, Enrolling, HubDep, SessionDep
from doorstep.hub.openapi import errors
from doorstep.hub.schemas import SignUp, Token, UserPublic
from doorstep.hub.services import accounts

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=errors(409, 429),
)
def signup(data: SignUp, request: Request, session: SessionDep, hub: HubDep) -> object:
    """Create an owner account (so many per client address an hour; else 429).

    Other roles are created by an admin.
    """
    client = request.client.host if request.client else "unknown"
    return accounts.sign_up(
        hub, session, email=data.email, password=data.password, name=data.name, client=client
    )


@router.post("/token", response_model=Token, responses=errors(401, 429))
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    hub: HubDep,
    totp_code: Annotated[
        str | None,
        Form(
            max_length=64,
            description="The 6-digit code of the account's authenticator app, or one of its "
            "recovery codes: needed once the account has enrolled (multi-factor "
            "authentication).",
        ),
    ] = None,
) -> Token:
    """Exchange email (`username`), password and, once enrolled, a `totp_code` for a
    bearer token that expires.

    A police, auditor or admin account that has not enrolled yet gets a token that
    reaches only enrolment (`/auth/mfa/*`), `/auth/me` and `/auth/logout`; everything
    else answers 403 naming the enrolment route.
    """
    client = request.client.host if request.client else "unknown"
    _user, token, row = accounts.sign_in(
        hub, session, form.username, form.password, client, utcnow(), totp_code=totp_code
    )
    return Token(access_token=token, expires_at=row.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(_caller: Enrolling, credentials: Credentials, session: SessionDep, hub: HubDep) -> None:
    """Revoke the token used for this call."""
    if credentials is not None:
        accounts.sign_out(hub, session, credentials.credentials, utcnow())


@router.get("/me", response_model=UserPublic)
def me(caller: Enrolling) -> object:
    """The account this token belongs to (also before multi-factor enrolment)."""
    return caller.user
