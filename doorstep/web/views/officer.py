"""Officer and supervisor pages: draw a request, follow it, watch and export what was shared.

Everything shown here comes from the same officer view as the API
(`RequestOfficerView`): counts and shared clips only, never who declined.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from doorstep import geo
from doorstep.errors import Conflict, DoorstepError
from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, HubDep, SessionDep
from doorstep.hub.models import User
from doorstep.hub.models_requests import IncidentType
from doorstep.hub.responses import evidence_response, shared_clip_response, shared_snapshot_response
from doorstep.hub.schemas_requests import DisclosureCreate, RequestCreate
from doorstep.hub.services import audit, disclosures, receipts, requests
from doorstep.web.forms import FormErrors, FormFields, domain_error_as_form, parse_form
from doorstep.web.render import render
from doorstep.web.session import CSRF, web_roles

router = APIRouter(prefix="/officer", include_in_schema=False)
Officer = Annotated[User, web_roles("officer", "supervisor")]
Supervisor = Annotated[User, web_roles("supervisor")]
FIELD_ALIASES = {"start": "start_time", "end": "end_time"}
DRAW_AREA = "Draw the area on the map."
PLACEHOLDER_AREA: dict[str, Any] = {}  # stands in for a missing area so other fields validate


def form_context(
    hub: HubDep,
    session: SessionDep,
    officer: User,
    values: dict[str, str],
    errors: dict[str, str],
) -> dict[str, Any]:
    settings = hub.settings
    return {
        "values": values,
        "errors": {FIELD_ALIASES.get(k, k): v for k, v in errors.items()},
        "incident_types": [t.value for t in IncidentType],
        "min_sq_mi": settings.request_min_area_sq_mi,
        "max_sq_mi": settings.request_max_area_sq_mi,
        "min_window_minutes": int(geo.MIN_WINDOW.total_seconds() // 60),
        "max_window_minutes": int(geo.MAX_WINDOW.total_seconds() // 60),
        "max_age_days": geo.MAX_WINDOW_AGE.days,
        "tile_url": settings.map_tile_url,
        "attribution": settings.map_attribution,
        "geocoder_url": settings.geocoder_url,
        "centre": list(settings.map_center),
        "markers": known_cameras(session, officer),
    }


def known_cameras(session: SessionDep, officer: User) -> list[dict[str, Any]]:
    """The cameras this officer may see on a map: those whose owners shared their
    location with one of the agency's requests (officers learn no other camera's place)."""
    seen: dict[tuple[str, float, float], dict[str, Any]] = {}
    for police_request in requests.list_requests(session, officer)[:100]:  # the latest
        for clip in requests.shared_clips(session, police_request):
            if clip.location:
                lat, lon = clip.location["latitude"], clip.location["longitude"]
                seen.setdefault(
                    (clip.camera_name, lat, lon), {"name": clip.camera_name, "lat": lat, "lon": lon}
                )
    return list(seen.values())


def default_window(now: datetime) -> dict[str, str]:
    end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    fmt = "%Y-%m-%dT%H:%M"
    return {"start_time": (end - timedelta(hours=1)).strftime(fmt), "end_time": end.strftime(fmt)}


@router.get("/requests")
def request_list(request: Request, officer: Officer, session: SessionDep) -> Response:
    views = [requests.officer_view(session, r) for r in requests.list_requests(session, officer)]
    return render(request, "officer_requests.html", {"requests": views}, user=officer)


@router.get("/new")
def new_request_page(
    request: Request, officer: Officer, session: SessionDep, hub: HubDep
) -> Response:
    context = form_context(hub, session, officer, default_window(utcnow()), {})
    return render(request, "officer_new.html", context, user=officer)


def _as_utc(value: str) -> str:
    """`datetime-local` inputs carry no zone; the form labels them UTC."""
    return value + ":00+00:00" if value and len(value) == 16 else value


def _area_from_form(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The drawn area, or the message that asks for one."""
    if not text:
        return None, DRAW_AREA
    try:
        area = json.loads(text)
    except json.JSONDecodeError:
        return None, DRAW_AREA
    return (area, None) if isinstance(area, dict) else (None, DRAW_AREA)


