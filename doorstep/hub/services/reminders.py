"""The reminder a day before a police request's deadline, to owners who have not answered.

Silence counts as a decline at the deadline (services/inbox.py), so an owner who missed
the request should hear of it once more while they can still answer. The reminder is a
delayed job queued with the request (one per request, keyed so it is queued once); when
it runs it checks again, because much can change in six days: owners answered or opted
out, the officer closed the request, or the worker was down past the deadline.
"""

from __future__ import annotations

import uuid
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
from doorstep.hub.queue import enqueue, job
from doorstep.hub.services.notifications import notify

JOB = "request.reminder"
BEFORE_DEADLINE = timedelta(days=1)


def job_key(request_id: str) -> str:
    return f"{JOB}:{request_id}"


def note_id(request_id: str, owner_id: str) -> str:
    """The reminder's notification id: fixed per request and owner, so a job that runs
    again (a worker died after committing) reminds nobody twice."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{JOB}:{request_id}:{owner_id}"))


def schedule(session: Session, request: PoliceRequest, now: datetime) -> None:
    """Queue the request's reminder for a day before the deadline, in the caller's
    transaction: one job per request, however many owners it asked, so the officer's
    request stays one row heavier, not ten thousand. None when the deadline is a day
    away or less (the request itself is the news)."""
    run_at = request.deadline - BEFORE_DEADLINE
    if run_at > now:
        enqueue(session, JOB, {"request_id": request.id}, key=job_key(request.id), run_at=run_at)


def remind(session: Session, request_id: str, now: datetime) -> int:
    """Notify every owner still due a reminder (inbox entry, and email and push through
    delivery): the request open and before its deadline, the owner undecided, active and
    not opted out. Returns how many were reminded."""
    request = session.get(PoliceRequest, request_id)
    if request is None or request.status != RequestStatus.open or now >= request.deadline:
        return 0
    rows = session.execute(
        select(RequestRecipient.owner_id, func.count(RequestClip.id))
        .join(User, User.id == RequestRecipient.owner_id)
        .outerjoin(RequestClip, RequestClip.recipient_id == RequestRecipient.id)
        .where(
            RequestRecipient.request_id == request_id,
            RequestRecipient.decision == Decision.pending,
            User.opt_out_requests.is_(False),
            User.is_active.is_(True),
        )
        .group_by(RequestRecipient.owner_id)
    ).all()
    ids = {owner_id: note_id(request_id, owner_id) for owner_id, _clips in rows}
    sent = set(session.scalars(select(Notification.id).where(Notification.id.in_(ids.values()))))
    reminded = 0
    for owner_id, clips in rows:
        if ids[owner_id] in sent:
            continue
        notify(
            session,
            owner_id,
            "request_reminder",
            {
                "request_id": request_id,
                "incident_type": request.incident_type,
                "clips": int(clips),
                "deadline": request.deadline.isoformat(),
            },
            note_id=ids[owner_id],
        )
        reminded += 1
    return reminded


@job(JOB)
def reminder_job(hub: Hub, payload: dict[str, Any]) -> None:
    with session_scope(hub.sessions) as session:
        remind(session, str(payload["request_id"]), utcnow())
