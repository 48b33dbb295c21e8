"""Tables of the accountable police-request workflow, the audit log and notifications.

Why these shapes:

* A request is never deleted (no cascade from it, no DELETE route); it is closed.
* Who was asked lives in ``request_recipients`` (one row per owner) and which clips
  in ``request_clips``; officers only ever see aggregates of these, never the rows.
* The audit log stores ``time`` as the exact text that was hashed, and ``details``
  as canonical JSON text, so a row hashes the same after any database round trip.
* ``audit_head`` is a single row locked (by an UPDATE) on every append: two writers
  on either database queue behind it instead of forking the chain; ``seq`` being the
  primary key is the second line of defence.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.hub.db import Base, new_id, utcnow


class IncidentType(enum.StrEnum):
    burglary = "burglary"
    theft = "theft"
    vehicle_theft = "vehicle_theft"
    robbery = "robbery"
    assault = "assault"
    vandalism = "vandalism"
    hit_and_run = "hit_and_run"
    missing_person = "missing_person"
    homicide = "homicide"
    other = "other"


class Decision(enum.StrEnum):
    pending = "pending"
    shared = "shared"
    declined = "declined"
    emergency = "emergency"  # reached without consent after a supervisor's approval


class RequestStatus(enum.StrEnum):
    open = "open"
    closed = "closed"  # requests are never deleted, only closed


class EmergencyStatus(enum.StrEnum):
    none = "none"
    pending = "pending"
    approved = "approved"
    rejected = "rejected"  # final: a supervisor refused it; no owner was asked or told


class PoliceRequest(Base):
    __tablename__ = "police_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    officer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    incident_type: Mapped[str] = mapped_column(String(40))
    case_number: Mapped[str] = mapped_column(String(100))  # canonical: what the limit counts
    case_number_typed: Mapped[str] = mapped_column(String(100))  # as the officer typed it
    reason: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(300))
    area: Mapped[dict[str, Any]] = mapped_column(JSON)
    area_kind: Mapped[str] = mapped_column(String(10))
    area_sq_mi: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    start_time: Mapped[datetime] = mapped_column()
    end_time: Mapped[datetime] = mapped_column()
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    justification: Mapped[str | None] = mapped_column(Text, default=None)
    emergency_status: Mapped[str] = mapped_column(String(10), default=EmergencyStatus.none)
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(10), default=RequestStatus.open)
    # Counts fixed when the request is matched (or an emergency approved) and kept up to
    # date by shares and revocations, never recomputed from rows retention may delete.
    owners_asked: Mapped[int] = mapped_column(Integer, default=0)
    cameras_asked: Mapped[int] = mapped_column(Integer, default=0)
    clips_offered: Mapped[int] = mapped_column(Integer, default=0)
    clips_shared: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_police_requests_agency_case", "agency_id", "case_number"),)


class RequestRecipient(Base):
    """One owner asked by one request, with their decision."""

    __tablename__ = "request_recipients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("police_requests.id"), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(10), default=Decision.pending)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    share_location: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("request_id", "owner_id"),)


class RequestClip(Base):
    """A matching event offered to its owner, and what became of it."""

    __tablename__ = "request_clips"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("police_requests.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(
        ForeignKey("request_recipients.id", ondelete="CASCADE"), index=True
    )
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    shared_at: Mapped[datetime | None] = mapped_column(default=None)
    access_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    first_downloaded_at: Mapped[datetime | None] = mapped_column(default=None)
    exported_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("request_id", "event_id"),)


class Disclosure(Base):
    """A gift, discount or payment an officer received from a camera vendor."""

    __tablename__ = "disclosures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    officer_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    vendor: Mapped[str] = mapped_column(String(200))
    what: Mapped[str] = mapped_column(String(500))
    value_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    received_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRow(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(80), index=True)  # receipts list by actor
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject: Mapped[str] = mapped_column(String(120), index=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # the entry's secret salt (hex), so its public leaf hash reveals nothing guessable,
    # and that leaf hash (hex): leaf number seq - 1 of the Merkle tree
    salt: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The log's last seq and chain hash, its tree size and root; the lock that serialises
    appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    root: Mapped[str] = mapped_column(String(64), default="")
    # the tree's compact range: JSON list of the hex roots of the perfect subtrees that
    # cover it, largest first; an append merges into it without reading any node
    compact: Mapped[str] = mapped_column(Text, default="[]")


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    head_hash: Mapped[str] = mapped_column(String(64))
    time: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(120))


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),)
