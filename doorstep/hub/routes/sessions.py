"""A user's own sessions: list and revoke (each API token or page sign-in is one)."""

from __future__ import annotations

from fastapi import APIRouter, status

from doorstep.hub.db import utcnow
from doorstep.hub.deps import CurrentSignedIn, EntityId, HubDep, SessionDep
from doorstep.hub.schemas_mfa import SessionPublic
from doorstep.hub.services import sessions

router = APIRouter(prefix="/auth/sessions", tags=["auth"])


@router.get("", response_model=list[SessionPublic])
def list_sessions(caller: CurrentSignedIn, session: SessionDep) -> list[SessionPublic]:
    """Your live sessions, newest first; `current` marks the one this call came with."""
    rows = sessions.list_sessions(session, caller.user, utcnow())
    return [
        SessionPublic.model_validate(row).model_copy(update={"current": row.id == caller.token.id})
        for row in rows
    ]


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_session(
    session_id: EntityId, caller: CurrentSignedIn, session: SessionDep, hub: HubDep
) -> None:
    """End one of your sessions (404 for anyone else's)."""
    sessions.revoke_session(hub, session, caller.user, session_id, utcnow())
