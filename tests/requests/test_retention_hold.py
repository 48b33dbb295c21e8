"""Retention holds a clip shared with police while the officer's access runs, then deletes it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from doorstep.demo import SAMPLE_VIDEO
from doorstep.demo.seed import CENTRE, seed
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import Event, User
from doorstep.hub.models_requests import AuditRow
from doorstep.hub.schemas_requests import DecisionCreate, RequestCreate
from doorstep.hub.services import inbox, requests
from doorstep.hub.services.retention import purge_expired


def test_shared_clip_is_held_until_access_expires(client: TestClient) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    seed(hub, SAMPLE_VIDEO)
    now = utcnow()
    with session_scope(hub.sessions) as session:
        officer = session.scalar(select(User).where(User.email == "officer@example.org"))
        first = session.scalar(select(Event).order_by(Event.start_time).limit(1))
        assert officer is not None and first is not None
        data = RequestCreate(
            incident_type="burglary",
            case_number="R-1",
            reason="Checking retention holds on shared footage.",
            contact="desk@example.org",
            area={"type": "Circle", "center": [CENTRE[1], CENTRE[0]], "radius_m": 250},
            start_time=first.start_time - timedelta(minutes=5),
            end_time=first.start_time + timedelta(hours=2),
        )
        request = requests.create_request(hub, session, officer, data, now)
        owner = session.get(User, first.camera.owner_id)
        assert owner is not None
        share = DecisionCreate(action="share", event_ids=[first.id])
        inbox.decide(hub, session, owner, request.id, share, now)
        total = session.query(Event).count()

    with session_scope(hub.sessions) as session:  # every clip is past its 30 days
        purge_expired(session, hub.storage, now + timedelta(days=31))
        assert [e.id for e in session.scalars(select(Event))] == [first.id]
        assert session.scalar(select(AuditRow).where(AuditRow.action == "retention.delete"))
    assert total > 1

    with session_scope(hub.sessions) as session:  # the officer's access has expired
        purge_expired(session, hub.storage, now + timedelta(days=91))
        assert session.query(Event).count() == 0
