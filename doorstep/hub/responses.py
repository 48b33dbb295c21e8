"""Replies that the API routes and the web pages both send: one shape, one place.

Routes and pages import these instead of each other, so the HTTP API and the pages
cannot drift apart and no route module depends on another.
"""

from __future__ import annotations

from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from doorstep.errors import NotFound
from doorstep.hub.context import Hub
from doorstep.hub.db import utcnow
from doorstep.hub.models import Event, User
from doorstep.hub.schemas import EventPublic
from doorstep.hub.services import evidence


def event_public(event: Event) -> EventPublic:
    return EventPublic(
        id=event.id,
        camera_id=event.camera_id,
        start_time=event.start_time,
        end_time=event.end_time,
        label=event.label,
        score=event.score,
        box=event.box,
        has_clip=event.clip_sha256 is not None,
        has_snapshot=event.snapshot_sha256 is not None,
        clip_sha256=event.clip_sha256,
        clip_size=event.clip_size,
    )


def blob_response(hub: Hub, sha256: str | None, media_type: str, filename: str) -> FileResponse:
    """Serve a stored blob; Range requests get 206 so players can seek."""
    if sha256 is None:
        raise NotFound("this event has no such file (yet)")
    return FileResponse(
        hub.storage.open(sha256),
        media_type=media_type,
        filename=filename,
        content_disposition_type="inline",
        headers={"ETag": f'"{sha256}"', "Cache-Control": "private, max-age=3600"},
    )


def shared_clip_response(
    hub: Hub, session: Session, user: User, request_id: str, event_id: str, *, download: bool
) -> FileResponse:
    """Serve a shared clip to an officer (API and pages alike); every fetch is audited."""
    try:
        access = evidence.open_clip(
            hub, session, user, request_id, event_id, utcnow(), download=download
        )
    except evidence.AccessExpired:
        session.commit()  # the refusal's audit row must survive the error reply
        raise
    return FileResponse(
        access.path,
        media_type="video/mp4",
        filename=f"{access.event.id}.mp4",
        content_disposition_type="attachment" if download else "inline",
        headers={"Cache-Control": "no-store"},
    )


def shared_snapshot_response(
    hub: Hub, session: Session, user: User, request_id: str, event_id: str
) -> FileResponse:
    """A shared clip's snapshot, the player's poster: the clip's access rules apply, but
    showing it is not access to the footage, so it is not logged (docs/requests.md)."""
    event, path = evidence.open_snapshot(hub, session, user, request_id, event_id, utcnow())
    return FileResponse(
        path,
        media_type="image/jpeg",
        filename=f"{event.id}.jpg",
        content_disposition_type="inline",
        headers={"Cache-Control": "no-store"},
    )


def evidence_response(hub: Hub, session: Session, user: User, request_id: str) -> FileResponse:
    """Export the signed bundle; the export is committed before the bundle leaves the hub."""
    path = evidence.export(hub, session, user, request_id, utcnow())
    session.commit()
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"evidence-{request_id}.zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
