"""Which cameras a request reaches: an indexed candidate search, then an exact test.

Without PostGIS the spatial index is the B-tree ``ix_cameras_lat_lon`` on
``(latitude, longitude)``: the candidate query is a range on both columns (the
area's bounding box), which SQLite and PostgreSQL both answer from that index
instead of scanning the table. (A latitude-band grid index was measured against it
in bench/hub_matching.py and gained nothing worth a migration: BENCHMARKS.md.)
Candidates are then tested exactly against the area's polygon with shapely, all at
once (:func:`doorstep.geo.contains_many`), so a camera 5 m outside the boundary is
never asked, whatever the bounding box says.

Events "in the window" overlap it: they start before the window ends and end
(or, still open, start) at or after it starts. Their search uses
``ix_events_camera_start``; an event cannot start more than
:data:`MAX_EVENT_SECONDS` before the window and still overlap it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from doorstep.geo import Area, contains_many
from doorstep.hub.models import Camera, Event, User
from doorstep.hub.schemas import MAX_EVENT_SECONDS


@dataclass
class Match:
    """One owner's cameras in the area, with exactly their events in the window."""

    owner_id: str
    events: list[Event] = field(default_factory=list)

    @property
    def camera_ids(self) -> set[str]:
        return {e.camera_id for e in self.events}


def candidate_query(area: Area) -> Select:  # type: ignore[type-arg]
    """Cameras in the area's bounding box whose owners take requests.

    A range on the (latitude, longitude) index, never a full scan; opted-out cameras
    and accounts are left out in the same query, so they are never matched.
    """
    min_lon, min_lat, max_lon, max_lat = area.bbox
    return (
        select(Camera.id, Camera.latitude, Camera.longitude, Camera.owner_id)
        .join(User, User.id == Camera.owner_id)
        .where(
            Camera.latitude >= min_lat,
            Camera.latitude <= max_lat,
            Camera.longitude >= min_lon,
            Camera.longitude <= max_lon,
            Camera.opt_out_requests == false(),
            Camera.deleted_at.is_(None),
            User.opt_out_requests == false(),
            User.is_active.is_(True),
        )
    )


def cameras_in_area(session: Session, area: Area) -> list[str]:
    """Ids of the cameras that lie in the area (boundary included) and have not opted out."""
    candidates = session.execute(candidate_query(area)).all()
    inside = contains_many(area, [row[2] for row in candidates], [row[1] for row in candidates])
    return [row[0] for row, hit in zip(candidates, inside, strict=True) if hit]


def events_in_window(
    session: Session, camera_ids: list[str], start: datetime, end: datetime
) -> list[Event]:
    if not camera_ids:
        return []
    query = select(Event).where(
        Event.camera_id.in_(camera_ids),
        Event.start_time >= start - timedelta(seconds=MAX_EVENT_SECONDS),
        Event.start_time <= end,
        or_(Event.end_time >= start, (Event.end_time.is_(None)) & (Event.start_time >= start)),
    )
    return list(session.scalars(query.order_by(Event.start_time, Event.id)))


def match(session: Session, area: Area, start: datetime, end: datetime) -> list[Match]:
    """Owners to ask, each with the events of their cameras in the area and window."""
    by_owner: dict[str, Match] = defaultdict(lambda: Match(""))
    for event in events_in_window(session, cameras_in_area(session, area), start, end):
        owner_id = event.camera.owner_id
        entry = by_owner[owner_id]
        entry.owner_id = owner_id
        entry.events.append(event)
    return sorted(by_owner.values(), key=lambda m: m.owner_id)
