"""The optional hourly email summarising an owner's camera events (``event_email_digest``).

Events are many and rarely urgent, so they go by email only as a digest, and only to
owners who asked for one; it lists the events whose camera notifies in the owner's mode
and, when the owner has rules, those a rule sends to email. The task runs every quarter
of an hour in each worker and always summarises the last full hour; the job key (user and
hour) makes every run after the first a no-op, so several workers send one digest between
them. An hour the workers were all down for is not summarised later.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.config import Settings
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.mail import enqueue_email
from doorstep.hub.models import Camera, Event, User
from doorstep.hub.models_reach import NotificationRule
from doorstep.hub.queue import periodic
from doorstep.hub.services import modes, rules

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
        select(Event, Camera, User)
        .join(Camera, Event.camera_id == Camera.id)
        .join(User, User.id == Camera.owner_id)
        .where(
            User.event_email_digest.is_(True),
            User.email_notifications.is_(True),
            User.is_active.is_(True),
            Camera.deleted_at.is_(None),
            Event.start_time >= since,
            Event.start_time < until,
        )
    ).all()
    per_owner: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    owner_rules: dict[str, list[NotificationRule]] = {}
    for event, camera, owner in rows:
        if owner.id not in owner_rules:
            owner_rules[owner.id] = rules.list_rules(session, owner)
        if emailed(owner, camera, event, owner_rules[owner.id]):
            labels = per_owner[owner.id][camera.name]
            labels[event.label] = labels.get(event.label, 0) + 1
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


def emailed(owner: User, camera: Camera, event: Event, owner_rules: list[NotificationRule]) -> bool:
    """Whether the event belongs in the digest: its camera notifies in the owner's mode, and
    with rules, an enabled rule that matches it names email (quiet hours do not apply to a
    summary sent afterwards)."""
    if not modes.notifies(owner, camera):
        return False
    if not owner_rules:
        return True
    return any("email" in r.channels and rules.matches(r, camera, event) for r in owner_rules)


@periodic(900)
def digest_task(hub: Hub) -> None:
    since, until = last_full_hour(utcnow())
    with session_scope(hub.sessions) as session:
        queue_digests(session, hub.settings, since, until)
