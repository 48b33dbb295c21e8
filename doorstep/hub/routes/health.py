"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from doorstep import __version__
from doorstep.hub.deps import HubDep, SessionDep
from doorstep.hub.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep, hub: HubDep) -> Health:
    session.execute(text("SELECT 1"))
    return Health(version=__version__, database=hub.engine.dialect.name)
