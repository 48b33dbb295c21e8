"""An owner's side of a request: the inbox, decisions, revocation.

Silence is refusal: a pending answer past the deadline reads as declined
(:func:`effective_decision`), computed when read rather than by a sweep, so it
holds at any moment without a background job. Decisions are final except that
a share can be revoked until a clip of it is first fetched by an officer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from doorstep.errors import Conflict, InvalidInput, NotFound
from doorstep.hub.context import Hub
from doorstep.hub.models import Agency, Camera, Event, User
from doorstep.hub.models_requests import (
    Decision,
    PoliceRequest,
    RequestClip,
    RequestRecipient,
    RequestStatus,
)
from doorstep.hub.schemas_requests import DecisionCreate, InboxClip, InboxItem
from doorstep.hub.services import accounts, audit, disclosures
from doorstep.hub.services.notifications import notify


def effective_decision(recipient: RequestRecipient, request: PoliceRequest, now: datetime) -> str:
    if recipient.decision == Decision.pending and now >= request.deadline:
        return Decision.declined.value
    return str(recipient.decision)


def _recipient(
    session: Session, owner: User, request_id: str
) -> tuple[RequestRecipient, PoliceRequest]:
    recipient = session.scalar(
        select(RequestRecipient).where(
            RequestRecipient.request_id == request_id, RequestRecipient.owner_id == owner.id
        )
    )
    request = session.get(PoliceRequest, request_id)
    if recipient is None or request is None:
        raise NotFound("no such request in your inbox")
    return recipient, request


def _clips(session: Session, recipient: RequestRecipient) -> list[tuple[RequestClip, Event]]:
    rows = session.execute(
        select(RequestClip, Event)
        .join(Event, Event.id == RequestClip.event_id)
        .where(RequestClip.recipient_id == recipient.id)
        .order_by(Event.start_time, Event.id)
    ).all()
    return [(c, e) for c, e in rows]


def inbox(session: Session, owner: User, now: datetime) -> list[InboxItem]:
    """Every request that reached this owner, newest first, clips pre-selected."""
    rows = session.execute(
        select(RequestRecipient, PoliceRequest)
        .join(PoliceRequest, PoliceRequest.id == RequestRecipient.request_id)
        .where(RequestRecipient.owner_id == owner.id)
        .order_by(PoliceRequest.created_at.desc())
    ).all()
    return [item(session, recipient, request, now) for recipient, request in rows]


def item(
    session: Session, recipient: RequestRecipient, request: PoliceRequest, now: datetime
) -> InboxItem:
    agency = session.get(Agency, request.agency_id)
    officer = session.get(User, request.officer_id)
    clips = []
    for clip, event in _clips(session, recipient):
        camera = session.get(Camera, clip.camera_id)
        clips.append(
            InboxClip(
                event_id=event.id,
                camera_id=clip.camera_id,
                camera_name=camera.name if camera else "",
                start_time=event.start_time,
                end_time=event.end_time,
                selected=True,
                shared=clip.shared and clip.revoked_at is None,
                revoked=clip.revoked_at is not None,
                downloaded=clip.first_downloaded_at is not None,
                viewed_at=clip.first_downloaded_at or clip.exported_at,
                revocable=recipient.decision == Decision.shared and _revocable(clip),
            )
        )
    return InboxItem(
        request_id=request.id,
        agency=agency.name if agency else "",
        officer=officer.name if officer else "",
        incident_type=request.incident_type,
        case_number=request.case_number_typed,
        case_number_canonical=request.case_number,
        reason=request.reason,
        contact=request.contact,
        area=request.area,
        start_time=request.start_time,
        end_time=request.end_time,
        emergency=request.emergency,
        deadline=None if recipient.decision == Decision.emergency else request.deadline,
        decision=effective_decision(recipient, request, now),
        status=request.status,
        disclosures=disclosures.public_for(session, request.officer_id),
        clips=clips,
    )


def _revocable(clip: RequestClip) -> bool:
    """Shared and not yet fetched: an officer's first play, download or export ends it."""
    return (
        clip.shared
        and clip.revoked_at is None
        and clip.first_downloaded_at is None
        and clip.exported_at is None
    )


