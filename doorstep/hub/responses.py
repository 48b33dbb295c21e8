"""Replies that the API routes and the web pages both send: one shape, one place.

Routes and pages import these instead of each other, so the HTTP API and the pages
cannot drift apart and no route module depends on another.
"""

from __future__ import annotations

from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from doorstep.errors import NotFound
from doorstep.hub import download_names
from doorstep.hub.context import Hub
from doorstep.hub.db import utcnow
from doorstep.hub.models import Event, User
from doorstep.hub.models_requests import PoliceRequest
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
        labels=list(event.labels or []),
        zones=list(event.zones or []),
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


def owner_clip_response(hub: Hub, user: User, event: Event, *, download: bool) -> FileResponse:
    """An owner's clip, named ``<camera>-<YYYYmmdd-HHMMSS>.mp4``; an attachment to download."""
    if event.clip_sha256 is None:
        raise NotFound("this event has no such file (yet)")
    stem = download_names.clip_stem(event.camera.name, event.start_time, user.timezone)
    disposition = "attachment" if download else "inline"
    return FileResponse(
        hub.storage.open(event.clip_sha256),
        media_type="video/mp4",
        headers={
            "ETag": f'"{event.clip_sha256}"',
            "Cache-Control": "private, max-age=3600",
            "Content-Disposition": download_names.content_disposition(disposition, stem, ".mp4"),
        },
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
    stem = download_names.clip_stem(
        access.event.camera.name, access.event.start_time, user.timezone
    )
    disposition = "attachment" if download else "inline"
    return FileResponse(
        access.path,
        media_type="video/mp4",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": download_names.content_disposition(disposition, stem, ".mp4"),
        },
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
    now = utcnow()
    path = evidence.export(hub, session, user, request_id, now)
    session.commit()
    request = session.get(PoliceRequest, request_id)
    case = request.case_number_typed if request else request_id
    stem = download_names.evidence_stem(case, now, user.timezone)
    return FileResponse(
        path,
        media_type="application/zip",
        headers={
            "Content-Disposition": download_names.content_disposition("attachment", stem, ".zip")
        },
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
