"""Retention: events and clips older than their camera's retention are deleted.

One exception, a hold: a clip its owner shared with a police request stays while the
officer's access to it runs (not revoked, not yet exported, not expired), so a share
cannot silently vanish before the officer could fetch it. Exported clips live on in
the evidence bundle; when access expires, the owner's retention applies again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from doorstep.hub.models import Camera, Event
from doorstep.hub.models_requests import RequestClip
from doorstep.hub.services import audit
from doorstep.hub.services.events import delete_events
from doorstep.hub.storage import BlobStorage

log = logging.getLogger(__name__)


@dataclass
class PurgedCamera:
    camera_id: str
    events: int
    blobs: int
    older_than: datetime


def held_for_police(now: datetime) -> Select[str]:
    """Events whose share with a request is still open to the officer."""
    return select(RequestClip.event_id).where(
        RequestClip.shared.is_(True),
        RequestClip.revoked_at.is_(None),
        RequestClip.exported_at.is_(None),
        RequestClip.access_expires_at > now,
    )


def purge_expired(session: Session, storage: BlobStorage, now: datetime) -> list[PurgedCamera]:
    """Delete what each camera no longer keeps; one summary per camera touched."""
    purged: list[PurgedCamera] = []
    for camera in session.scalars(select(Camera)):
        cutoff = now - timedelta(days=camera.retention_days)
        query = select(Event).where(
            Event.camera_id == camera.id,
            Event.start_time < cutoff,
            Event.id.not_in(held_for_police(now)),
        )
        expired = list(session.scalars(query))
        if not expired:
            continue
        blobs = delete_events(session, storage, expired)
        purged.append(PurgedCamera(camera.id, len(expired), blobs, cutoff))
        audit.record(
            session,
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
    return purged
