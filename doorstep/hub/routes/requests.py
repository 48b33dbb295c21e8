"""Police requests: create, read, close, approve emergencies, fetch shared clips, export.

Replies to officers are :class:`RequestOfficerView`: counts and shared clips only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from doorstep.hub.context import Hub
from doorstep.hub.db import utcnow
from doorstep.hub.deps import CurrentUser, EntityId, HubDep, SessionDep
from doorstep.hub.models import User
from doorstep.hub.schemas_requests import RequestCreate, RequestOfficerView
from doorstep.hub.services import evidence, requests

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


@router.post("/{request_id}/approve", response_model=RequestOfficerView)
def approve_emergency(
    request_id: EntityId, user: CurrentUser, session: SessionDep, hub: HubDep
) -> RequestOfficerView:
    """A supervisor of the same agency approves an emergency request; owners are notified."""
    request = requests.approve_emergency(hub, session, user, request_id, utcnow())
    return requests.officer_view(session, request)


@router.get("/{request_id}/clips/{event_id}", response_class=FileResponse)
def get_shared_clip(
    request_id: EntityId,
    event_id: EntityId,
    user: CurrentUser,
    session: SessionDep,
    hub: HubDep,
    download: Annotated[bool, Query(description="Attachment (download) or inline (view).")] = False,
) -> FileResponse:
    """A shared clip; logged as a view or download. 410 once access has expired."""
    return shared_clip_response(hub, session, user, request_id, event_id, download=download)


@router.post("/{request_id}/evidence", response_class=FileResponse)
def export_evidence(
    request_id: EntityId, user: CurrentUser, session: SessionDep, hub: HubDep
) -> FileResponse:
    """A signed ZIP of the shared clips with manifest and audit rows; ends their expiry."""
    return evidence_response(hub, session, user, request_id)


def shared_clip_response(
    hub: Hub, session: Session, user: User, request_id: str, event_id: str, *, download: bool
) -> FileResponse:
    """Serve a shared clip to an officer (API and pages alike); every fetch is audited."""
    try:
        access = evidence.open_clip(
            hub, session, user, request_id, event_id, utcnow(), download=download
        )
    except evidence.AccessExpired:
        session.commit()  # the refusal's audit row must survive the error reply
        raise
    return FileResponse(
        access.path,
        media_type="video/mp4",
        filename=f"{access.event.id}.mp4",
        content_disposition_type="attachment" if download else "inline",
        headers={"Cache-Control": "no-store"},
    )


def evidence_response(hub: Hub, session: Session, user: User, request_id: str) -> FileResponse:
    """Export the signed bundle; the export is committed before the bundle leaves the hub."""
    path = evidence.export(hub, session, user, request_id, utcnow())
    session.commit()
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"evidence-{request_id}.zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
