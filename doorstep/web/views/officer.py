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


def form_context(hub: HubDep, values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    settings = hub.settings
    return {
        "values": values,
        "errors": {FIELD_ALIASES.get(k, k): v for k, v in errors.items()},
        "incident_types": [t.value for t in IncidentType],
        "min_sq_mi": settings.request_min_area_sq_mi,
        "max_sq_mi": settings.request_max_area_sq_mi,
        "tile_url": settings.map_tile_url,
        "attribution": settings.map_attribution,
        "centre": list(settings.map_center),
    }


def default_window(now: datetime) -> dict[str, str]:
    end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    fmt = "%Y-%m-%dT%H:%M"
    return {"start_time": (end - timedelta(hours=1)).strftime(fmt), "end_time": end.strftime(fmt)}


@router.get("/requests")
def request_list(request: Request, officer: Officer, session: SessionDep) -> Response:
    views = [requests.officer_view(session, r) for r in requests.list_requests(session, officer)]
    return render(request, "officer_requests.html", {"requests": views}, user=officer)


@router.get("/new")
def new_request_page(request: Request, officer: Officer, hub: HubDep) -> Response:
    context = form_context(hub, default_window(utcnow()), {})
    return render(request, "officer_new.html", context, user=officer)


def _as_utc(value: str) -> str:
    """`datetime-local` inputs carry no zone; the form labels them UTC."""
    return value + ":00+00:00" if value and len(value) == 16 else value


@router.post("/new", dependencies=[CSRF])
def create_request(
    request: Request, form: FormFields, officer: Officer, session: SessionDep, hub: HubDep
) -> Response:
    fields = ("incident_type", "case_number", "reason", "contact", "area", "start_time", "end_time")
    values = {k: form.get(k, "") for k in (*fields, "justification")}
    values["emergency"] = "on" if form.get("emergency") == "on" else ""
    try:
        try:
            area = json.loads(values["area"]) if values["area"] else None
        except json.JSONDecodeError:
            raise FormErrors({"area": "Draw the area on the map."}, values) from None
        if area is None:
            raise FormErrors({"area": "Draw the area on the map."}, values)
        data = parse_form(
            RequestCreate,
            {
                **values,
                "area": area,
                "start_time": _as_utc(values["start_time"]),
                "end_time": _as_utc(values["end_time"]),
                "emergency": values["emergency"] == "on",
                "justification": values["justification"] or None,
            },
        )
        try:
            created = requests.create_request(hub, session, officer, data, utcnow())
        except DoorstepError as exc:
            raise domain_error_as_form(exc, values) from None
    except FormErrors as exc:
        context = form_context(hub, values, exc.errors)
        return render(request, "officer_new.html", context, user=officer, status_code=422)
    return RedirectResponse(f"/officer/requests/{created.id}", status_code=303)


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
