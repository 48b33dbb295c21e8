"""The reminder a day before a police request's deadline, to owners who have not answered.

Silence counts as a decline at the deadline (services/inbox.py), so an owner who missed
the request should hear of it once more while they can still answer. The reminder is a
delayed job queued with the request (one per owner, keyed so it is queued once); when
it runs it checks again, because much can change in six days: the owner answered or
opted out, the officer closed the request, or the worker was down past the deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import User
from doorstep.hub.models_requests import (
    Decision,
    Notification,
    PoliceRequest,
    RequestClip,
    RequestRecipient,
    RequestStatus,
)
from doorstep.hub.queue import enqueue_many, job
from doorstep.hub.services.notifications import notify

JOB = "request.reminder"
BEFORE_DEADLINE = timedelta(days=1)


def job_key(request_id: str, owner_id: str) -> str:
    return f"{JOB}:{request_id}:{owner_id}"


def schedule(
    session: Session, request: PoliceRequest, owner_ids: Iterable[str], now: datetime
) -> None:
    """Queue each owner's reminder for a day before the deadline, in the caller's
    transaction; none when the deadline is a day away or less (the request is news)."""
    run_at = request.deadline - BEFORE_DEADLINE
    if run_at <= now:
        return
    enqueue_many(
        session,
        [
            {
                "kind": JOB,
                "payload": {"request_id": request.id, "owner_id": owner_id},
                "key": job_key(request.id, owner_id),
                "run_at": run_at,
            }
            for owner_id in owner_ids
        ],
    )


def due(session: Session, request_id: str, owner_id: str, now: datetime) -> bool:
    """Still worth a reminder: open, before the deadline, unanswered, not opted out."""
    row = session.execute(
        select(PoliceRequest, RequestRecipient, User)
        .join(RequestRecipient, RequestRecipient.request_id == PoliceRequest.id)
        .join(User, User.id == RequestRecipient.owner_id)
        .where(PoliceRequest.id == request_id, RequestRecipient.owner_id == owner_id)
    ).first()
    if row is None:
        return False
    request, recipient, owner = row
    return (
        request.status == RequestStatus.open
        and now < request.deadline
        and recipient.decision == Decision.pending
        and not owner.opt_out_requests
        and owner.is_active
    )


def remind(session: Session, request_id: str, owner_id: str, now: datetime) -> bool:
    """Notify the owner (inbox entry, and email and push through delivery) if still due."""
    note_id = str(uuid.uuid5(uuid.NAMESPACE_URL, job_key(request_id, owner_id)))
    if session.get(Notification, note_id) is not None or not due(
        session, request_id, owner_id, now
    ):
        return False  # already sent (a re-run job), or no longer due
    request = session.get(PoliceRequest, request_id)
    assert request is not None
    clips = session.scalar(
        select(func.count())
        .select_from(RequestClip)
        .join(RequestRecipient, RequestRecipient.id == RequestClip.recipient_id)
        .where(RequestClip.request_id == request_id, RequestRecipient.owner_id == owner_id)
    )
    notify(
        session,
        owner_id,
        "request_reminder",
        {
            "request_id": request_id,
            "incident_type": request.incident_type,
            "clips": int(clips or 0),
            "deadline": request.deadline.isoformat(),
        },
        note_id=note_id,
    )
    return True


@job(JOB)
def reminder_job(hub: Hub, payload: dict[str, Any]) -> None:
    with session_scope(hub.sessions) as session:
        remind(session, str(payload["request_id"]), str(payload["owner_id"]), utcnow())
