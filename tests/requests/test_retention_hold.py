"""Retention holds a clip shared with police while the officer's access runs, then deletes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from doorstep.demo import SAMPLE_VIDEO
from doorstep.demo.seed import CENTRE, seed
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import Camera, Event, User
from doorstep.hub.models_requests import AuditRow
from doorstep.hub.schemas_requests import DecisionCreate, RequestCreate
from doorstep.hub.services import inbox, requests
from doorstep.hub.services.retention import purge_expired
from tests.hub_fixtures import bearer
from tests.requests.conftest import Owner, World, hub_of


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
        purge_expired(session, hub.storage, hub.log_key, now + timedelta(days=31))
        assert [e.id for e in session.scalars(select(Event))] == [first.id]
        assert session.scalar(select(AuditRow).where(AuditRow.action == "retention.delete"))
    assert total > 1

    with session_scope(hub.sessions) as session:  # the officer's access has expired
        purge_expired(session, hub.storage, hub.log_key, now + timedelta(days=91))
        assert session.query(Event).count() == 0


def _purge(world: World, at: datetime) -> None:
    hub = hub_of(world.client)
    with session_scope(hub.sessions) as session:
        purge_expired(session, hub.storage, hub.log_key, at)


def _event_ids(world: World) -> set[str]:
    with session_scope(hub_of(world.client).sessions) as session:
        return set(session.scalars(select(Event.id)))


def _one_day_retention(world: World, owner: Owner) -> None:
    for camera in owner.cameras:
        reply = world.client.patch(
            f"/api/v1/cameras/{camera['id']}",
            json={"retention_days": 1},
            headers=bearer(owner.token),
        )
        assert reply.status_code == 200, reply.text


def test_clips_offered_to_an_owner_who_has_not_answered_are_held_until_the_deadline(
    world: World,
) -> None:
    """Issue 10 A.3: retention used to delete what a pending owner could still share."""
    ann = world.owner("ann", east_m=20, events_in_window=2, events_outside=1)
    _one_day_retention(world, ann)
    rid = world.request().json()["id"]
    offered = {e["id"] for e in ann.events}
    before = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert before["cameras_asked"] == 1

    _purge(world, world.end + timedelta(days=2))  # past retention, before the deadline
    assert _event_ids(world) == offered  # the one outside the window went; the offered stay
    reply = world.client.post(
        f"/api/v1/inbox/{rid}/decision",
        json={"action": "share", "event_ids": [ann.events[0]["id"]]},
        headers=bearer(ann.token),
    )
    assert reply.status_code == 200, reply.text  # the owner can still share what was asked

    _purge(world, world.end + timedelta(days=200))  # every hold has ended
    assert _event_ids(world) == set()
    after = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    # the counts are the request's own: deleting the rows behind them changes nothing
    assert (after["cameras_asked"], after["clips_shared"]) == (1, 1)


def test_a_silent_owners_clips_are_released_at_the_deadline(world: World) -> None:
    ann = world.owner("ann", east_m=20)
    _one_day_retention(world, ann)
    world.request()
    deadline = datetime.now(UTC) + timedelta(days=7)
    _purge(world, deadline - timedelta(hours=1))
    assert _event_ids(world) == {ann.events[0]["id"]}
    _purge(world, deadline + timedelta(hours=1))
    assert _event_ids(world) == set()


def test_deleting_a_camera_keeps_held_footage_until_the_hold_ends_and_says_so(
    world: World,
) -> None:
    ann = world.owner("ann", east_m=20, events_in_window=2, events_outside=1)
    rid = world.request().json()["id"]
    share = {"action": "share", "event_ids": [ann.events[0]["id"]]}
    world.client.post(f"/api/v1/inbox/{rid}/decision", json=share, headers=bearer(ann.token))
    camera = ann.cameras[0]

    reply = world.client.delete(f"/api/v1/cameras/{camera['id']}", headers=bearer(ann.token))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["deleted_events"], body["held_events"]) == (2, 1)  # one unshared, one outside
    assert "held for a police request" in body["detail"]
    expires = datetime.fromisoformat(body["held_until"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)

    # gone for every purpose but the hold: not listed, not readable, its key is dead
    listed = world.client.get("/api/v1/cameras", headers=bearer(ann.token)).json()
    assert camera["id"] not in [c["id"] for c in listed]
    gone = world.client.get(f"/api/v1/cameras/{camera['id']}", headers=bearer(ann.token))
    assert gone.status_code == 404
    refused = world.api.client.get("/api/v1/ingest/config", headers=bearer(camera["api_key"]))
    assert refused.status_code == 401
    # the officer still has the shared clip and the request its record
    view = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert [c["event_id"] for c in view["clips"]] == [ann.events[0]["id"]]
    clip = world.client.get(
        f"/api/v1/requests/{rid}/clips/{ann.events[0]['id']}", headers=bearer(world.officer)
    )
    assert clip.status_code == 200

    _purge(world, expires + timedelta(minutes=1))
    assert _event_ids(world) == set()
    with session_scope(hub_of(world.client).sessions) as session:
        assert session.get(Camera, camera["id"]) is None  # the deletion completed
    view = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert (view["cameras_asked"], view["clips_shared"]) == (1, 1)
