"""Events and their clips: idempotent ingest from agents, owners' reads, deletion."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.errors import Conflict, NotFound
from doorstep.hub.db import utcnow
from doorstep.hub.models import Camera, Event, User
from doorstep.hub.schemas import EventCreate
from doorstep.hub.storage_base import BlobStorage


def upsert_event(session: Session, camera: Camera, data: EventCreate) -> tuple[Event, bool]:
    """Create the event, or update it if the agent sends the same id again.

    Two concurrent retries of one new event race to insert it: the loser's insert
    fails on the primary key inside a savepoint, and it updates the winner's row.
    """
    event_id = str(data.id)
    camera.last_seen_at = utcnow()
    event = session.get(Event, event_id)
    if event is None:
        try:
            with session.begin_nested():
                event = Event(
                    id=event_id,
                    camera_id=camera.id,
                    start_time=data.start_time,
                    end_time=data.end_time,
                    label=data.label,
                    score=data.score,
                    box=data.box,
                )
                session.add(event)
            return event, True
        except IntegrityError:
            event = session.get(Event, event_id)
            if event is None:
                raise
    if event.camera_id != camera.id:
        raise Conflict("this event id belongs to another camera", field="id")
    for field in ("end_time", "label", "score", "box"):
        value = getattr(data, field)
        if value is not None:
            setattr(event, field, value)
    session.flush()
    return event, False


def get_camera_event(session: Session, camera: Camera, event_id: str) -> Event:
    event = session.get(Event, event_id)
    if event is None or event.camera_id != camera.id:
        raise NotFound("no such event for this camera; create it first")
    return event


def get_owned_event(session: Session, owner: User, event_id: str) -> Event:
    event = session.get(Event, event_id)
    if event is None or event.camera.owner_id != owner.id:
        raise NotFound("no such event")
    return event


def list_events(
    session: Session,
    owner: User,
    *,
    camera_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    label: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Event], int]:
    """An owner's events, newest first, with the total for pagination."""
    query = select(Event).join(Camera).where(Camera.owner_id == owner.id)
    if camera_id:
        query = query.where(Event.camera_id == camera_id)
    if since:
        query = query.where(Event.start_time >= since)
    if until:
        query = query.where(Event.start_time < until)
    if label:
        query = query.where(Event.label == label)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Event.start_time.desc(), Event.id).limit(limit).offset(offset)
    return list(session.scalars(page)), total


def blob_in_use(session: Session, sha256: str, excluding: Iterable[str] = ()) -> bool:
    excluded = list(excluding)
    for column in (Event.clip_sha256, Event.snapshot_sha256):
        query = select(Event.id).where(column == sha256)
        if excluded:
            query = query.where(Event.id.not_in(excluded))
        if session.scalar(query.limit(1)) is not None:
            return True
    return False


def delete_events(session: Session, storage: BlobStorage, events: list[Event]) -> int:
    """Delete events, then the blobs nothing else refers to; returns blobs removed."""
    ids = [event.id for event in events]
    blobs = {sha for event in events for sha in (event.clip_sha256, event.snapshot_sha256) if sha}
    orphaned = [sha for sha in blobs if not blob_in_use(session, sha, excluding=ids)]
    for event in events:
        session.delete(event)
    session.flush()
    for sha in orphaned:
        storage.delete(sha)
    return len(orphaned)
