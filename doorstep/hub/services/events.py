"""Events and their clips: idempotent ingest from agents, owners' reads, deletion."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

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
                    labels=merge_labels([], data),
                    zones=merge_zones([], data.zones),
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
    # New lists, not changed ones: SQLAlchemy sees a JSON column change only on assignment.
    event.labels = merge_labels(event.labels or [], data)
    event.zones = merge_zones(event.zones or [], data.zones)
    session.flush()
    return event, False


def merge_labels(stored: list[str], data: EventCreate) -> list[str]:
    """What the event has seen so far: the stored labels, the new ones and its best label.

    ``motion`` is no label of its own (it says nothing was recognised), so it is never
    listed; the order is stable (sorted) so equal sets compare equal.
    """
    seen = set(stored) | set(data.labels) | {data.label}
    return sorted(seen - {"motion"})


def merge_zones(stored: list[str], new: list[str]) -> list[str]:
    """The zones entered so far, in the order they were first entered."""
    return list(dict.fromkeys([*stored, *new]))


def _lists(
    session: Session, column: InstrumentedAttribute[list[str]], value: str
) -> ColumnElement[bool]:
    """Whether the JSON list in ``column`` holds ``value``, exactly (not as a substring).

    PostgreSQL asks ``jsonb ?``; SQLite walks the list with ``json_each``.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(column, JSONB).contains(func.jsonb_build_array(literal(value, String)))
    items = func.json_each(column).table_valued("value").alias("item")
    return exists(select(1).select_from(items).where(items.c.value == value))


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
    zone: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Event], int]:
    """An owner's events, newest first, with the total for pagination.

    ``label`` picks events that saw it (``motion``: those where nothing was recognised);
    ``zone`` those whose motion entered the zone of that name.
    """
    query = select(Event).join(Camera).where(Camera.owner_id == owner.id)
    if camera_id:
        query = query.where(Event.camera_id == camera_id)
    if since:
        query = query.where(Event.start_time >= since)
    if until:
        query = query.where(Event.start_time < until)
    if label == "motion":
        query = query.where(Event.label == "motion")
    elif label:
        query = query.where((Event.label == label) | _lists(session, Event.labels, label))
    if zone:
        query = query.where(_lists(session, Event.zones, zone))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Event.start_time.desc(), Event.id).limit(limit).offset(offset)
    return list(session.scalars(page)), total


def zone_names(session: Session, owner: User, recent: int = 1000) -> list[str]:
    """The zone names the owner's recent events entered, for the timeline's zone filter."""
    query = (
        select(Event.zones)
        .join(Camera)
        .where(Camera.owner_id == owner.id)
        .order_by(Event.start_time.desc())
        .limit(recent)
    )
    return sorted({name for zones in session.scalars(query) for name in zones or []})


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
