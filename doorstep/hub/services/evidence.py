"""Officers' access to shared clips, its expiry, and signed evidence export.

Access to a shared clip ends ``access_expiry_days`` after it was shared, unless
it was exported as evidence (an exported bundle is the officer's copy; holding
the hub's copy open forever is what the expiry exists to prevent). Every fetch of
a clip, every refusal and every export leaves an audit row; the first fetch or export
is the officer's access, which ends the owner's right to revoke. A clip's snapshot
(the poster on the officer's page) is not access and is not logged. The evidence bundle carries
only the audit rows about the request an officer may already know: never a
decline, a revocation or anything naming an owner who did not share.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from doorstep.errors import Conflict, Forbidden, NotFound
from doorstep.evidence import BundleClip, build_bundle
from doorstep.hub.context import Hub
from doorstep.hub.db import new_id
from doorstep.hub.models import AGENCY_ROLES, Agency, Camera, Event, User
from doorstep.hub.models_requests import (
    Decision,
    PoliceRequest,
    RequestClip,
    RequestRecipient,
)
from doorstep.hub.services import audit, tlog
from doorstep.hub.services.notifications import notify_once
from doorstep.hub.services.requests import (
    get_request,
    shared_clip_rows,
)
from doorstep.receipt import b64

BUNDLE_ACTIONS = (
    "request.create",
    "request.match",
    "request.emergency_approve",
    "request.share",
    "request.close",
    "clip.view",
    "clip.download",
    "evidence.export",
)


class AccessExpired(Forbidden):
    """The officer's access to this shared clip has run out."""

    status_code = 410


@dataclass
class ClipAccess:
    clip: RequestClip
    event: Event
    path: Path


def _officer_request(session: Session, user: User, request_id: str) -> PoliceRequest:
    request = get_request(session, user, request_id)
    if user.role not in AGENCY_ROLES:
        raise Forbidden("only the requesting agency's officers see shared footage")
    return request


def _visible_clip(session: Session, request: PoliceRequest, event_id: str) -> RequestClip:
    clip = session.scalar(
        select(RequestClip).where(
            RequestClip.request_id == request.id,
            RequestClip.event_id == event_id,
            RequestClip.shared.is_(True),
            RequestClip.revoked_at.is_(None),
        )
    )
    if clip is None:
        raise NotFound("no such shared clip for this request")
    return clip


def expired(clip: RequestClip, now: datetime) -> bool:
    return (
        clip.exported_at is None
        and clip.access_expires_at is not None
        and now >= clip.access_expires_at
    )


