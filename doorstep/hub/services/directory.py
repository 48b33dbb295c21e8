"""What an admin sees of the hub at a glance: accounts, agencies and counts.

Read-only: accounts are created with `doorstep user add` or POST /api/v1/users, and
witnesses are managed in services/witnesses.py; the admin pages list what is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doorstep.hub.models import Agency, Camera, Role, User
from doorstep.hub.models_log import Witness
from doorstep.hub.models_requests import PoliceRequest


@dataclass(frozen=True)
class AgencyRow:
    id: str
    name: str
    members: int
    requests: int


@dataclass(frozen=True)
class Overview:
    users_by_role: dict[str, int]
    inactive_users: int
    agencies: int
    cameras: int
    witnesses: int


def users(session: Session) -> list[User]:
    """Every account, oldest first (agency joined)."""
    return list(session.scalars(select(User).order_by(User.created_at, User.email)))


def agencies(session: Session) -> list[AgencyRow]:
    """Each agency with how many accounts belong to it and how many requests it made."""
    members = dict(
        session.execute(
            select(User.agency_id, func.count())
            .where(User.agency_id.is_not(None))
            .group_by(User.agency_id)
        ).all()
    )
    made = dict(
        session.execute(
            select(PoliceRequest.agency_id, func.count()).group_by(PoliceRequest.agency_id)
        ).all()
    )
    return [
        AgencyRow(id=a.id, name=a.name, members=members.get(a.id, 0), requests=made.get(a.id, 0))
        for a in session.scalars(select(Agency).order_by(Agency.name))
    ]


def overview(session: Session) -> Overview:
    """Counts only: cameras that were not deleted, witnesses that were not removed."""
    by_role = dict(session.execute(select(User.role, func.count()).group_by(User.role)).all())
    return Overview(
        users_by_role={role.value: int(by_role.get(role.value, 0)) for role in Role},
        inactive_users=session.scalar(
            select(func.count()).select_from(User).where(User.is_active.is_(False))
        )
        or 0,
        agencies=session.scalar(select(func.count()).select_from(Agency)) or 0,
        cameras=session.scalar(
            select(func.count()).select_from(Camera).where(Camera.deleted_at.is_(None))
        )
        or 0,
        witnesses=session.scalar(
            select(func.count()).select_from(Witness).where(Witness.removed_at.is_(None))
        )
        or 0,
    )
