"""Owner pages: cameras, timeline, clip player, settings, zone editor, live updates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import func, select

from doorstep.errors import Conflict
from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, HubDep, SessionDep
from doorstep.hub.models import Camera, Event
from doorstep.hub.responses import blob_response, event_public, owner_clip_response
from doorstep.hub.schemas import (
    EVENT_LABELS,
    AgentSettingsUpdate,
    CameraCreate,
    CameraPublic,
    CameraUpdate,
)
from doorstep.hub.services import cameras, deletion, events
from doorstep.web.forms import FormErrors, FormFields, parse_form
from doorstep.web.render import render
from doorstep.web.session import CSRF, WebOwner, WebUser

router = APIRouter(include_in_schema=False)
LIVE_KEEPALIVE_SECONDS = 15


def camera_rows(session: SessionDep, owner: Any) -> list[dict[str, Any]]:
    """Each camera with its last event time and a status a person understands."""
    last = dict(
        session.execute(
            select(Event.camera_id, func.max(Event.start_time))
            .join(Camera)
            .where(Camera.owner_id == owner.id)
            .group_by(Event.camera_id)
        ).all()
    )
    now = datetime.now(UTC)
    rows = []
    for camera in cameras.list_cameras(session, owner):
        seen = camera.last_seen_at
        if seen is None:
            status = "never connected"
        elif now - seen < timedelta(minutes=15):
            status = "active"
        else:
            status = "quiet"
        rows.append(
            {
                "camera": CameraPublic.model_validate(camera),
                "last_event": last.get(camera.id),
                "status": status,
            }
        )
    return rows


def cameras_context(
    session: SessionDep,
    owner: Any,
    hub: HubDep,
    errors: dict[str, str],
    values: dict[str, str],
    new_key: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The cameras page; its map picker (picker.js) opens on the owner's first camera,
    or the deployment's centre."""
    rows = camera_rows(session, owner)
    first = rows[0]["camera"] if rows else None
    centre = [first.latitude, first.longitude] if first else list(hub.settings.map_center)
    return {
        "rows": rows,
        "errors": errors,
        "values": values,
        "new_key": new_key,
        "picker": {
            "tiles": hub.settings.map_tile_url,
            "attribution": hub.settings.map_attribution,
            "centre": centre,
        },
    }


@router.get("/cameras")
def cameras_page(request: Request, owner: WebOwner, session: SessionDep, hub: HubDep) -> Response:
    context = cameras_context(session, owner, hub, {}, {})
    return render(request, "cameras.html", context, user=owner, public_keys=("rows",))


@router.post("/cameras", dependencies=[CSRF])
def add_camera(
    request: Request, form: FormFields, owner: WebOwner, session: SessionDep, hub: HubDep
) -> Response:
    values = {k: form.get(k, "") for k in ("name", "latitude", "longitude", "retention_days")}
    try:
        data = parse_form(CameraCreate, values)
    except FormErrors as exc:
        context = cameras_context(session, owner, hub, exc.errors, values)
        return render(request, "cameras.html", context, user=owner, status_code=422)
    camera, key = cameras.create_camera(session, owner, data)
    new_key = {"camera": camera.name, "camera_id": camera.id, "key": key}
    context = cameras_context(session, owner, hub, {}, {}, new_key)
    return render(request, "cameras.html", context, user=owner, status_code=201)


def latest_snapshot_event(session: SessionDep, camera: Camera) -> Event | None:
    query = (
        select(Event)
        .where(Event.camera_id == camera.id, Event.snapshot_sha256.is_not(None))
        .order_by(Event.start_time.desc())
        .limit(1)
    )
    return session.scalar(query)


def webhook_lines(text: str) -> list[str]:
    """The webhook box: one URL per line (commas separate too), blank lines skipped, so a
    bad line is reported whole ("'not a url' is not ...") and by its number."""
    return [part.strip() for line in text.splitlines() for part in line.split(",") if part.strip()]


