"""Notifications to users: a row per message, read by the owner's pages and the API.

Kept deliberately small (no push transport here): the inbox and emergency flows
write a row in the same transaction as the action, so a notification exists
exactly when the thing it announces does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.errors import NotFound
from doorstep.hub.models import User
from doorstep.hub.models_requests import Notification


def notify(session: Session, user_id: str, kind: str, payload: dict[str, Any]) -> Notification:
    note = Notification(user_id=user_id, kind=kind, payload=payload)
    session.add(note)
    return note


def list_for(session: Session, user: User, *, unread_only: bool = False) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.created_at.desc()).limit(200)))


def mark_read(session: Session, user: User, note_id: str, now: datetime) -> Notification:
    note = session.get(Notification, note_id)
    if note is None or note.user_id != user.id:
        raise NotFound("no such notification")
    note.read_at = note.read_at or now
    session.flush()
    return note