def _precheck(hub: HubDep, data: RequestCreate) -> dict[str, str]:
    """Every limit the service would refuse, found at once (the service stops at the
    first): the area's size and shape, the window, a case number with no letters."""
    settings = hub.settings
    errors: dict[str, str] = {}
    checks = (
        lambda: geo.parse_area(
            data.area,
            min_sq_mi=settings.request_min_area_sq_mi,
            max_sq_mi=settings.request_max_area_sq_mi,
            min_compactness=settings.request_min_compactness,
        ),
        lambda: geo.validate_window(data.start_time, data.end_time, utcnow()),
    )
    for check in checks:
        try:
            check()
        except DoorstepError as exc:
            errors.setdefault(exc.field or "form", exc.message)
    if not requests.canonical_case_number(data.case_number):
        errors.setdefault("case_number", "The case number has no letters or digits.")
    return errors


@router.post("/new", dependencies=[CSRF])
def create_request(
    request: Request, form: FormFields, officer: Officer, session: SessionDep, hub: HubDep
) -> Response:
    """Reports every field's error at once, the missing area among them."""
    fields = ("incident_type", "case_number", "reason", "contact", "area", "start_time", "end_time")
    values = {k: form.get(k, "") for k in (*fields, "justification")}
    values["emergency"] = "on" if form.get("emergency") == "on" else ""
    area, area_error = _area_from_form(values["area"])
    try:
        try:
            data = parse_form(
                RequestCreate,
                {
                    **values,
                    "area": area if area is not None else PLACEHOLDER_AREA,
                    "start_time": _as_utc(values["start_time"]),
                    "end_time": _as_utc(values["end_time"]),
                    "emergency": values["emergency"] == "on",
                    "justification": values["justification"] or None,
                },
            )
        except FormErrors as exc:
            raise FormErrors(_with_area(exc.errors, area_error), values) from None
        errors = _with_area(_precheck(hub, data) if area is not None else {}, area_error)
        if errors:
            raise FormErrors(errors, values)
        try:
            created = requests.create_request(hub, session, officer, data, utcnow())
        except DoorstepError as exc:
            raise domain_error_as_form(exc, values) from None
    except FormErrors as exc:
        context = form_context(hub, session, officer, values, exc.errors)
        return render(request, "officer_new.html", context, user=officer, status_code=422)
    return RedirectResponse(f"/officer/requests/{created.id}", status_code=303)


def _with_area(errors: dict[str, str], area_error: str | None) -> dict[str, str]:
    """A missing area is reported beside the others; the schema's own area message
    (about the placeholder) would only confuse."""
    if area_error is None:
        return errors
    return {**{k: v for k, v in errors.items() if k != "area"}, "area": area_error}


