"""Police requests: creation with the domain limits, fan-out to owners, emergencies, views.

Every state change writes its audit row in the same transaction. ``now`` is a
parameter throughout so tests control time. What an officer sees is assembled by
:func:`officer_view` from counts and shared clips only (see docs/requests.md).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from doorstep import geo
from doorstep.errors import Conflict, Forbidden, InvalidInput, InvalidWindow, NotFound
from doorstep.hub.context import Hub
from doorstep.hub.db import new_id
from doorstep.hub.models import AGENCY_ROLES, Agency, Camera, Event, Role, User
from doorstep.hub.models_requests import (
    Decision,
    EmergencyStatus,
    PoliceRequest,
    RequestClip,
    RequestRecipient,
    RequestStatus,
)
from doorstep.hub.schemas_requests import RequestCreate, RequestOfficerView, SharedClip
from doorstep.hub.services import audit, disclosures, reminders
from doorstep.hub.services.matching import Match, match
from doorstep.hub.services.notifications import notify

READERS = frozenset({Role.officer, Role.supervisor, Role.auditor, Role.admin})


def _check_officer(user: User) -> str:
    if user.role not in AGENCY_ROLES or user.agency_id is None:
        raise Forbidden("only officers and supervisors of an agency make requests")
    return user.agency_id


def canonical_case_number(text: str) -> str:
    """One key per case number, so the per-case limit counts what a person would.

    Unicode compatibility forms are folded (NFKC), then only letters and digits are
    kept, upper-cased: every separator (spaces, dashes of any kind, slashes, dots,
    underscores) and invisible character goes, so ``HP-2024-0042``, ``hp 2024\u20130042``,
    ``HP/2024/0042`` and ``HP_2024.0042`` are all ``HP20240042``. Two numbers that differ
    only in punctuation count as one case: the limit errs on the strict side.
    """
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN").upper()


def create_request(
    hub: Hub, session: Session, officer: User, data: RequestCreate, now: datetime
) -> PoliceRequest:
    """Validate against the limits, store, then ask the matching owners (unless emergency)."""
    agency_id = _check_officer(officer)
    settings = hub.settings
    area = geo.parse_area(
        data.area,
        min_sq_mi=settings.request_min_area_sq_mi,
        max_sq_mi=settings.request_max_area_sq_mi,
        min_compactness=settings.request_min_compactness,
    )
    start, end = geo.validate_window(data.start_time, data.end_time, now)
    typed = data.case_number.strip()
    case = canonical_case_number(typed)
    if not case:
        raise InvalidInput(
            "The case number has no letters or digits: give your agency's case number.",
            field="case_number",
        )
    # Lock the agency before counting: two requests for one case at once queue here
    # instead of both seeing room under the limit (a row lock on PostgreSQL, the write
    # lock on SQLite).
    session.execute(update(Agency).where(Agency.id == agency_id).values(name=Agency.name))
    made = (
        session.scalar(
            select(func.count())
            .select_from(PoliceRequest)
            .where(PoliceRequest.agency_id == agency_id, PoliceRequest.case_number == case)
        )
        or 0
    )
    if made >= settings.requests_per_case:
        raise InvalidInput(
            f"Case {typed} already has {made} requests from your agency; the limit is "
            f"{settings.requests_per_case} per case: close and reuse an existing request, "
            "or open a new case.",
            field="case_number",
        )
    justification = (data.justification or "").strip()
    if data.emergency and len(justification) < 20:
        raise InvalidInput(
            "An emergency request needs a justification of at least 20 characters: "
            "describe the imminent danger.",
            field="justification",
        )
    request = PoliceRequest(
        agency_id=agency_id,
        officer_id=officer.id,
        incident_type=data.incident_type.value,
        case_number=case,
        case_number_typed=typed,
        reason=data.reason.strip(),
        contact=data.contact.strip(),
        area=area.to_geojson(),
        area_kind=area.kind,
        area_sq_mi=area.area_sq_mi,
        centroid_lon=area.centroid[0],
        centroid_lat=area.centroid[1],
        start_time=start,
        end_time=end,
        emergency=data.emergency,
        justification=justification or None,
        emergency_status=EmergencyStatus.pending if data.emergency else EmergencyStatus.none,
        deadline=now + timedelta(days=settings.request_deadline_days),
        created_at=now,
    )
    session.add(request)
    session.flush()
    agency = session.get(Agency, agency_id)
    audit.log_action(
        hub,
        session,
        officer,
        "request.create",
        audit.request_subject(request),
        {
            "agency_id": agency_id,
            "agency": agency.name if agency else "",
            "incident_type": request.incident_type,
            "case_number": case,
            "case_number_typed": typed,
            "emergency": request.emergency,
            "area_sq_mi": round(request.area_sq_mi, 6),
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
        },
        now,
    )
    if not request.emergency:
        matches = match(session, area, start, end)
        _fan_out(session, request, matches, now, emergency=False, access_expiry_days=0)
        reminders.schedule(session, request, now)
        audit.log_action(
            hub,
            session,
            None,
            "request.match",
            audit.request_subject(request),
            dict(_match_counts(matches)),
            now,
        )
    return request


def _match_counts(matches: list[Match]) -> dict[str, int]:
    return {
        "owners_asked": len(matches),
        "cameras_asked": sum(len(m.camera_ids) for m in matches),
        "clips_offered": sum(len(m.events) for m in matches),
    }


def _fan_out(
    session: Session,
    request: PoliceRequest,
    matches: list[Match],
    now: datetime,
    *,
    emergency: bool,
    access_expiry_days: int,
) -> None:
    """An inbox entry per owner with exactly the matching clips, and a notification.

    Ids are assigned here rather than by a flush per owner, so reaching 10,000 owners
    is one batch of inserts, not 10,000 round trips inside the officer's request.
    """
    counts = _match_counts(matches)
    request.owners_asked = int(counts["owners_asked"])
    request.cameras_asked = int(counts["cameras_asked"])
    request.clips_offered = int(counts["clips_offered"])
    request.clips_shared = request.clips_offered if emergency else 0
    recipients = [
        RequestRecipient(
            id=new_id(),
            request_id=request.id,
            owner_id=m.owner_id,
            decision=Decision.emergency if emergency else Decision.pending,
            decided_at=now if emergency else None,
            created_at=now,
        )
        for m in matches
    ]
    session.add_all(recipients)
    session.flush()  # one batch; the clips below refer to these rows
    for m, recipient in zip(matches, recipients, strict=True):
        for event in m.events:
            session.add(
                RequestClip(
                    request_id=request.id,
                    recipient_id=recipient.id,
                    camera_id=event.camera_id,
                    event_id=event.id,
                    shared=emergency,
                    shared_at=now if emergency else None,
                    access_expires_at=(
                        now + timedelta(days=access_expiry_days) if emergency else None
                    ),
                )
            )
        notify(
            session,
            m.owner_id,
            "emergency_access" if emergency else "request",
            {
                "request_id": request.id,
                "incident_type": request.incident_type,
                "clips": len(m.events),
                "deadline": None if emergency else request.deadline.isoformat(),
            },
        )
    session.flush()


def get_request(session: Session, user: User, request_id: str) -> PoliceRequest:
    """A request the user may read: their agency's, or any for auditors and admins."""
    request = session.get(PoliceRequest, request_id)
    if request is None or user.role not in READERS:
        raise NotFound("no such request")
    if user.role in AGENCY_ROLES and request.agency_id != user.agency_id:
        raise NotFound("no such request")
    return request


