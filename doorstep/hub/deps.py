"""Typed FastAPI dependencies: the hub, a database session, the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, NamedTuple

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from doorstep.errors import Forbidden, NotAuthenticated
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope
from doorstep.hub.models import ApiToken, Camera, Role, User
from doorstep.hub.schemas import UUID_PATTERN
from doorstep.hub.services.accounts import session_for_token, user_for_token
from doorstep.hub.services.cameras import camera_for_key

EntityId = Annotated[str, Path(pattern=UUID_PATTERN, description="A UUID.")]

_bearer = HTTPBearer(auto_error=False, description="A user token or, for /ingest, a camera key.")


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


def get_session(hub: HubDep) -> Iterator[Session]:
    """One transaction per request: committed when the handler succeeds."""
    with session_scope(hub.sessions) as session:
        yield session


# scope="function": the transaction commits before the reply is sent, so a client
# that acts on a 201 always finds what it created (and a failed commit is an error).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    return credentials.credentials


def get_current_user(session: SessionDep, credentials: Credentials) -> User:
    return user_for_token(session, bearer_token(credentials))


CurrentUser = Annotated[User, Depends(get_current_user)]


class SignedIn(NamedTuple):
    """The caller and the session (token row) the call came with."""

    user: User
    token: ApiToken


def get_signed_in(session: SessionDep, credentials: Credentials) -> SignedIn:
    return SignedIn(*session_for_token(session, bearer_token(credentials)))


def get_enrolling(session: SessionDep, credentials: Credentials) -> SignedIn:
    """Also an enrolment-only session: for MFA enrolment, ``/auth/me`` and sign-out."""
    return SignedIn(*session_for_token(session, bearer_token(credentials), enrolling=True))


CurrentSignedIn = Annotated[SignedIn, Depends(get_signed_in)]
Enrolling = Annotated[SignedIn, Depends(get_enrolling)]


def get_current_camera(session: SessionDep, credentials: Credentials) -> Camera:
    return camera_for_key(session, bearer_token(credentials))


CurrentCamera = Annotated[Camera, Depends(get_current_camera)]


def get_camera_key(hub: HubDep, credentials: Credentials) -> str:
    """A camera key checked in a session of its own (for uploads): no connection is held
    while the body streams, and a caller without a valid key learns nothing more."""
    key = bearer_token(credentials)
    with session_scope(hub.sessions) as session:
        camera_for_key(session, key)
    return key


CameraKey = Annotated[str, Depends(get_camera_key)]


def require_roles(*roles: Role) -> object:
    """A dependency that lets only the given roles through."""
    allowed = {role.value for role in roles}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(f"this needs the role {' or '.join(sorted(allowed))}")
        return user

    return Depends(check)


Owner = Annotated[User, require_roles(Role.owner)]
Admin = Annotated[User, require_roles(Role.admin)]
