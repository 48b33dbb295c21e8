"""An owner's inbox of police requests, their decisions, and notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from doorstep.hub.db import utcnow
from doorstep.hub.deps import CurrentUser, EntityId, HubDep, Owner, SessionDep
from doorstep.hub.openapi import errors
from doorstep.hub.schemas import QueryBool
from doorstep.hub.schemas_requests import DecisionCreate, InboxItem, NotificationPublic
from doorstep.hub.services import inbox, notifications

router = APIRouter(tags=["inbox"])


@router.get("/inbox", response_model=list[InboxItem])
def list_inbox(owner: Owner, session: SessionDep) -> list[InboxItem]:
    """Requests that reached the caller's cameras, each with its matching clips pre-selected."""
    return inbox.inbox(session, owner, utcnow())


@router.post("/inbox/{request_id}/decision", response_model=InboxItem, responses=errors(409))
def decide(
    request_id: EntityId, data: DecisionCreate, owner: Owner, session: SessionDep, hub: HubDep
) -> InboxItem:
    """Share selected clips, share all, decline, or decline and opt out of every request."""
    return inbox.decide(hub, session, owner, request_id, data, utcnow())


@router.post("/inbox/{request_id}/revoke", response_model=InboxItem, responses=errors(409))
def revoke(request_id: EntityId, owner: Owner, session: SessionDep, hub: HubDep) -> InboxItem:
    """Withdraw a share; clips an officer has already fetched stay shared."""
    return inbox.revoke(hub, session, owner, request_id, utcnow())


@router.get("/notifications", response_model=list[NotificationPublic])
def list_notifications(
    user: CurrentUser, session: SessionDep, unread: Annotated[QueryBool, Query()] = False
) -> list[NotificationPublic]:
    return [
        NotificationPublic.model_validate(n, from_attributes=True)
        for n in notifications.list_for(session, user, unread_only=unread)
    ]


@router.post("/notifications/{note_id}/read", response_model=NotificationPublic)
def mark_read(note_id: EntityId, user: CurrentUser, session: SessionDep) -> NotificationPublic:
    note = notifications.mark_read(session, user, note_id, utcnow())
    return NotificationPublic.model_validate(note, from_attributes=True)
