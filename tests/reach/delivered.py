"""What one ingested event became once its delivery job ran, for the rule tests."""

from __future__ import annotations

import time

from sqlalchemy import select

from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope
from doorstep.hub.models_reach import Job
from doorstep.hub.models_requests import Notification
from doorstep.hub.workers import build_worker


def delivered(hub: Hub, event_id: str, user_id: str) -> tuple[int, int]:
    """(inbox entries, push jobs) of the event, once its delivery job ran."""
    deadline = time.monotonic() + 10
    while True:  # this drain, or the hub's own worker, runs it
        build_worker(hub).drain()
        with session_scope(hub.sessions) as session:
            state = session.scalar(select(Job.state).where(Job.key == f"event:{event_id}"))
        if state in ("done", "dead") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    with session_scope(hub.sessions) as session:
        notes = {
            n.id
            for n in session.scalars(select(Notification).where(Notification.user_id == user_id))
            if n.payload.get("event_id") == event_id
        }
        pushes = [
            j
            for j in session.scalars(select(Job).where(Job.kind == "push.send"))
            if j.payload["user_id"] == user_id and j.payload["message"]["id"] in notes
        ]
        return len(notes), len(pushes)