def list_requests(session: Session, user: User) -> list[PoliceRequest]:
    if user.role not in READERS:
        raise Forbidden("only officers, supervisors, auditors and admins read requests")
    query = select(PoliceRequest)
    if user.role in AGENCY_ROLES:
        query = query.where(PoliceRequest.agency_id == user.agency_id)
    return list(session.scalars(query.order_by(PoliceRequest.created_at.desc())))


def close_request(
    hub: Hub, session: Session, user: User, request_id: str, now: datetime
) -> PoliceRequest:
    request = get_request(session, user, request_id)
    if user.role not in AGENCY_ROLES:
        raise Forbidden("only the agency's officers close its requests")
    if request.status != RequestStatus.closed:
        request.status, request.closed_at = RequestStatus.closed, now
        audit.log_action(
            hub, session, user, "request.close", audit.request_subject(request), {}, now
        )
    return request


def _emergency_to_decide(session: Session, supervisor: User, request_id: str) -> PoliceRequest:
    """The checks approval and rejection share: a pending emergency of the supervisor's agency."""
    request = get_request(session, supervisor, request_id)
    if supervisor.role != Role.supervisor or supervisor.agency_id != request.agency_id:
        raise Forbidden(
            "only a supervisor of the requesting agency approves or rejects emergencies"
        )
    if request.emergency_status == EmergencyStatus.none:
        raise Conflict("this request is not an emergency request")
    if request.emergency_status != EmergencyStatus.pending:
        raise Conflict(f"this emergency request was already {request.emergency_status}")
    if request.status == RequestStatus.closed:
        raise Conflict("this request is closed; closing it withdrew the emergency")
    return request


