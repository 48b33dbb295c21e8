"""Notifications to users: a row per message, read by the owner's pages and the API.

The inbox and emergency flows write a row in the same transaction as the action,
so a notification exists exactly when the thing it announces does; open pages get
it live (server-sent events) right after that transaction commits, and the same
transaction queues its delivery by push and email (doorstep/hub/delivery.py), so a
notification is never lost to a crash between the two. Reading them back (pages,
unread counts, read marks) is :mod:`doorstep.hub.services.notification_centre`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from doorstep.hub.db import new_id, utcnow
from doorstep.hub.live import publish_after_commit
from doorstep.hub.models_requests import Notification
from doorstep.hub.queue import open_job

TITLES = {
    "event": "Motion at your camera",
    "request": "A police request asks for your footage",
    "request_reminder": "A police request for your footage closes tomorrow",
    "emergency_access": "Emergency: police accessed your footage without consent",
    "clip_accessed": "Police opened a clip you shared",
    "share_received": "An owner shared footage for your request",
}


def title_for(kind: str, payload: dict[str, Any]) -> str:
    """A one-line headline for the notification (push title, email subject, list entry)."""
    template = TITLES.get(kind, kind)
    if kind == "event":
        label = payload.get("label", "motion")
        what = "Someone" if label == "person" else label.capitalize()
        return f"{what} at {payload.get('camera_name', 'your camera')}"
    return template


def _clips(payload: dict[str, Any]) -> str:
    count = payload.get("clips")
    if not isinstance(count, int):
        return "some of your clips"
    return "1 of your clips" if count == 1 else f"{count} of your clips"


def body_for(kind: str, payload: dict[str, Any]) -> str:
    """A sentence of detail; only ids and counts of the recipient's own data go in."""
    if kind == "event":
        score = payload.get("score")
        seen = f" ({round(100 * score)}%)" if payload.get("label") == "person" and score else ""
        return f"{payload.get('label', 'motion').capitalize()}{seen}. Tap to watch."
    if kind in ("request", "request_reminder"):
        incident = payload.get("incident_type", "an incident")
        matching = _clips(payload)
        verb = "matches" if matching.startswith("1 ") else "match"
        return f"About {incident}; {matching} {verb}. You decide what to share."
    if kind == "emergency_access":
        opened = _clips(payload)
        return f"{opened[0].upper()}{opened[1:]} opened for an emergency. See what and why."
    if kind == "clip_accessed":
        return "An officer opened a clip you shared; it can no longer be withdrawn."
    if kind == "share_received":
        count = payload.get("clips")
        return f"{count} clip{'' if count == 1 else 's'} shared with your request."
    return ""


def url_for(kind: str, payload: dict[str, Any]) -> str:
    """The page a notification opens (a path on the hub)."""
    if "request_id" in payload and kind != "share_received":
        return f"/inbox#request-{payload['request_id']}"
    if kind == "share_received" and "request_id" in payload:
        return f"/officer/requests/{payload['request_id']}"
    if "event_id" in payload:
        return f"/events/{payload['event_id']}"
    return "/notifications"


def notify(
    session: Session,
    user_id: str,
    kind: str,
    payload: dict[str, Any],
    *,
    deliver: bool = True,
    note_id: str | None = None,
) -> Notification:
    """Store the notification; once the transaction commits, push it to open pages, and
    queue its delivery by push and email (``deliver=False``: the caller queues it)."""
    note = Notification(id=note_id or new_id(), user_id=user_id, kind=kind, payload=payload)
    session.add(note)
    _announce(session, note.id, user_id, kind, payload, deliver)
    return note


def notify_once(
    session: Session,
    note_id: str,
    user_id: str,
    kind: str,
    payload: dict[str, Any],
    *,
    deliver: bool = True,
) -> bool:
    """:func:`notify` with a fixed id, and nothing if a notification with that id exists
    (even one a concurrent transaction is inserting): returns whether this one was made.

    For announcements that must go once however many requests race to make them; one
    statement (insert or nothing), so no savepoint is needed (SQLite's driver mishandles
    them).
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    made = session.execute(
        insert(Notification)
        .values(id=note_id, user_id=user_id, kind=kind, payload=payload, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
    )
    if getattr(made, "rowcount", 0) != 1:
        return False
    _announce(session, note_id, user_id, kind, payload, deliver)
    return True


def _announce(
    session: Session, note_id: str, user_id: str, kind: str, payload: dict[str, Any], deliver: bool
) -> None:
    message = {
        "type": "notification",
        "id": note_id,
        "kind": kind,
        "title": title_for(kind, payload),
        "url": url_for(kind, payload),
        **payload,
    }
    publish_after_commit(session, user_id, message)
    if deliver:
        queue_delivery(session, note_id)


DELIVERY_BATCH = 200
"""Notifications one ``deliver.notifications`` job carries: a request to 10,000 owners is
50 jobs, not 10,000 (each job is two transactions of the worker's own)."""
_BATCH_KEY = "doorstep.notifications.batch"


def queue_delivery(session: Session, note_id: str) -> None:
    """Add the notification to this transaction's open delivery job, or start a new one.

    The job is queued in the same transaction as the notification, so neither exists
    without the other; a later transaction of the same session starts its own job.
    """
    transaction = session.get_transaction()
    batch = session.info.get(_BATCH_KEY)
    if (
        batch is None
        or batch[0] is not transaction
        or len(batch[1].payload["ids"]) >= DELIVERY_BATCH
    ):
        job = open_job(session, "deliver.notifications", {"ids": []})
        session.info[_BATCH_KEY] = batch = (transaction, job)
    job = batch[1]
    job.payload = {"ids": [*job.payload["ids"], note_id]}  # reassigned: the change is seen
