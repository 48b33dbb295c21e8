"""Owner pages for police requests: the inbox with its decisions, and account settings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from doorstep.errors import Conflict, DoorstepError, InvalidInput
from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, HubDep, SessionDep
from doorstep.hub.models import Event
from doorstep.hub.schemas import UserSettings
from doorstep.hub.schemas_reach import zone_names
from doorstep.hub.schemas_requests import DecisionCreate, InboxItem
from doorstep.hub.services import accounts, cameras, inbox, receipts
from doorstep.web.forms import FormFields, RawForm
from doorstep.web.render import render
from doorstep.web.session import CSRF, WebOwner

router = APIRouter(include_in_schema=False)


def inbox_context(
    session: SessionDep, owner: WebOwner, errors: dict[str, str]
) -> dict[str, object]:
    items = inbox.inbox(session, owner, utcnow())
    mine = receipts.by_request(receipts.own_receipts(session, owner))
    return {
        "items": items,
        "errors": errors,
        "tile_url": None,
        "receipts": mine,
        "markers": own_markers(session, owner, items),
        "snapshots": with_snapshots(session, items),
    }


def own_markers(
    session: SessionDep, owner: WebOwner, items: list[InboxItem]
) -> dict[str, list[dict[str, object]]]:
    """Per request, the owner's own cameras to pin on its map: those its clips came from,
    or (no clip left) all of them. Only the owner's own: the page is theirs alone."""
    own = {c.id: c for c in cameras.list_cameras(session, owner)}
    markers: dict[str, list[dict[str, object]]] = {}
    for item in items:
        ids = {clip.camera_id for clip in item.clips if clip.camera_id in own} or set(own)
        markers[item.request_id] = [
            {"name": own[i].name, "lat": own[i].latitude, "lon": own[i].longitude}
            for i in sorted(ids)
        ]
    return markers


def with_snapshots(session: SessionDep, items: list[InboxItem]) -> set[str]:
    """The matching clips that have a snapshot, shown as thumbnails beside them."""
    ids = [clip.event_id for item in items for clip in item.clips]
    if not ids:
        return set()
    query = select(Event.id).where(Event.id.in_(ids), Event.snapshot_sha256.is_not(None))
    return set(session.scalars(query))


@router.get("/inbox")
def inbox_page(request: Request, owner: WebOwner, session: SessionDep, hub: HubDep) -> Response:
    context = inbox_context(session, owner, {})
    context["tile_url"] = hub.settings.map_tile_url
    return render(request, "inbox.html", context, user=owner, public_keys=("items",))


@router.post("/inbox/{request_id}/decision", dependencies=[CSRF])
def decide(
    request: Request,
    request_id: EntityId,
    form: RawForm,
    owner: WebOwner,
    session: SessionDep,
    hub: HubDep,
) -> Response:
    errors: dict[str, str] = {}
    try:
        if form.get("action") == "opt_out" and form.get("confirm_opt_out") != "on":
            raise InvalidInput(
                "Tick the box to confirm: this declines the request and stops every future one."
            )
        data = DecisionCreate(
            action=form.get("action"),  # type: ignore[arg-type]
            event_ids=[str(v) for v in form.getlist("event_ids")],
            share_location=form.get("share_location") == "on",
        )
        inbox.decide(hub, session, owner, request_id, data, utcnow())
    except ValidationError:
        errors[request_id] = "Choose share, share all, decline or opt out."
    except DoorstepError as exc:
        errors[request_id] = exc.message
    if errors:
        context = inbox_context(session, owner, errors)
        context["tile_url"] = hub.settings.map_tile_url
        return render(request, "inbox.html", context, user=owner, status_code=422)
    return RedirectResponse(f"/inbox#request-{request_id}", status_code=303)


@router.post("/inbox/{request_id}/revoke", dependencies=[CSRF])
def revoke(
    request: Request, request_id: EntityId, owner: WebOwner, session: SessionDep, hub: HubDep
) -> Response:
    try:
        inbox.revoke(hub, session, owner, request_id, utcnow())
    except Conflict as exc:  # e.g. viewed since the page was loaded: say so beside it
        context = inbox_context(session, owner, {request_id: exc.message})
        context["tile_url"] = hub.settings.map_tile_url
        return render(request, "inbox.html", context, user=owner, status_code=409)
    return RedirectResponse(f"/inbox#request-{request_id}", status_code=303)


@router.get("/settings")
def settings_page(request: Request, owner: WebOwner) -> Response:
    saved = request.query_params.get("saved") == "1"
    context = {
        "opt_out_requests": owner.opt_out_requests,
        "saved": saved,
        "time_zones": sorted(zone_names()),  # the email block (web/views/preferences.py)
    }
    return render(request, "settings.html", context, user=owner, public_keys=("opt_out_requests",))


@router.post("/settings", dependencies=[CSRF])
def save_settings(form: FormFields, owner: WebOwner, session: SessionDep, hub: HubDep) -> Response:
    data = UserSettings(opt_out_requests=form.get("opt_out_requests") == "on")
    if data.opt_out_requests is not None:
        accounts.set_opt_out(hub, session, owner, data.opt_out_requests, utcnow())
    return RedirectResponse("/settings?saved=1", status_code=303)
