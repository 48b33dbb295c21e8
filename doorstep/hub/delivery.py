"""What a notification or a camera event becomes: push and email jobs (docs/reach.md).

Both arrive as jobs queued in the transaction that created them, so ingest and the
officer's POST never wait for delivery. The handlers decide who gets what on which
channel and queue one job per message with a key derived from the notification, so a
handler that runs twice (a retry, a lease that ran out) queues nothing twice.

* ``deliver.notifications``: police-request kinds, batched per action (a request to
  10,000 owners is 50 jobs). Push to every device of the user;
  email for :data:`doorstep.hub.mail.EMAIL_KINDS` unless the user turned email off
  (the inbox entry stays).
* ``deliver.event``: an event a camera reported. Nothing when the owner's mode says the
  camera does not notify. Otherwise an entry in the notification centre, and push when
  the owner's rules send this event to push now (quiet hours hold push back, not the
  entry). Event email is the hourly digest (``users.event_email_digest``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from doorstep.hub import mail, push
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import Event, User
from doorstep.hub.models_requests import Notification
from doorstep.hub.queue import job
from doorstep.hub.services import modes, rules
from doorstep.hub.services.notifications import body_for, notify, title_for, url_for

log = logging.getLogger(__name__)
EVENT_NOTES = uuid.UUID("6f1c1f4e-3b7a-4d0e-9a52-0d6f2b1e7c11")  # namespace of event entries
URGENT_KINDS = frozenset({"event", "emergency_access"})


def push_message(note: Notification) -> dict[str, Any]:
    """The push payload of the issue: type, title, body, url, image, id (+ tag).

    ``url`` and ``image`` are paths on the hub: the service worker resolves them against
    its own origin, which is right behind any proxy, whatever DOORSTEP_PUBLIC_URL says.
    """
    payload = dict(note.payload)
    message: dict[str, Any] = {
        "type": note.kind,
        "id": note.id,
        "title": title_for(note.kind, payload),
        "body": body_for(note.kind, payload),
        "url": url_for(note.kind, payload),
        "image": None,
        "urgent": note.kind in URGENT_KINDS,
    }
    if note.kind == "event":
        message["image"] = f"/media/events/{payload['event_id']}/snapshot"
        message["tag"] = f"camera-{payload['camera_id']}"  # a burst collapses to one
    elif "request_id" in payload:
        message["tag"] = f"request-{payload['request_id']}"
    return message


@job("deliver.notifications")
def deliver_notifications(hub: Hub, payload: dict[str, Any]) -> None:
    """A batch of notifications (up to 200, queued together by one action)."""
    with session_scope(hub.sessions) as session:
        notes = session.scalars(select(Notification).where(Notification.id.in_(payload["ids"])))
        for note in notes:
            user = session.get(User, note.user_id)
            if user is None or not user.is_active:
                continue
            try:
                _deliver_note(hub, session, user, note)
            except DBAPIError:
                raise  # the database: the whole job tries again (its messages are keyed)
            except Exception:  # this recipient's message cannot be made: the others go
                log.exception("notification %s to %s not delivered", note.id, user.id)


def _deliver_note(hub: Hub, session: Session, user: User, note: Notification) -> None:
    key = f"note:{note.id}"
    push.enqueue_push(session, user.id, push_message(note), key=key)
    if note.kind in mail.EMAIL_KINDS and user.email_notifications:
        context = {**note.payload, "url": url_for(note.kind, note.payload)}
        mail.enqueue_email(session, hub.settings, user, note.kind, context, key=key)


@job("deliver.event")
def deliver_event(hub: Hub, payload: dict[str, Any]) -> None:
    with session_scope(hub.sessions) as session:
        event = session.get(Event, payload["event_id"])
        if event is None:
            return
        camera = event.camera
        owner = session.get(User, camera.owner_id)
        if owner is None or not owner.is_active or not modes.notifies(owner, camera):
            return
        details = {
            "event_id": event.id,
            "camera_id": camera.id,
            "camera_name": camera.name,
            "label": event.label,
            "score": event.score,
            "start_time": event.start_time.isoformat(),
        }
        # One entry per event even if this job runs twice (its id is derived from the event).
        note_id = str(uuid.uuid5(EVENT_NOTES, event.id))
        note = session.get(Notification, note_id) or notify(
            session, owner.id, "event", details, deliver=False, note_id=note_id
        )
        session.flush()
        if "push" in rules.event_channels(session, owner, camera, event, utcnow()):
            push.enqueue_push(session, owner.id, push_message(note), key=f"note:{note.id}")