def _claim_emergency(
    session: Session,
    request: PoliceRequest,
    status: EmergencyStatus,
    supervisor: User,
    now: datetime,
) -> None:
    """Decide a pending emergency in one conditional UPDATE: of two supervisors at once, one
    wins and the other gets 409.

    The checks read the request without a lock. The UPDATE waits for another writer (a row
    lock on PostgreSQL, the write lock on SQLite), then finds it no longer pending (or
    closed meanwhile) and changes nothing; without it both would fan out, and the second
    would hit the recipients' unique constraint.
    """
    values: dict[str, object] = {"emergency_status": status}
    if status == EmergencyStatus.approved:
        values.update(approved_by=supervisor.id, approved_at=now)
    claimed = session.execute(
        update(PoliceRequest)
        .where(
            PoliceRequest.id == request.id,
            PoliceRequest.emergency_status == EmergencyStatus.pending,
            PoliceRequest.status != RequestStatus.closed,
        )
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("another supervisor decided this emergency a moment ago; reload the page")
    session.expire(request, ["emergency_status", "approved_by", "approved_at", "status"])


def approve_emergency(
    hub: Hub, session: Session, supervisor: User, request_id: str, now: datetime
) -> PoliceRequest:
    """A supervisor of the same agency lets an emergency request reach footage at once.

    The window is checked again against the look-back limit: approved weeks after it
    was made, a request would otherwise reach footage older than any request may ask for.
    """
    request = _emergency_to_decide(session, supervisor, request_id)
    if supervisor.id == request.officer_id:
        raise Forbidden("a supervisor cannot approve their own emergency request")
    try:
        geo.validate_window(request.start_time, request.end_time, now)
    except InvalidWindow as exc:
        raise Conflict(
            f"This emergency can no longer be approved. {exc.message} Reject it; the officer "
            "can make a new request for a window within the limit."
        ) from None
    _claim_emergency(session, request, EmergencyStatus.approved, supervisor, now)
    area = geo.parse_area(request.area, min_sq_mi=0.0, max_sq_mi=float("inf"), min_compactness=0.0)
    matches = match(session, area, request.start_time, request.end_time)
    _fan_out(
        session,
        request,
        matches,
        now,
        emergency=True,
        access_expiry_days=hub.settings.access_expiry_days,
    )
    details: dict[str, object] = {
        **_match_counts(matches),
        "event_ids": sorted(e.id for m in matches for e in m.events),
    }
    audit.log_action(
        hub,
        session,
        supervisor,
        "request.emergency_approve",
        audit.request_subject(request),
        details,
        now,
    )
    return request


def reject_emergency(
    hub: Hub, session: Session, supervisor: User, request_id: str, now: datetime
) -> PoliceRequest:
    """A supervisor of the same agency refuses an emergency request; final and audited.

    Nothing was matched while it was pending, so no owner is asked or notified, now or
    later. The requester may reject their own request (withdrawing it is always safe).
    """
    request = _emergency_to_decide(session, supervisor, request_id)
    _claim_emergency(session, request, EmergencyStatus.rejected, supervisor, now)
    audit.log_action(
        hub,
        session,
        supervisor,
        "request.emergency_reject",
        audit.request_subject(request),
        {},
        now,
    )
    return request


def shared_clip_rows(
    session: Session, request: PoliceRequest
) -> list[tuple[RequestClip, Event, Camera, RequestRecipient]]:
    """The clips the officer may see (shared, not revoked), with their event, camera, answer."""
    rows = session.execute(
        select(RequestClip, Event, Camera, RequestRecipient)
        .join(Event, Event.id == RequestClip.event_id)
        .join(Camera, Camera.id == RequestClip.camera_id)
        .join(RequestRecipient, RequestRecipient.id == RequestClip.recipient_id)
        .where(
            RequestClip.request_id == request.id,
            RequestClip.shared.is_(True),
            RequestClip.revoked_at.is_(None),
        )
        .order_by(Event.start_time, Event.id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def shared_clips(session: Session, request: PoliceRequest) -> list[SharedClip]:
    """The clips the officer may see: shared and not revoked, consent or emergency."""
    rows = shared_clip_rows(session, request)
    return [
        SharedClip(
            event_id=event.id,
            camera_name=camera.name,
            start_time=event.start_time,
            end_time=event.end_time,
            clip_sha256=event.clip_sha256,
            clip_size=event.clip_size,
            via="emergency" if recipient.decision == Decision.emergency else "consent",
            access_expires_at=None if clip.exported_at else clip.access_expires_at,
            exported=clip.exported_at is not None,
            has_snapshot=event.snapshot_sha256 is not None,
            location=(
                {"latitude": camera.latitude, "longitude": camera.longitude}
                if recipient.share_location
                else None
            ),
        )
        for clip, event, camera, recipient in rows
    ]


def officer_view(session: Session, request: PoliceRequest) -> RequestOfficerView:
    """Counts and shared clips only: nothing here names who was asked or declined.

    The counts are the request's stored ones: retention may later delete clips, but
    how many cameras were asked and clips shared stays what it was.
    """
    clips = shared_clips(session, request)
    agency = session.get(Agency, request.agency_id)
    officer = session.get(User, request.officer_id)
    return RequestOfficerView(
        id=request.id,
        agency=agency.name if agency else "",
        officer=officer.name if officer else "",
        incident_type=request.incident_type,
        case_number=request.case_number_typed,
        case_number_canonical=request.case_number,
        reason=request.reason,
        contact=request.contact,
        area=request.area,
        area_sq_mi=round(request.area_sq_mi, 4),
        start_time=request.start_time,
        end_time=request.end_time,
        status=request.status,
        emergency=request.emergency,
        emergency_status=request.emergency_status,
        justification=request.justification,
        deadline=request.deadline,
        created_at=request.created_at,
        closed_at=request.closed_at,
        cameras_asked=request.cameras_asked,
        clips_shared=request.clips_shared,
        disclosures=disclosures.public_for(session, request.officer_id),
        clips=clips,
    )
