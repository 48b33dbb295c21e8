"""An owner's inbox of police requests, their decisions, and notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from doorstep.hub.db import utcnow
from doorstep.hub.deps import CurrentUser, EntityId, HubDep, Owner, SessionDep
from doorstep.hub.openapi import errors
from doorstep.hub.schemas import QUERY_INTEGER, QueryBool
from doorstep.hub.schemas_notifications import (
    MarkedRead,
    NotificationPage,
    NotificationPublic,
    UnreadCount,
)
from doorstep.hub.schemas_requests import DecisionCreate, InboxItem
from doorstep.hub.services import inbox
from doorstep.hub.services import notification_centre as centre

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


@router.get("/notifications", response_model=NotificationPage)
def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    unread: Annotated[QueryBool, Query(description="Only unread ones.")] = False,
    limit: Annotated[
        int, Field(ge=1, le=centre.MAX_LIMIT), QUERY_INTEGER, Query()
    ] = centre.DEFAULT_LIMIT,
    before: Annotated[
        str | None,
        Field(pattern=centre.CURSOR_PATTERN),
        Query(description="The `next` of the previous page."),
    ] = None,
) -> NotificationPage:
    """The caller's notifications, newest first, a page at a time, with the unread count."""
    page = centre.list_for(session, user, unread_only=unread, limit=limit, before=before)
    return NotificationPage(
        items=[NotificationPublic.of(n) for n in page.items], next=page.next, unread=page.unread
    )


@router.get("/notifications/unread-count", response_model=UnreadCount)
def unread_count(user: CurrentUser, session: SessionDep) -> UnreadCount:
    """How many of the caller's notifications are unread (cheap: for a badge)."""
    return UnreadCount(unread=centre.unread_count(session, user))


@router.post("/notifications/read-all", response_model=MarkedRead)
def mark_all_read(user: CurrentUser, session: SessionDep) -> MarkedRead:
    """Mark every notification the caller has so far read."""
    marked = centre.mark_all_read(session, user, utcnow())
    return MarkedRead(marked=marked, unread=centre.unread_count(session, user))


@router.post("/notifications/{note_id}/read", response_model=NotificationPublic)
def mark_read(note_id: EntityId, user: CurrentUser, session: SessionDep) -> NotificationPublic:
    """Mark one of the caller's notifications read; another user's is not found."""
    return NotificationPublic.of(centre.mark_read(session, user, note_id, utcnow()))
