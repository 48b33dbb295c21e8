"""An owner's timeline: events filtered and paginated, each with its clip and snapshot."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from doorstep.errors import NotFound
from doorstep.hub.deps import EntityId, HubDep, Owner, SessionDep
from doorstep.hub.models import Event
from doorstep.hub.schemas import MAX_INT, AwareDatetime, EventPage, EventPublic
from doorstep.hub.services import events

router = APIRouter(prefix="/events", tags=["events"])


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


@router.get("", response_model=EventPage)
def list_events(
    owner: Owner,
    session: SessionDep,
    camera_id: str | None = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Events starting at or after.")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="Events starting before.")] = None,
    label: Literal["person", "motion"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> EventPage:
    """Events of the caller's cameras, newest first."""
    items, total = events.list_events(
        session,
        owner,
        camera_id=camera_id,
        since=since,
        until=until,
        label=label,
        limit=limit,
        offset=offset,
    )
    return EventPage(
        items=[event_public(e) for e in items], total=total, limit=limit, offset=offset
    )


@router.get("/{event_id}", response_model=EventPublic)
def get_event(event_id: EntityId, owner: Owner, session: SessionDep) -> EventPublic:
    return event_public(events.get_owned_event(session, owner, event_id))


def blob_response(hub: HubDep, sha256: str | None, media_type: str, filename: str) -> FileResponse:
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


@router.get("/{event_id}/clip", response_class=FileResponse)
def get_clip(event_id: EntityId, owner: Owner, session: SessionDep, hub: HubDep) -> FileResponse:
    """The event's MP4 clip (supports `Range`)."""
    event = events.get_owned_event(session, owner, event_id)
    return blob_response(hub, event.clip_sha256, "video/mp4", f"{event.id}.mp4")


@router.get("/{event_id}/snapshot", response_class=FileResponse)
def get_snapshot(
    event_id: EntityId, owner: Owner, session: SessionDep, hub: HubDep
) -> FileResponse:
    event = events.get_owned_event(session, owner, event_id)
    return blob_response(hub, event.snapshot_sha256, "image/jpeg", f"{event.id}.jpg")
