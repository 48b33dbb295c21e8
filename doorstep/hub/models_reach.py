"""Reaching people: the durable job queue, Web Push subscriptions, notification rules
and mode schedules (docs/reach.md).

Why these shapes:

* ``jobs`` is the delivery queue in the hub's own database, so a delivery is queued in
  the same transaction as the thing it announces and a restart loses nothing. ``key``
  makes enqueueing idempotent (the same key twice is one job). A worker claims due jobs
  (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL), marks them ``running`` with a
  lease (``locked_until``) and commits before doing the work, so two workers never run
  the same job; a worker that dies mid-job leaves a lease that expires, and the job runs
  again.
* ``push_subscriptions`` holds a browser's PushSubscription: the push service endpoint
  and the keys the payload is encrypted to (RFC 8291). One row per endpoint.
* ``notification_rules``: which events reach the user on which channel, and when not
  (quiet hours, in the user's time zone). A user with no rule gets push for every event.
* ``mode_schedules``: switch the user's mode (home/away/off) at a time of day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.hub.db import Base, new_id, utcnow


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued|running|done|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_jobs_state_run_at", "state", "run_at"),)


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)


class NotificationRule(Base):
    __tablename__ = "notification_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # None: every camera of the user.
    camera_id: Mapped[str | None] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), default=None
    )
    zone: Mapped[str | None] = mapped_column(String(100), default=None)  # None: anywhere
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any label
    min_score: Mapped[float | None] = mapped_column(Float, default=None)  # None: any score
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # push, email, mqtt
    quiet_start: Mapped[str | None] = mapped_column(String(5), default=None)  # "22:00"
    quiet_end: Mapped[str | None] = mapped_column(String(5), default=None)  # "07:00"
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModeSchedule(Base):
    __tablename__ = "mode_schedules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(10))
    at: Mapped[str] = mapped_column(String(5))  # "HH:MM" in the user's time zone
    days: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 = Monday; empty: every day
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
