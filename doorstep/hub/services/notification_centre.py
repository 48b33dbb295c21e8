"""The notification centre: what a user reads back of their notifications.

Producing a notification (the row, its live message, its delivery) is
:mod:`doorstep.hub.services.notifications`; this module pages through them, counts
what is unread and marks them read, for the API and the ``/notifications`` page alike.

Pages are cut by a cursor on ``(created_at, id)``, newest first, not by an offset: a
notification arriving while someone pages does not shift what the next page shows, and
two notifications with the same timestamp (a fan-out writes many in one transaction)
are neither skipped nor repeated, because the id breaks the tie.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from doorstep.errors import InvalidInput, NotFound
from doorstep.hub.models import User
from doorstep.hub.models_requests import Notification

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,120}$"
"""A cursor is base64url text; its content is the hub's business (opaque to clients)."""


@dataclass(frozen=True)
class Page:
    """One page of a user's notifications, newest first."""

    items: list[Notification]
    next: str | None  # the cursor of the next (older) page, None on the last
    unread: int  # every unread notification of the user, not only this page's


def encode_cursor(note: Notification) -> str:
    """The cursor that continues after ``note``: its time and id, base64url."""
    text = f"{note.created_at.astimezone(UTC).isoformat()}|{note.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor stands for; anything the hub did not make is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, note_id = raw.split("|", 1)
        created_at = datetime.fromisoformat(when)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("not a cursor this hub gave out", field="before") from exc
    if created_at.tzinfo is None or not note_id:
        raise InvalidInput("not a cursor this hub gave out", field="before")
    return created_at, note_id


def unread_count(session: Session, user: User) -> int:
    """How many of the user's notifications are unread (one indexed count, for the badge)."""
    query = select(func.count()).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def list_for(
    session: Session,
    user: User,
    *,
    unread_only: bool = False,
    limit: int = DEFAULT_LIMIT,
    before: str | None = None,
) -> Page:
    """A page of the user's notifications, newest first, older than the cursor ``before``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}", field="limit")
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before is not None:
        created_at, note_id = decode_cursor(before)
        query = query.where(
            or_(
                Notification.created_at < created_at,
                and_(Notification.created_at == created_at, Notification.id < note_id),
            )
        )
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    rows = list(session.scalars(query.limit(limit + 1)))
    items = rows[:limit]
    following = encode_cursor(items[-1]) if len(rows) > limit else None
    return Page(items=items, next=following, unread=unread_count(session, user))


def mark_read(session: Session, user: User, note_id: str, now: datetime) -> Notification:
    """Mark one of the user's notifications read (again is harmless: the first time stays)."""
    note = session.get(Notification, note_id)
    if note is None or note.user_id != user.id:
        raise NotFound("no such notification")
    note.read_at = note.read_at or now
    session.flush()
    return note


def mark_all_read(session: Session, user: User, now: datetime) -> int:
    """Mark every notification the user had by ``now`` read; how many were unread.

    One that arrives after ``now`` (while the page was open) stays unread: it has not
    been seen.
    """
    result = session.execute(
        update(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.read_at.is_(None),
            Notification.created_at <= now,
        )
        .values(read_at=now)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