def _claim(
    session: Session, recipient: RequestRecipient, decision: Decision, now: datetime
) -> None:
    """Record the answer only if the owner's is still pending, in one conditional UPDATE.

    The checks above read the row without a lock, so two submissions at once (a double
    click, share in one tab and decline in another) could both pass them. The UPDATE
    waits for the other's write (a row lock on PostgreSQL, the write lock on SQLite) and
    then finds nothing pending: one answer wins, the other gets 409.
    """
    claimed = session.execute(
        update(RequestRecipient)
        .where(RequestRecipient.id == recipient.id, RequestRecipient.decision == Decision.pending)
        .values(decision=decision, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this request was answered a moment ago; reload the page to see how")
    recipient.decision, recipient.decided_at = decision, now


def _count_shared(session: Session, request: PoliceRequest, delta: int) -> None:
    """Move the request's stored share count in one UPDATE, so answers at once all count."""
    session.execute(
        update(PoliceRequest)
        .where(PoliceRequest.id == request.id)
        .values(clips_shared=PoliceRequest.clips_shared + delta)
        .execution_options(synchronize_session=False)
    )
    session.expire(request, ["clips_shared"])


def decide(
    hub: Hub, session: Session, owner: User, request_id: str, data: DecisionCreate, now: datetime
) -> InboxItem:
    """Share some or all matching clips, decline, or decline and opt out of all requests."""
    recipient, request = _recipient(session, owner, request_id)
    current = effective_decision(recipient, request, now)
    if recipient.decision == Decision.pending and current == Decision.declined:
        raise Conflict("the deadline has passed; the request counts as declined")
    if recipient.decision != Decision.pending:
        raise Conflict(f"you already answered this request ({current}); a share can be revoked")
    if request.status == RequestStatus.closed:
        raise Conflict("the request has been closed")
    clips = [c for c, _e in _clips(session, recipient)]
    subject = audit.request_subject(request)
    if data.action in ("decline", "opt_out"):
        _claim(session, recipient, Decision.declined, now)
        audit.log_action(
            hub, session, owner, "request.decline", subject, {"recipient_id": recipient.id}, now
        )
        if data.action == "opt_out":
            accounts.set_opt_out(hub, session, owner, True, now)
        session.flush()
        return item(session, recipient, request, now)
    chosen = clips if data.action == "share_all" else _selected(clips, data.event_ids)
    _claim(session, recipient, Decision.shared, now)
    expires = now + timedelta(days=hub.settings.access_expiry_days)
    for clip in chosen:
        clip.shared, clip.shared_at, clip.access_expires_at = True, now, expires
    _count_shared(session, request, len(chosen))
    recipient.share_location = data.share_location
    audit.log_action(
        hub,
        session,
        owner,
        "request.share",
        subject,
        {
            "recipient_id": recipient.id,
            "event_ids": sorted(c.event_id for c in chosen),
            "clips": len(chosen),
            "share_location": data.share_location,
        },
        now,
    )
    # The officer learns that footage arrived, never from whom (docs/requests.md).
    notify(
        session,
        request.officer_id,
        "share_received",
        {"request_id": request.id, "clips": len(chosen)},
    )
    session.flush()
    return item(session, recipient, request, now)


def _selected(clips: list[RequestClip], event_ids: list[str]) -> list[RequestClip]:
    if not event_ids:
        raise InvalidInput(
            "Pick at least one clip to share, or use 'share_all' or 'decline'.", field="event_ids"
        )
    by_event = {c.event_id: c for c in clips}
    unknown = [e for e in event_ids if e not in by_event]
    if unknown:
        raise InvalidInput(
            f"These clips are not part of this request: {unknown}.", field="event_ids"
        )
    return [by_event[e] for e in dict.fromkeys(event_ids)]


def revoke(hub: Hub, session: Session, owner: User, request_id: str, now: datetime) -> InboxItem:
    """Withdraw every shared clip no officer has fetched yet."""
    recipient, request = _recipient(session, owner, request_id)
    clips = [c for c, _e in _clips(session, recipient) if c.shared and c.revoked_at is None]
    if recipient.decision != Decision.shared or not clips:
        raise Conflict("nothing is shared with this request")
    candidates = [c.id for c in clips if _revocable(c)]
    # Revoke only what is still unfetched when the write happens: this UPDATE waits for
    # an officer's fetch under way (which sets first_downloaded_at the same way), so a
    # clip is either withdrawn before the officer gets it or viewed and kept, never both.
    withdrawn = set(
        session.scalars(
            update(RequestClip)
            .where(
                RequestClip.id.in_(candidates),
                RequestClip.revoked_at.is_(None),
                RequestClip.first_downloaded_at.is_(None),
                RequestClip.exported_at.is_(None),
            )
            .values(revoked_at=now)
            .returning(RequestClip.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not withdrawn:
        raise Conflict(
            "every clip you shared has already been viewed by the officer; "
            "a viewed clip can't be revoked"
        )
    for clip in clips:
        session.refresh(clip)
    revocable = [c for c in clips if c.id in withdrawn]
    _count_shared(session, request, -len(revocable))
    if len(revocable) == len(clips):
        recipient.decision = Decision.declined
    audit.log_action(
        hub,
        session,
        owner,
        "request.revoke",
        audit.request_subject(request),
        {
            "recipient_id": recipient.id,
            "event_ids": sorted(c.event_id for c in revocable),
            "clips": len(revocable),
        },
        now,
    )
    session.flush()
    return item(session, recipient, request, now)
