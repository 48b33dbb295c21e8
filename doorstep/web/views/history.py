"""The owner's history: one camera's day as a 24-hour bar with its events, and a player.

The bar is an SVG whose x axis is seconds since the day's local midnight, so the server
places every event (the page works without scripts) and history.js zooms by changing
the viewBox. The day is a day in the owner's stored time zone (taken from the browser
at sign-in, changeable in settings); 23 or 25 hours long on a daylight-saving switch.
The same context is the page's JSON (`?format=json`); the API's `GET /api/v1/events`
gives any camera's events in any range (`camera_id`, `since`, `until`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from doorstep.errors import InvalidInput
from doorstep.hub.deps import SessionDep
from doorstep.hub.models import Camera, Event
from doorstep.hub.responses import event_public
from doorstep.hub.services import cameras, events
from doorstep.hub.services.modes import user_zone
from doorstep.web.render import render
from doorstep.web.session import WebOwner

router = APIRouter(include_in_schema=False)
MAX_EVENTS = 1000  # a day's events drawn on one bar; more is summarised, not drawn
MIN_MARK = 1 / 400  # a mark is at least this share of the bar wide, so a 5 s event shows


def parse_day(text: str | None, today: date) -> date:
    if not text:
        return today
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("Use a date like 2026-11-23", field="day") from None
    if day in (date.min, date.max):  # no day before or after it to link to
        raise InvalidInput("Use a date between years 1 and 9999", field="day")
    return day


def _mark(event: Event, start: datetime, length: int, base: str) -> dict[str, Any]:
    """An event's place on the bar, in seconds since the day's start."""
    offset = max(0.0, (event.start_time - start).total_seconds())
    end = event.end_time or event.start_time
    duration = max((end - event.start_time).total_seconds(), length * MIN_MARK)
    public = event_public(event)
    return {
        **public.model_dump(mode="json"),
        "offset_s": round(offset, 1),
        "width_s": round(min(duration, length - offset), 1),
        "link": f"{base}&event={event.id}",
    }


def _pick(marks: list[dict[str, Any]], wanted: str | None) -> int | None:
    """The event to play: the one asked for if it is on this day, else the latest."""
    if not marks:
        return None
    for i, mark in enumerate(marks):
        if mark["id"] == wanted:
            return i
    return len(marks) - 1


def history_context(
    session: SessionDep, owner: Any, camera: Camera | None, day: date, wanted: str | None
) -> dict[str, Any]:
    zone = user_zone(owner)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    length = int((end - start).total_seconds())  # whole: midnights are whole seconds
    marks: list[dict[str, Any]] = []
    total = 0
    if camera is not None:
        items, total = events.list_events(
            session, owner, camera_id=camera.id, since=start, until=end, limit=MAX_EVENTS
        )
        base = f"/history?camera={camera.id}&day={day.isoformat()}"
        marks = [_mark(e, start, length, base) for e in reversed(items)]  # oldest first
    chosen = _pick(marks, wanted)
    return {
        "cameras": [{"id": c.id, "name": c.name} for c in cameras.list_cameras(session, owner)],
        "camera": {"id": camera.id, "name": camera.name} if camera else None,
        "day": day.isoformat(),
        "previous_day": (day - timedelta(days=1)).isoformat(),
        "next_day": (day + timedelta(days=1)).isoformat(),
        "zone": zone.key,
        "start": start,
        "end": end,
        "length_s": length,
        "hours": [h * 3600 for h in range(int(length // 3600) + 1)],
        "events": marks,
        "total": total,
        "selected": marks[chosen] if chosen is not None else None,
        "previous_id": marks[chosen - 1]["id"] if chosen else None,
        "next_id": marks[chosen + 1]["id"]
        if chosen is not None and chosen + 1 < len(marks)
        else None,
    }


@router.get("/history")
def history_page(
    request: Request,
    owner: WebOwner,
    session: SessionDep,
    camera: str | None = None,
    day: str | None = None,
    event: str | None = None,
) -> Response:
    """A camera's day (default: the first camera, today in the owner's zone)."""
    today = datetime.now(user_zone(owner)).date()
    chosen_day = parse_day(day, today)
    if camera:
        shown: Camera | None = cameras.get_owned_camera(session, owner, camera)  # 404 if not
    else:
        owned = cameras.list_cameras(session, owner)
        shown = owned[0] if owned else None
    context = history_context(session, owner, shown, chosen_day, event)
    public = tuple(k for k in context if k != "hours")
    return render(request, "history.html", context, user=owner, public_keys=public)
