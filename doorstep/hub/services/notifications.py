"""Notifications to users: a row per message, read by the owner's pages and the API.

The inbox and emergency flows write a row in the same transaction as the action,
so a notification exists exactly when the thing it announces does; open pages get
it live (server-sent events) right after that transaction commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.errors import NotFound
from doorstep.hub.live import publish_after_commit
from doorstep.hub.models import User
from doorstep.hub.models_requests import Notification

TITLES = {
    "request": "A police request asks for your footage",
    "emergency_access": "Emergency: police accessed your footage without consent",
}


def notify(session: Session, user_id: str, kind: str, payload: dict[str, Any]) -> Notification:
    """Store the notification and, once the transaction commits, push it to open pages."""
    note = Notification(user_id=user_id, kind=kind, payload=payload)
    session.add(note)
    message = {"type": "notification", "kind": kind, "title": TITLES.get(kind, kind), **payload}
    if "request_id" in payload:
        message["url"] = f"/inbox#request-{payload['request_id']}"
    publish_after_commit(session, user_id, message)
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
