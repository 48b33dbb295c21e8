"""Retention: events and clips older than their camera's retention are deleted.

One exception, a hold, so that neither retention nor deleting a camera can defeat a
request that is still running:

* a clip its owner shared with a police request stays while the officer's access to it
  runs (not revoked, not yet exported, not expired), so a share cannot silently vanish
  before the officer could fetch it;
* a clip offered to an owner who has not answered yet stays until the request's
  deadline (or until it is closed), so the owner can still share what they were asked.

Exported clips live on in the evidence bundle; when a hold ends, the owner's retention
applies again. A camera its owner deleted while footage was held (``deleted_at``) keeps
only the held events, and its row goes once the last of them does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from doorstep.hub.context import LogKey
from doorstep.hub.models import Camera, Event
from doorstep.hub.models_requests import (
    Decision,
    PoliceRequest,
    RequestClip,
    RequestRecipient,
    RequestStatus,
)
from doorstep.hub.services import audit
from doorstep.hub.services.events import delete_events
from doorstep.hub.storage_base import BlobStorage

log = logging.getLogger(__name__)


@dataclass
class PurgedCamera:
    camera_id: str
    events: int
    blobs: int
    older_than: datetime


def _holds(now: datetime) -> Select[str, datetime, str, bool, str]:
    """(event id, end of its hold, request id, shared?, case number) for each clip a
    running request holds."""
    shared = and_(
        RequestClip.shared.is_(True),
        RequestClip.revoked_at.is_(None),
        RequestClip.exported_at.is_(None),
        RequestClip.access_expires_at > now,
    )
    awaiting_answer = and_(
        RequestClip.shared.is_(False),
        RequestRecipient.decision == Decision.pending,
        PoliceRequest.deadline > now,
        PoliceRequest.status == RequestStatus.open,
    )
    return (
        select(
            RequestClip.event_id,
            func.coalesce(RequestClip.access_expires_at, PoliceRequest.deadline),
            RequestClip.request_id,
            RequestClip.shared,
            PoliceRequest.case_number_typed,
        )
        .join(RequestRecipient, RequestRecipient.id == RequestClip.recipient_id)
        .join(PoliceRequest, PoliceRequest.id == RequestClip.request_id)
        .where(or_(shared, awaiting_answer))
    )


def held_for_police(now: datetime) -> Select[str]:
    """Events a running request holds: shared and still open to the officer, or awaiting
    their owner's answer."""
    return select(_holds(now).subquery().c[0])


def hold_ends(session: Session, event_ids: list[str], now: datetime) -> datetime | None:
    """When the last hold on these events ends as things stand (a share may extend it)."""
    if not event_ids:
        return None
    held = _holds(now).where(RequestClip.event_id.in_(event_ids)).subquery()
    return session.scalar(select(func.max(held.c[1])))


@dataclass(frozen=True)
class Hold:
    """Why an event cannot go yet: the request holding it, and until when."""

    request_id: str
    case_number: str
    shared: bool  # shared with the officer (else: offered, its owner has not answered)
    until: datetime


def holds_on(session: Session, event_id: str, now: datetime) -> list[Hold]:
    """The running requests holding this event, the one that ends last first."""
    rows = session.execute(_holds(now).where(RequestClip.event_id == event_id)).all()
    found = [Hold(request_id, case, shared, until) for _, until, request_id, shared, case in rows]
    return sorted(found, key=lambda h: h.until, reverse=True)


def purge_expired(
    session: Session, storage: BlobStorage, log_key: LogKey, now: datetime
) -> list[PurgedCamera]:
    """Delete what each camera no longer keeps; one summary per camera touched."""
    purged: list[PurgedCamera] = []
    for camera in list(session.scalars(select(Camera))):
        # a deleted camera keeps nothing but what is held
        cutoff = now if camera.deleted_at else now - timedelta(days=camera.retention_days)
        query = select(Event).where(
            Event.camera_id == camera.id, Event.id.not_in(held_for_police(now))
        )
        if camera.deleted_at is None:
            query = query.where(Event.start_time < cutoff)
        expired = list(session.scalars(query))
        if expired:
            blobs = delete_events(session, storage, expired)
            purged.append(PurgedCamera(camera.id, len(expired), blobs, cutoff))
            audit.record(
                session,
                log_key,
                audit.SYSTEM,
                "retention.delete",
                f"camera:{camera.id}",
                {"events": len(expired), "files": blobs, "older_than": cutoff.isoformat()},
                now=now,
            )
            log.info(
                "retention: camera %s: deleted %d events and %d files older than %s",
                camera.id,
                len(expired),
                blobs,
                cutoff.isoformat(),
            )
        if camera.deleted_at is not None and not session.scalar(
            select(Event.id).where(Event.camera_id == camera.id).limit(1)
        ):
            session.delete(camera)  # its hold has ended: the deletion completes
            session.flush()
    return purged
