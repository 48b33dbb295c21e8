"""An owner deletes one event: its clip and snapshot go too, unless police hold it.

One path for the API and the event page. The holds are retention's own
(:func:`doorstep.hub.services.retention.holds_on`): footage shared with an officer whose
access still runs, or offered in an open request its owner has not answered yet. A held
event is refused with 409 and a sentence saying which request holds it and until when.
Blobs are content-addressed, so a clip or snapshot goes only when no other event refers
to it (:func:`doorstep.hub.services.events.delete_events`, what retention calls too).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from doorstep.errors import Conflict
from doorstep.hub.context import Hub
from doorstep.hub.models import User
from doorstep.hub.services import audit
from doorstep.hub.services.events import delete_events, get_owned_event
from doorstep.hub.services.retention import Hold, holds_on


def hold_reason(hold: Hold) -> str:
    """A sentence an owner can act on: which request, why, and until when (UTC)."""
    until = hold.until.strftime("%Y-%m-%d %H:%M UTC")
    if hold.shared:
        return (
            f"You shared this clip with police request {hold.case_number}; the officer's "
            f"access runs until {until}, so it cannot be deleted before then."
        )
    return (
        f"This clip is offered in police request {hold.case_number}, which you have not "
        f"answered yet; it is kept until you answer or the deadline, {until}."
    )


def current_hold(session: Session, event_id: str, now: datetime) -> Hold | None:
    """The hold that ends last, what the event page shows instead of its delete button."""
    holds = holds_on(session, event_id, now)
    return holds[0] if holds else None


def delete_event(hub: Hub, session: Session, owner: User, event_id: str, now: datetime) -> int:
    """Delete the owner's event and the files no other event uses; returns files removed.

    Raises NotFound for another owner's event and Conflict when a request holds it.
    """
    event = get_owned_event(session, owner, event_id)
    hold = current_hold(session, event.id, now)
    if hold is not None:
        raise Conflict(hold_reason(hold))
    details = {
        "camera": event.camera_id,
        "start_time": event.start_time.isoformat(),
        "clip_sha256": event.clip_sha256,
        "snapshot_sha256": event.snapshot_sha256,
    }
    removed = delete_events(session, hub.storage, [event])
    audit.log_action(
        hub, session, owner, "event.delete", f"event:{event_id}", {**details, "files": removed}, now
    )
    return removed
