"""Admin pages: the hub at a glance (counts), accounts, agencies and log witnesses.

Read-only lists; changes go through the CLI or the API (`doorstep user add`,
POST /api/v1/users, /api/v1/log/witnesses), which audit them. Only admins reach
these pages; any other role gets the 403 page.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from doorstep.hub.deps import SessionDep
from doorstep.hub.models import User
from doorstep.hub.services import directory, witnesses
from doorstep.web.render import render
from doorstep.web.session import web_roles

router = APIRouter(prefix="/admin", include_in_schema=False)
Admin = Annotated[User, web_roles("admin")]


@router.get("")
def admin_home(request: Request, admin: Admin, session: SessionDep) -> Response:
    """Where an admin lands after signing in."""
    context = {"overview": asdict(directory.overview(session))}
    return render(request, "admin_home.html", context, user=admin, public_keys=("overview",))


@router.get("/users")
def users_page(request: Request, admin: Admin, session: SessionDep) -> Response:
    rows = [
        {
            "id": u.id,
            "email": u.email,
            "name": u.name,
            "role": u.role,
            "agency": u.agency.name if u.agency else None,
            "active": u.is_active,
            "created_at": u.created_at,
        }
        for u in directory.users(session)
    ]
    return render(request, "admin_users.html", {"users": rows}, user=admin, public_keys=("users",))


@router.get("/agencies")
def agencies_page(request: Request, admin: Admin, session: SessionDep) -> Response:
    rows = [asdict(a) for a in directory.agencies(session)]
    context = {"agencies": rows}
    return render(request, "admin_agencies.html", context, user=admin, public_keys=("agencies",))


@router.get("/witnesses")
def witnesses_page(request: Request, admin: Admin, session: SessionDep) -> Response:
    rows = [w.model_dump() for w in witnesses.list_witnesses(session)]
    context = {"witnesses": rows}
    return render(request, "admin_witnesses.html", context, user=admin, public_keys=("witnesses",))
