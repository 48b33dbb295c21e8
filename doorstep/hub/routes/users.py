"""Accounts managed by an admin, and a user's own settings."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from doorstep.hub.db import utcnow
from doorstep.hub.deps import Admin, CurrentUser, HubDep, SessionDep
from doorstep.hub.models import Agency, User
from doorstep.hub.schemas import AgencyCreate, AgencyPublic, UserCreate, UserPublic, UserSettings
from doorstep.hub.services import accounts

router = APIRouter(tags=["users"])


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def create_user(data: UserCreate, _admin: Admin, session: SessionDep) -> object:
    """Create an account of any role (admin only)."""
    return accounts.create_user(
        session,
        email=data.email,
        password=data.password,
        name=data.name,
        role=data.role,
        agency_name=data.agency,
    )


@router.get("/users", response_model=list[UserPublic])
def list_users(_admin: Admin, session: SessionDep) -> object:
    return list(session.scalars(select(User).order_by(User.created_at)))


@router.patch("/users/me", response_model=UserPublic)
def update_me(data: UserSettings, user: CurrentUser, session: SessionDep, hub: HubDep) -> object:
    """The caller's own settings: opting out of (or back into) every police request."""
    if data.opt_out_requests is not None:
        accounts.set_opt_out(hub, session, user, data.opt_out_requests, utcnow())
    return user


@router.post("/agencies", status_code=status.HTTP_201_CREATED, response_model=AgencyPublic)
def create_agency(data: AgencyCreate, _admin: Admin, session: SessionDep) -> object:
    return accounts.get_or_create_agency(session, data.name)


@router.get("/agencies", response_model=list[AgencyPublic])
def list_agencies(_user: CurrentUser, session: SessionDep) -> object:
    return list(session.scalars(select(Agency).order_by(Agency.name)))
