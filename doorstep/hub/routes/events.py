"""An owner's timeline: events filtered and paginated, each with its clip and snapshot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field

from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, HubDep, Owner, SessionDep
from doorstep.hub.media import JpegFile, Mp4File
from doorstep.hub.openapi import errors
from doorstep.hub.responses import blob_response, event_public, owner_clip_response
from doorstep.hub.schemas import (
    MAX_INT,
    QUERY_INTEGER,
    AwareDatetime,
    EventLabel,
    EventPage,
    EventPublic,
    QueryBool,
)
from doorstep.hub.services import deletion, events

router = APIRouter(prefix="/events", tags=["events"])


@router.get("", response_model=EventPage)
def list_events(
    owner: Owner,
    session: SessionDep,
    camera_id: str | None = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Events starting at or after.")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="Events starting before.")] = None,
    label: Annotated[
        EventLabel | None,
        Query(description="Events that saw this label; `motion`: those that recognised nothing."),
    ] = None,
    zone: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Events whose motion entered this zone."),
    ] = None,
    limit: Annotated[int, Field(ge=1, le=500), QUERY_INTEGER, Query()] = 50,
    offset: Annotated[int, Field(ge=0, le=MAX_INT), QUERY_INTEGER, Query()] = 0,
) -> EventPage:
    """Events of the caller's cameras, newest first."""
    items, total = events.list_events(
        session,
        owner,
        camera_id=camera_id,
        since=since,
        until=until,
        label=label,
        zone=zone,
        limit=limit,
        offset=offset,
    )
    return EventPage(
        items=[event_public(e) for e in items], total=total, limit=limit, offset=offset
    )


@router.get("/{event_id}", response_model=EventPublic)
def get_event(event_id: EntityId, owner: Owner, session: SessionDep) -> EventPublic:
    return event_public(events.get_owned_event(session, owner, event_id))


@router.delete("/{event_id}", status_code=204, responses=errors(409))
def delete_event(event_id: EntityId, owner: Owner, session: SessionDep, hub: HubDep) -> Response:
    """Delete the event with its clip and snapshot (a file another event shares stays).
    409 while a police request holds it: shared with an officer whose access runs, or
    offered in an open request not yet answered; `detail` says which and until when."""
    deletion.delete_event(hub, session, owner, event_id, utcnow())
    return Response(status_code=204)


@router.get("/{event_id}/clip", response_class=Mp4File)
def get_clip(
    event_id: EntityId,
    owner: Owner,
    session: SessionDep,
    hub: HubDep,
    download: Annotated[
        QueryBool, Query(description="Attachment (download) or inline (view).")
    ] = False,
) -> Response:
    """The event's MP4 clip (supports `Range`), named `<camera>-<YYYYmmdd-HHMMSS>.mp4`."""
    event = events.get_owned_event(session, owner, event_id)
    return owner_clip_response(hub, owner, event, download=download)


@router.get("/{event_id}/snapshot", response_class=JpegFile)
def get_snapshot(event_id: EntityId, owner: Owner, session: SessionDep, hub: HubDep) -> Response:
    event = events.get_owned_event(session, owner, event_id)
    return blob_response(hub, event.snapshot_sha256, "image/jpeg", f"{event.id}.jpg")