def camera_context(
    session: SessionDep,
    camera: Camera,
    errors: dict[str, str],
    typed: dict[str, Any] | None = None,
    saved: bool = False,
) -> dict[str, Any]:
    """The camera page; after a failed save ``typed`` (what the owner typed) fills the
    form, so the errors stand beside the values they are about."""
    snapshot = latest_snapshot_event(session, camera)
    form = typed or {
        "name": camera.name,
        "retention_days": camera.retention_days,
        "opt_out_requests": camera.opt_out_requests,
        "webhook_urls": "\n".join(camera.agent_config.get("webhook_urls") or []),
    }
    return {
        "camera": CameraPublic.model_validate(camera),
        "snapshot_event_id": snapshot.id if snapshot else None,
        "mqtt_topics": {
            "motion": f"doorstep/{camera.id}/motion",
            "events": f"doorstep/{camera.id}/events",
            "available": "doorstep/available",
        },
        "errors": errors,
        "saved": saved,
        "form": form,
    }


@router.get("/cameras/{camera_id}")
def camera_page(
    request: Request, camera_id: EntityId, owner: WebOwner, session: SessionDep, hub: HubDep
) -> Response:
    camera = cameras.get_owned_camera(session, owner, camera_id)
    saved = request.query_params.get("saved") == "1"
    context = camera_context(session, camera, {}, saved=saved)
    public = ("camera", "snapshot_event_id", "mqtt_topics")
    return render(request, "camera.html", context, user=owner, public_keys=public)


@router.post("/cameras/{camera_id}", dependencies=[CSRF])
def save_camera(
    request: Request,
    camera_id: EntityId,
    form: FormFields,
    owner: WebOwner,
    session: SessionDep,
    hub: HubDep,
) -> Response:
    """The camera page's form, validated by the API's own CameraUpdate; a failed save
    shows every error at once beside what was typed."""
    camera = cameras.get_owned_camera(session, owner, camera_id)
    typed: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "retention_days": form.get("retention_days", "").strip(),
        "opt_out_requests": form.get("opt_out_requests") == "on",
        "webhook_urls": form.get("webhook_urls", ""),
    }
    values = {k: v for k, v in typed.items() if k != "webhook_urls"}
    values["agent_config"] = {"webhook_urls": webhook_lines(typed["webhook_urls"])}
    errors = {k: "This field is required" for k in ("name", "retention_days") if not values[k]}
    try:
        data = parse_form(CameraUpdate, values)
    except FormErrors as exc:
        # the form's only agent setting is the list of webhook URLs
        found = {("webhook_urls" if k == "agent_config" else k): v for k, v in exc.errors.items()}
        errors = {**found, **errors}
    if errors:
        context = camera_context(session, camera, errors, typed)
        return render(request, "camera.html", context, user=owner, status_code=422)
    cameras.update_camera(hub, session, owner, camera, data, utcnow())
    return RedirectResponse(f"/cameras/{camera.id}?saved=1", status_code=303)


@router.post("/cameras/{camera_id}/zones", dependencies=[CSRF])
def save_zones(
    camera_id: EntityId,
    body: Annotated[AgentSettingsUpdate, Body()],
    owner: WebOwner,
    session: SessionDep,
    hub: HubDep,
) -> dict[str, Any]:
    """Store zones and masks; the agent picks them up from /api/v1/ingest/config."""
    camera = cameras.get_owned_camera(session, owner, camera_id)
    zones = AgentSettingsUpdate(zones=body.zones or [], masks=body.masks or [])
    update = CameraUpdate(agent_config=zones)
    cameras.update_camera(hub, session, owner, camera, update, utcnow())
    return {"saved": True, "zones": zones.zones, "masks": zones.masks}


