"""Accounts, agencies, tokens, cameras and events: the hub's core tables.

Features built on the hub (police requests, audit) keep their tables in their
own modules; every table is created by an Alembic revision, never by create_all.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from doorstep.hub.db import Base, new_id, utcnow


class Role(enum.StrEnum):
    owner = "owner"
    officer = "officer"
    supervisor = "supervisor"
    auditor = "auditor"
    admin = "admin"


AGENCY_ROLES = frozenset({Role.officer, Role.supervisor})


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    opt_out_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Reaching the user (docs/reach.md). Email about police requests and access to their
    # footage goes unless they turn it off; event emails are an opt-in digest.
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    event_email_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Home / Away / Off: what each camera does is in Camera.mode_settings.
    mode: Mapped[str] = mapped_column(String(10), default="home")
    mode_changed_at: Mapped[datetime | None] = mapped_column(default=None)

    agency: Mapped[Agency | None] = relationship(lazy="joined")


class ApiToken(Base):
    """A user's session (bearer token or page cookie).

    Only the token's SHA-256 is stored, so a leaked table grants nothing; ``id`` names
    the session to its user (list, revoke) without revealing anything usable.
    ``enrolment_only``: signed in with a password alone while multi-factor enrolment is
    due, so it reaches nothing but enrolment, ``/auth/me`` and sign-out.
    """

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    client: Mapped[str] = mapped_column(String(100), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    enrolment_only: Mapped[bool] = mapped_column(Boolean, default=False)


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    opt_out_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per mode, whether the camera records and notifies: {"away": {"record": true,
    # "notify": true}, ...}; a mode not named takes doorstep.hub.services.modes' default.
    mode_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped whenever what the agent should do changes (settings, zones, mode), so the
    # agent's control connection knows to send a new state.
    control_version: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when its owner deletes it while footage is held for police: the camera is gone
    # for every purpose but the held clips, and retention removes the row once they go.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_cameras_lat_lon", "latitude", "longitude"),)


class Event(Base):
    """A motion event with its clip and snapshot, stored content-addressed by SHA-256."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    start_time: Mapped[datetime] = mapped_column()
    end_time: Mapped[datetime | None] = mapped_column(default=None)
    label: Mapped[str] = mapped_column(String(40), default="motion")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # Every label the agent recognised during the event (its ``label`` is the best one),
    # and the names of the owner's zones the motion entered (docs/ingest-api.md).
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    box: Mapped[list[float] | None] = mapped_column(JSON, default=None)
    clip_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    clip_size: Mapped[int | None] = mapped_column(Integer, default=None)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    snapshot_size: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    camera: Mapped[Camera] = relationship(lazy="joined")

    __table_args__ = (Index("ix_events_camera_start", "camera_id", "start_time"),)