def _request_page(
    request: Request,
    officer: User,
    session: SessionDep,
    hub: HubDep,
    request_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    police_request = requests.get_request(session, officer, request_id)
    view = requests.officer_view(session, police_request)
    markers = [
        {"name": c.camera_name, "lat": c.location["latitude"], "lon": c.location["longitude"]}
        for c in view.clips
        if c.location  # only where the owner chose to share the camera's location
    ]
    decides = (
        officer.role == "supervisor"
        and view.emergency_status == "pending"
        and view.status != "closed"
    )
    context = {
        "req": view,
        "markers": markers,
        "tile_url": hub.settings.map_tile_url,
        "can_approve": decides and officer.id != police_request.officer_id,
        "can_reject": decides,
        "error": error,
        "receipts": receipts.own_receipts(session, officer, audit.request_subject(request_id)),
    }
    return render(
        request,
        "officer_request.html",
        context,
        user=officer,
        public_keys=("req",),
        status_code=status_code,
    )


@router.get("/requests/{request_id}")
def request_page(
    request: Request, request_id: EntityId, officer: Officer, session: SessionDep, hub: HubDep
) -> Response:
    return _request_page(request, officer, session, hub, request_id)


@router.get("/requests/{request_id}/clips/{event_id}")
def shared_clip(
    request_id: EntityId,
    event_id: EntityId,
    officer: Officer,
    session: SessionDep,
    hub: HubDep,
    download: Annotated[bool, Query()] = False,
) -> Response:
    return shared_clip_response(hub, session, officer, request_id, event_id, download=download)


@router.get("/requests/{request_id}/clips/{event_id}/snapshot")
def shared_snapshot(
    request_id: EntityId, event_id: EntityId, officer: Officer, session: SessionDep, hub: HubDep
) -> Response:
    """The player's poster: shown without fetching the clip, so opening the page is not access."""
    return shared_snapshot_response(hub, session, officer, request_id, event_id)


@router.post("/requests/{request_id}/evidence", dependencies=[CSRF])
def export_evidence(
    request_id: EntityId, officer: Officer, session: SessionDep, hub: HubDep
) -> Response:
    return evidence_response(hub, session, officer, request_id)


@router.post("/requests/{request_id}/close", dependencies=[CSRF])
def close(request_id: EntityId, officer: Officer, session: SessionDep, hub: HubDep) -> Response:
    requests.close_request(hub, session, officer, request_id, utcnow())
    return RedirectResponse(f"/officer/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/approve", dependencies=[CSRF])
def approve(
    request: Request,
    request_id: EntityId,
    form: FormFields,
    supervisor: Supervisor,
    session: SessionDep,
    hub: HubDep,
) -> Response:
    """Irreversible (owners' footage without their consent): only with the box ticked."""
    if form.get("confirm") != "on":
        error = "Tick the box to confirm: approval gives access without the owners' consent."
        return _request_page(
            request, supervisor, session, hub, request_id, error=error, status_code=422
        )
    try:
        requests.approve_emergency(hub, session, supervisor, request_id, utcnow())
    except Conflict as exc:
        return _request_page(
            request, supervisor, session, hub, request_id, error=exc.message, status_code=409
        )
    return RedirectResponse(f"/officer/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/reject", dependencies=[CSRF])
def reject(
    request: Request, request_id: EntityId, supervisor: Supervisor, session: SessionDep, hub: HubDep
) -> Response:
    try:
        requests.reject_emergency(hub, session, supervisor, request_id, utcnow())
    except Conflict as exc:
        return _request_page(
            request, supervisor, session, hub, request_id, error=exc.message, status_code=409
        )
    return RedirectResponse(f"/officer/requests/{request_id}", status_code=303)


@router.get("/approvals")
def approvals(request: Request, supervisor: Supervisor, session: SessionDep) -> Response:
    views = [requests.officer_view(session, r) for r in requests.list_requests(session, supervisor)]
    pending = [v for v in views if v.emergency and v.emergency_status == "pending"]
    return render(
        request, "officer_requests.html", {"requests": pending, "approvals": True}, user=supervisor
    )


@router.get("/disclosures")
def disclosures_page(request: Request, officer: Officer, session: SessionDep) -> Response:
    context = {"items": disclosures.public_for(session, officer.id), "errors": {}, "values": {}}
    return render(
        request, "officer_disclosures.html", context, user=officer, public_keys=("items",)
    )


@router.post("/disclosures", dependencies=[CSRF])
def add_disclosure(
    request: Request, form: FormFields, officer: Officer, session: SessionDep
) -> Response:
    values = {k: form.get(k, "") for k in ("vendor", "what", "value", "currency", "received_on")}
    try:
        data = parse_form(DisclosureCreate, values)
        disclosures.create(session, officer, data)
    except FormErrors as exc:
        context = {
            "items": disclosures.public_for(session, officer.id),
            "errors": exc.errors,
            "values": values,
        }
        return render(request, "officer_disclosures.html", context, user=officer, status_code=422)
    return RedirectResponse("/officer/disclosures", status_code=303)