def open_clip(
    hub: Hub,
    session: Session,
    user: User,
    request_id: str,
    event_id: str,
    now: datetime,
    *,
    download: bool,
) -> ClipAccess:
    """Check access and log it; an expired access is logged too, then refused.

    The caller must commit before re-raising :class:`AccessExpired` so the
    refusal's audit row survives.
    """
    request = _officer_request(session, user, request_id)
    clip = _visible_clip(session, request, event_id)
    subject = audit.request_subject(request)
    if expired(clip, now):
        audit.log_action(
            hub, session, user, "access_denied_expired", subject, {"event_id": event_id}, now
        )
        raise AccessExpired(
            "access to this clip expired on "
            f"{clip.access_expires_at.isoformat() if clip.access_expires_at else '?'}; "
            "clips exported as evidence stay available in the bundle"
        )
    event = session.get(Event, event_id)
    if event is None or event.clip_sha256 is None:
        raise NotFound("this clip has not been uploaded (yet)")
    # The first fetch ends revocation. Set it only while the clip is not revoked, in one
    # UPDATE that waits for a revocation under way: the clip is either withdrawn before
    # the officer gets it, or fetched and no longer revocable, never both.
    fetched_before = _recipients_with_fetched_clips(session, request)
    session.execute(
        update(RequestClip)
        .where(
            RequestClip.id == clip.id,
            RequestClip.revoked_at.is_(None),
            RequestClip.first_downloaded_at.is_(None),
        )
        .values(first_downloaded_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(clip)
    if clip.revoked_at is not None:
        raise NotFound("no such shared clip for this request")
    _announce_first_access(session, request, fetched_before)
    action = "clip.download" if download else "clip.view"
    audit.log_action(
        hub,
        session,
        user,
        action,
        subject,
        {"event_id": event_id, "sha256": event.clip_sha256},
        now,
    )
    return ClipAccess(clip, event, hub.storage.open(event.clip_sha256))


def _recipients_with_fetched_clips(session: Session, request: PoliceRequest) -> set[str]:
    return set(
        session.scalars(
            select(RequestClip.recipient_id)
            .where(
                RequestClip.request_id == request.id,
                RequestClip.first_downloaded_at.is_not(None),
            )
            .distinct()
        )
    )


FIRST_ACCESS_NOTES = uuid.UUID("0b3b8d9e-7f4c-4a53-9a0e-5d2f8c1e6a74")  # namespace of their ids


def _announce_first_access(session: Session, request: PoliceRequest, before: set[str]) -> None:
    """Tell each owner whose shared footage an officer fetched for the first time under
    this request (``clip_accessed``: inbox, email and push), once per owner and request;
    later fetches are in the audit log and the inbox's "viewed" marks."""
    session.flush()
    for recipient_id in sorted(_recipients_with_fetched_clips(session, request) - before):
        recipient = session.get(RequestRecipient, recipient_id)
        if recipient is None or recipient.decision != Decision.shared:
            continue  # an emergency's owners were told at approval (emergency_access)
        fetched = session.scalar(
            select(func.count())
            .select_from(RequestClip)
            .where(
                RequestClip.recipient_id == recipient_id,
                RequestClip.first_downloaded_at.is_not(None),
            )
        )
        # One per owner and request even when two fetches race (two tabs, two clips):
        # the id is derived, and a second insert of it is nothing.
        note_id = str(uuid.uuid5(FIRST_ACCESS_NOTES, f"{request.id}:{recipient_id}"))
        details = {
            "request_id": request.id,
            "incident_type": request.incident_type,
            "clips": int(fetched or 0),
        }
        notify_once(session, note_id, recipient.owner_id, "clip_accessed", details)


def open_snapshot(
    hub: Hub, session: Session, user: User, request_id: str, event_id: str, now: datetime
) -> tuple[Event, Path]:
    """The snapshot of a shared clip, for the officer's page to show before anyone plays it.

    Same rules as the clip (the requesting agency, shared, not revoked, not expired), but
    a still picked as the event's thumbnail is not the footage: serving it is not logged
    and does not count as the officer's first fetch, so the owner can still revoke.
    """
    request = _officer_request(session, user, request_id)
    clip = _visible_clip(session, request, event_id)
    if expired(clip, now):
        raise AccessExpired("access to this clip has expired")
    event = session.get(Event, event_id)
    if event is None or event.snapshot_sha256 is None:
        raise NotFound("this clip has no snapshot")
    return event, hub.storage.open(event.snapshot_sha256)


def export(hub: Hub, session: Session, user: User, request_id: str, now: datetime) -> Path:
    """Write a signed bundle of every clip still accessible; mark them exported."""
    request = _officer_request(session, user, request_id)
    rows = shared_clip_rows(session, request)
    usable = [r for r in rows if r[1].clip_sha256 is not None and not expired(r[0], now)]
    # Claim the clips as fetched in one conditional UPDATE before reading their bytes: a
    # revocation under way either lands first (the clip is left out) or waits and then
    # finds the clip fetched, never both (the same rule as a view; see inbox.revoke).
    fetched_before = _recipients_with_fetched_clips(session, request)
    claimed = set(
        session.scalars(
            update(RequestClip)
            .where(
                RequestClip.id.in_([clip.id for clip, _e, _c, _r in usable]),
                RequestClip.revoked_at.is_(None),
            )
            .values(first_downloaded_at=func.coalesce(RequestClip.first_downloaded_at, now))
            .returning(RequestClip.id)
            .execution_options(synchronize_session=False)
        )
    )
    usable = [r for r in usable if r[0].id in claimed]
    if not usable:
        raise Conflict("no shared clip of this request is available to export")
    _announce_first_access(session, request, fetched_before)
    clips = [
        BundleClip(
            name=f"{event.id}.mp4",
            path=hub.storage.open(event.clip_sha256 or ""),
            sha256=event.clip_sha256 or "",
            camera=_camera_record(camera, recipient),
            start_time=event.start_time,
            end_time=event.end_time or event.start_time,
            event_id=event.id,
        )
        for _clip, event, camera, recipient in usable
    ]
    recipients = {recipient.id: recipient for _c, _e, _cam, recipient in usable}
    consents = [
        {
            "recipient_id": r.id,
            "decision": str(r.decision),
            "decided_at": r.decided_at,
            "share_location": r.share_location,
            "event_ids": sorted(e.id for c, e, _cam, rr in usable if rr.id == r.id),
        }
        for r in recipients.values()
    ]
    # A share row is hash-chained and cannot be trimmed: one that also lists clips its
    # owner revoked later is left out, so the bundle never hints at a revocation.
    revoked = set(
        session.scalars(
            select(RequestClip.event_id).where(
                RequestClip.request_id == request.id, RequestClip.revoked_at.is_not(None)
            )
        )
    )
    entries = [
        e
        for e in audit.entries(
            session,
            subject=audit.request_subject(request),
            limit=100_000,
            actions=list(BUNDLE_ACTIONS),
        )
        if e.action != "request.share"
        or (
            e.details.get("recipient_id") in recipients
            and not revoked & set(e.details.get("event_ids", []))
        )
    ]
    # Each row with its index and inclusion proof in the latest signed tree, so the bundle
    # shows on its own that these rows are in the public log (docs/audit-log.md).
    checkpoint = tlog.latest(session)
    audit_rows = [
        {
            **e.to_dict(),
            "index": e.index,
            "inclusion_proof": [b64(p) for p in tlog.inclusion(session, e.index, checkpoint.size)],
        }
        for e in entries
    ]
    out_dir = hub.settings.data_dir / "exports"
    out_dir.mkdir(parents=True, exist_ok=True)
    name = out_dir / f"evidence-{request.id}-{new_id()}.zip"
    info = build_bundle(
        name,
        clips,
        _request_record(session, request),
        consents,
        audit_rows,
        hub.signing_key,
        created_at=now,
        audit_checkpoint=tlog.with_cosignatures(session, checkpoint),
    )
    for clip, _e, _cam, _r in usable:
        clip.exported_at = clip.exported_at or now
        clip.first_downloaded_at = clip.first_downloaded_at or now
    audit.log_action(
        hub,
        session,
        user,
        "evidence.export",
        audit.request_subject(request),
        {
            "event_ids": sorted(c.event_id for c, _e, _cam, _r in usable),
            "clips": info.clip_count,
            "manifest_sha256": info.manifest_sha256,
        },
        now,
    )
    return info.path


def _camera_record(camera: Camera, recipient: RequestRecipient) -> dict[str, Any]:
    record: dict[str, Any] = {"name": camera.name}
    if recipient.share_location:
        record["latitude"], record["longitude"] = camera.latitude, camera.longitude
    return record


def _request_record(session: Session, request: PoliceRequest) -> dict[str, Any]:
    agency = session.get(Agency, request.agency_id)
    officer = session.get(User, request.officer_id)
    return {
        "id": request.id,
        "agency": agency.name if agency else "",
        "officer": officer.name if officer else "",
        "incident_type": request.incident_type,
        "case_number": request.case_number_typed,
        "case_number_canonical": request.case_number,
        "reason": request.reason,
        "area": request.area,
        "start_time": request.start_time,
        "end_time": request.end_time,
        "emergency": request.emergency,
        "approved_at": request.approved_at,
        "created_at": request.created_at,
    }
