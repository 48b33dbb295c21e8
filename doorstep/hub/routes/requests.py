"""Police requests: create, read, close, approve or reject emergencies, shared clips, export.

Replies to officers are :class:`RequestOfficerView`: counts and shared clips only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from doorstep.hub.db import utcnow
from doorstep.hub.deps import CurrentUser, EntityId, HubDep, SessionDep
from doorstep.hub.media import JpegFile, Mp4File, ZipFile
from doorstep.hub.openapi import errors
from doorstep.hub.responses import evidence_response, shared_clip_response, shared_snapshot_response
from doorstep.hub.schemas import QueryBool
from doorstep.hub.schemas_requests import RequestCreate, RequestOfficerView
from doorstep.hub.services import requests

router = APIRouter(prefix="/requests", tags=["requests"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestOfficerView)
def create_request(
    data: RequestCreate, user: CurrentUser, session: SessionDep, hub: HubDep
) -> RequestOfficerView:
    """Ask the owners of cameras in an area for footage of a past window.

    An emergency request reaches nobody until a supervisor of the agency approves it.
    """
    request = requests.create_request(hub, session, user, data, utcnow())
    return requests.officer_view(session, request)


@router.get("", response_model=list[RequestOfficerView])
def list_requests(user: CurrentUser, session: SessionDep) -> list[RequestOfficerView]:
    """The agency's requests (officers, supervisors) or all of them (auditors, admins)."""
    return [requests.officer_view(session, r) for r in requests.list_requests(session, user)]


@router.get("/{request_id}", response_model=RequestOfficerView)
def get_request(request_id: EntityId, user: CurrentUser, session: SessionDep) -> RequestOfficerView:
    return requests.officer_view(session, requests.get_request(session, user, request_id))


@router.post("/{request_id}/close", response_model=RequestOfficerView)
def close_request(
    request_id: EntityId, user: CurrentUser, session: SessionDep, hub: HubDep
) -> RequestOfficerView:
    """Requests are never deleted; closing stops further answers."""
    request = requests.close_request(hub, session, user, request_id, utcnow())
    return requests.officer_view(session, request)


@router.post("/{request_id}/approve", response_model=RequestOfficerView, responses=errors(409))
def approve_emergency(
    request_id: EntityId, user: CurrentUser, session: SessionDep, hub: HubDep
) -> RequestOfficerView:
    """A supervisor of the same agency approves an emergency request; owners are notified."""
    request = requests.approve_emergency(hub, session, user, request_id, utcnow())
    return requests.officer_view(session, request)


@router.post("/{request_id}/reject", response_model=RequestOfficerView, responses=errors(409))
def reject_emergency(
    request_id: EntityId, user: CurrentUser, session: SessionDep, hub: HubDep
) -> RequestOfficerView:
    """A supervisor of the same agency rejects an emergency request; no owner is told."""
    request = requests.reject_emergency(hub, session, user, request_id, utcnow())
    return requests.officer_view(session, request)


@router.get("/{request_id}/clips/{event_id}", response_class=Mp4File, responses=errors(410))
def get_shared_clip(
    request_id: EntityId,
    event_id: EntityId,
    user: CurrentUser,
    session: SessionDep,
    hub: HubDep,
    download: Annotated[
        QueryBool, Query(description="Attachment (download) or inline (view).")
    ] = False,
) -> Response:
    """A shared clip; logged as a view or download. 410 once access has expired."""
    return shared_clip_response(hub, session, user, request_id, event_id, download=download)


@router.get(
    "/{request_id}/clips/{event_id}/snapshot", response_class=JpegFile, responses=errors(410)
)
def get_shared_snapshot(
    request_id: EntityId, event_id: EntityId, user: CurrentUser, session: SessionDep, hub: HubDep
) -> Response:
    """A shared clip's snapshot: same access rules as the clip, but not access (not logged)."""
    return shared_snapshot_response(hub, session, user, request_id, event_id)


@router.post("/{request_id}/evidence", response_class=ZipFile, responses=errors(409))
def export_evidence(
    request_id: EntityId, user: CurrentUser, session: SessionDep, hub: HubDep
) -> Response:
    """A signed ZIP of the shared clips with manifest and audit rows; ends their expiry."""
    return evidence_response(hub, session, user, request_id)
