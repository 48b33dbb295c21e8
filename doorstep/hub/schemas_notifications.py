"""API shapes of the notification centre: a notification as its reader sees it, and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from doorstep.hub.models_requests import Notification
from doorstep.hub.services.notifications import body_for, title_for, url_for


class NotificationPublic(BaseModel):
    id: str
    kind: str = Field(
        description="event, request, request_reminder, emergency_access, clip_accessed, "
        "share_received."
    )
    title: str = Field(description="A one-line headline.")
    body: str = Field(description="A sentence of detail.")
    url: str = Field(description="The page it is about: /events/<id>, /inbox#request-<id>, ...")
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, note: Notification) -> NotificationPublic:
        """The reader's view of a row: the stored payload plus its words and link."""
        return cls(
            id=note.id,
            kind=note.kind,
            title=title_for(note.kind, note.payload),
            body=body_for(note.kind, note.payload),
            url=url_for(note.kind, note.payload),
            payload=note.payload,
            created_at=note.created_at,
            read_at=note.read_at,
        )


class NotificationPage(BaseModel):
    items: list[NotificationPublic] = Field(description="Newest first.")
    next: str | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )
    unread: int = Field(description="All of the caller's unread notifications.")


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int = Field(description="How many were unread and are now read.")
    unread: int = Field(description="Unread left: those that arrived since.")
