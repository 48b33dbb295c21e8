"""A user's own sessions: list them, and end one (``session.revoke`` in the audit log).

A session is a row of ``api_tokens`` (API bearer tokens and page cookies alike), named
by its ``id``; the token itself is never shown again after sign-in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from doorstep.errors import NotFound
from doorstep.hub.context import Hub
from doorstep.hub.models import ApiToken, User
from doorstep.hub.services import audit


def list_sessions(session: Session, user: User, now: datetime) -> list[ApiToken]:
    """The user's live sessions, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.expires_at > now)
            .order_by(ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def revoke_session(hub: Hub, session: Session, user: User, session_id: str, now: datetime) -> None:
    """End one of the user's own sessions; another user's is "not found", like a made-up id."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.id == session_id, ApiToken.user_id == user.id)
    )
    if row is None:
        raise NotFound("no such session of yours")
    session.execute(delete(ApiToken).where(ApiToken.token_hash == row.token_hash))
    details = {"session": session_id, "client": row.client}
    audit.log_action(hub, session, user, "session.revoke", f"user:{user.id}", details, now)