@router.get("/timeline")
def timeline(
    request: Request,
    owner: WebOwner,
    session: SessionDep,
    camera_id: str | None = None,
    label: str | None = None,
    zone: str | None = None,
    day: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    since = until = None
    errors: dict[str, str] = {}
    if day:
        try:
            since = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
            until = since + timedelta(days=1)
        except (ValueError, OverflowError):  # not a date, or 9999-12-31 (no next day)
            since = until = None
            errors["day"] = "Use a date like 2026-11-23"
    if label not in (None, "", *EVENT_LABELS):
        errors["label"] = "Choose one of " + ", ".join(EVENT_LABELS)
        label = None
    zone_names = events.zone_names(session, owner)
    if zone and zone not in zone_names:
        errors["zone"] = "No event entered a zone of that name"  # so none can match
    per_page = 24
    items, total = events.list_events(
        session,
        owner,
        camera_id=camera_id or None,
        since=since,
        until=until,
        label=label or None,
        zone=zone or None,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    names = {c.id: c.name for c in cameras.list_cameras(session, owner)}
    context = {
        "events": [event_public(e) for e in items],
        "total": total,
        "page": page,
        "pages": max(1, -(-total // per_page)),
        "camera_names": names,
        "labels": EVENT_LABELS,
        "zone_names": zone_names,
        "filters": {
            "camera_id": camera_id or "",
            "label": label or "",
            "zone": zone or "",
            "day": day or "",
        },
        "errors": errors,
    }
    public = ("events", "total", "page", "pages", "filters")
    return render(request, "timeline.html", context, user=owner, public_keys=public)


@router.get("/events/{event_id}")
def event_page(
    request: Request, event_id: EntityId, owner: WebOwner, session: SessionDep
) -> Response:
    event = events.get_owned_event(session, owner, event_id)
    context = {"event": event_public(event), "camera_name": event.camera.name}
    context["hold"] = deletion.current_hold(session, event.id, utcnow())  # _event_delete.html
    return render(request, "event.html", context, user=owner)


@router.post("/events/{event_id}/delete", dependencies=[CSRF])
def delete_event(event_id: EntityId, owner: WebOwner, session: SessionDep, hub: HubDep) -> Response:
    """The event page's confirmed delete; a hold that began since the page was loaded
    sends the owner back to the page, which then says why and until when."""
    try:
        deletion.delete_event(hub, session, owner, event_id, utcnow())
    except Conflict:
        return RedirectResponse(f"/events/{event_id}", status_code=303)
    return RedirectResponse("/timeline", status_code=303)


@router.get("/media/events/{event_id}/clip")
def event_clip(
    event_id: EntityId, owner: WebOwner, session: SessionDep, hub: HubDep, download: str = ""
) -> Response:
    """The player's source, and with ``?download=1`` the named attachment."""
    event = events.get_owned_event(session, owner, event_id)
    return owner_clip_response(hub, owner, event, download=download == "1")


@router.get("/media/events/{event_id}/snapshot")
def event_snapshot(
    event_id: EntityId, owner: WebOwner, session: SessionDep, hub: HubDep
) -> Response:
    event = events.get_owned_event(session, owner, event_id)
    return blob_response(hub, event.snapshot_sha256, "image/jpeg", f"{event.id}.jpg")


def _sse(message: dict[str, Any]) -> bytes:
    return f"event: {message.get('type', 'message')}\ndata: {json.dumps(message)}\n\n".encode()


async def _stream(request: Request, hub: Any, user_id: str) -> AsyncIterator[bytes]:
    queue = hub.live.subscribe(user_id)
    try:
        yield b": connected\n\n"
        while not await request.is_disconnected():
            try:
                message = await asyncio.wait_for(queue.get(), LIVE_KEEPALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            yield _sse(message)
    finally:
        hub.live.unsubscribe(user_id, queue)


@router.get("/live/stream")
def live_stream(request: Request, user: WebUser, hub: HubDep) -> StreamingResponse:
    """Server-sent events: new events and police-request notifications, as they happen."""
    return StreamingResponse(
        _stream(request, hub, user.id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
