"""The optional hourly email summarising an owner's camera events (``event_email_digest``).

Events are many and rarely urgent, so they go by email only as a digest, and only to
owners who asked for one. The task runs every quarter of an hour in each worker and
always summarises the last full hour; the job key (user and hour) makes every run after
the first a no-op, so no hour is missed when a worker restarts or runs late, and several
workers send one digest between them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doorstep.config import Settings
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.mail import enqueue_email
from doorstep.hub.models import Camera, Event, User
from doorstep.hub.queue import periodic

KIND = "event_digest"
HOUR = timedelta(hours=1)


def last_full_hour(now: datetime) -> tuple[datetime, datetime]:
    until = now.replace(minute=0, second=0, microsecond=0)
    return until - HOUR, until


def queue_digests(session: Session, settings: Settings, since: datetime, until: datetime) -> int:
    """One email per opted-in owner with events in ``[since, until)``; returns how many."""
    if not settings.smtp_url:
        return 0
    rows = session.execute(
        select(Camera.owner_id, Camera.name, Event.label, func.count())
        .join(Event, Event.camera_id == Camera.id)
        .join(User, User.id == Camera.owner_id)
        .where(
            User.event_email_digest.is_(True),
            User.email_notifications.is_(True),
            User.is_active.is_(True),
            Camera.deleted_at.is_(None),
            Event.start_time >= since,
            Event.start_time < until,
        )
        .group_by(Camera.owner_id, Camera.id, Camera.name, Event.label)
    ).all()
    per_owner: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for owner_id, camera, label, count in rows:
        per_owner[owner_id][camera][label] = int(count)
    queued = 0
    for user in session.scalars(select(User).where(User.id.in_(list(per_owner)))):
        cameras: list[dict[str, Any]] = [
            {
                "camera": name,
                "events": sum(labels.values()),
                "labels": ", ".join(f"{n} {label}" for label, n in sorted(labels.items())),
            }
            for name, labels in sorted(per_owner[user.id].items())
        ]
        context = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "total": sum(c["events"] for c in cameras),
            "cameras": cameras,
            "url": "/timeline",
        }
        key = f"digest:{user.id}:{until.isoformat()}"
        queued += enqueue_email(session, settings, user, KIND, context, key=key)
    return queued


@periodic(900)
def digest_task(hub: Hub) -> None:
    since, until = last_full_hour(utcnow())
    with session_scope(hub.sessions) as session:
        queue_digests(session, hub.settings, since, until)
