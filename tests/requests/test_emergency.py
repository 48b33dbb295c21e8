"""Acceptance 3: an emergency request reaches footage only after a supervisor approves."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from doorstep.errors import Conflict
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import Role, User
from doorstep.hub.models_requests import PoliceRequest
from doorstep.hub.services import requests
from tests.requests.conftest import Owner, World, add_user, audit_rows, bearer, hub_of

JUSTIFICATION = "Child missing since 2 pm, last seen walking north on Elm Street."


def police_notes(world: World, token: str) -> list[dict[str, Any]]:
    """The owner's notifications about police requests (camera events make entries too)."""
    reply = world.client.get("/api/v1/notifications", headers=bearer(token))
    return [n for n in reply.json()["items"] if n["kind"] != "event"]


def test_emergency_needs_supervisor_then_gives_access_and_notifies(world: World) -> None:
    owner = world.owner("ann", east_m=10)
    created = world.request(
        emergency=True, justification=JUSTIFICATION, incident_type="missing_person"
    )
    assert created.status_code == 201, created.text
    request = created.json()
    rid, event_id = request["id"], owner.events[0]["id"]
    assert request["emergency_status"] == "pending"
    assert request["cameras_asked"] == 0 and request["clips"] == []
    before = world.client.get(
        f"/api/v1/requests/{rid}/clips/{event_id}", headers=bearer(world.officer)
    )
    assert before.status_code == 404
    assert police_notes(world, owner.token) == []

    # neither the requesting officer nor another agency's supervisor can approve
    assert (
        world.client.post(
            f"/api/v1/requests/{rid}/approve", headers=bearer(world.officer)
        ).status_code
        == 403
    )
    stranger = add_user(world.client, "boss@county.example", Role.supervisor, "County Sheriff")
    assert (
        world.client.post(f"/api/v1/requests/{rid}/approve", headers=bearer(stranger)).status_code
        == 404
    )

    approved = world.client.post(
        f"/api/v1/requests/{rid}/approve", headers=bearer(world.supervisor)
    )
    assert approved.status_code == 200, approved.text
    view = approved.json()
    assert view["emergency_status"] == "approved"
    assert view["cameras_asked"] == 1 and view["clips_shared"] == 1
    assert view["clips"][0]["via"] == "emergency"
    assert view["clips"][0]["location"] is None
    after = world.client.get(
        f"/api/v1/requests/{rid}/clips/{event_id}", headers=bearer(world.officer)
    )
    assert after.status_code == 200

    notes = police_notes(world, owner.token)
    assert [n["kind"] for n in notes] == ["emergency_access"]
    assert notes[0]["payload"]["request_id"] == rid
    (item,) = world.client.get("/api/v1/inbox", headers=bearer(owner.token)).json()
    assert item["decision"] == "emergency" and item["emergency"] is True

    again = world.client.post(f"/api/v1/requests/{rid}/approve", headers=bearer(world.supervisor))
    assert again.status_code == 409

    report = world.client.get("/api/v1/transparency").json()
    (row,) = report["summary"]
    assert row["emergency_requests"] == 1 and row["emergency_clips"] == 1
    (listed,) = report["requests"]
    assert listed["emergency"] is True and listed["emergency_status"] == "approved"


def test_a_closed_emergency_request_cannot_be_approved(world: World) -> None:
    """Closing stops everything: no footage without consent through a closed request."""
    owner = world.owner("ann", east_m=10)
    created = world.request(
        emergency=True, justification=JUSTIFICATION, incident_type="missing_person"
    )
    rid, event_id = created.json()["id"], owner.events[0]["id"]
    closed = world.client.post(f"/api/v1/requests/{rid}/close", headers=bearer(world.officer))
    assert closed.status_code == 200, closed.text
    approved = world.client.post(
        f"/api/v1/requests/{rid}/approve", headers=bearer(world.supervisor)
    )
    assert approved.status_code == 409, approved.text
    assert "closed" in approved.json()["detail"]
    clip = world.client.get(
        f"/api/v1/requests/{rid}/clips/{event_id}", headers=bearer(world.officer)
    )
    assert clip.status_code == 404
    assert police_notes(world, owner.token) == []


def _emergency(world: World) -> tuple[Owner, str]:
    owner = world.owner("ann", east_m=10)
    created = world.request(
        emergency=True, justification=JUSTIFICATION, incident_type="missing_person"
    )
    assert created.status_code == 201, created.text
    return owner, str(created.json()["id"])


def test_a_supervisor_rejects_an_emergency_and_no_owner_hears_of_it(world: World) -> None:
    owner, rid = _emergency(world)
    refused = world.client.post(f"/api/v1/requests/{rid}/reject", headers=bearer(world.officer))
    assert refused.status_code == 403, refused.text
    rejected = world.client.post(f"/api/v1/requests/{rid}/reject", headers=bearer(world.supervisor))
    assert rejected.status_code == 200, rejected.text
    view = rejected.json()
    assert view["emergency_status"] == "rejected"
    assert view["cameras_asked"] == 0 and view["clips"] == []
    # Final: neither approved later nor rejected twice.
    for verb in ("approve", "reject"):
        again = world.client.post(
            f"/api/v1/requests/{rid}/{verb}", headers=bearer(world.supervisor)
        )
        assert again.status_code == 409, (verb, again.text)
    clip = world.client.get(
        f"/api/v1/requests/{rid}/clips/{owner.events[0]['id']}", headers=bearer(world.officer)
    )
    assert clip.status_code == 404
    assert police_notes(world, owner.token) == []
    assert world.client.get("/api/v1/inbox", headers=bearer(owner.token)).json() == []
    rows = [r for r in audit_rows(world.client, world.auditor) if r["subject"] == f"request:{rid}"]
    assert [r["action"] for r in rows] == ["request.create", "request.emergency_reject"]
    assert rows[1]["actor"].startswith("supervisor:")


def test_approval_rechecks_the_look_back_window(world: World) -> None:
    """Approved a month late, a request would reach footage older than any request may ask."""
    owner, rid = _emergency(world)
    with session_scope(hub_of(world.client).sessions) as session:
        request = session.get(PoliceRequest, rid)
        assert request is not None
        request.start_time -= timedelta(days=30)
        request.end_time -= timedelta(days=30)
    approved = world.client.post(
        f"/api/v1/requests/{rid}/approve", headers=bearer(world.supervisor)
    )
    assert approved.status_code == 409, approved.text
    assert "30 days" in approved.json()["detail"]
    view = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert view["emergency_status"] == "pending" and view["clips"] == []
    assert police_notes(world, owner.token) == []
    # A supervisor can still reject it, which ends it.
    rejected = world.client.post(f"/api/v1/requests/{rid}/reject", headers=bearer(world.supervisor))
    assert rejected.status_code == 200, rejected.text


def test_two_supervisors_approving_at_once_give_one_approval_and_a_409(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read the request as pending before either writes: one wins, the other gets 409
    (was: a unique-constraint error, a 500)."""
    owner, rid = _emergency(world)
    add_user(world.client, "deputy@pd.example", Role.supervisor, "City PD")
    hub = hub_of(world.client)
    with session_scope(hub.sessions) as session:
        ids = [
            session.scalars(select(User.id).where(User.email == email)).one()
            for email in ("chief@pd.example", "deputy@pd.example")
        ]
    both_read = threading.Barrier(2, timeout=10)
    read = requests.get_request

    def read_then_wait(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        both_read.wait()
        return found

    monkeypatch.setattr(requests, "get_request", read_then_wait)

    def approve(user_id: str) -> str:
        try:
            with session_scope(hub.sessions) as session:
                user = session.get(User, user_id)
                assert user is not None
                requests.approve_emergency(hub, session, user, rid, utcnow())
            return "approved"
        except Conflict:
            return "409"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(approve, ids))
    assert outcomes == ["409", "approved"]
    monkeypatch.undo()
    view = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()
    assert view["emergency_status"] == "approved" and view["clips_shared"] == 1
    notes = police_notes(world, owner.token)
    assert [n["kind"] for n in notes] == ["emergency_access"]
    approvals = [
        r for r in audit_rows(world.client, world.auditor) if r["subject"] == f"request:{rid}"
    ]
    assert [r["action"] for r in approvals].count("request.emergency_approve") == 1


def test_an_owner_inbox_does_not_call_emergency_access_a_share_or_set_a_deadline(
    world: World,
) -> None:
    owner, rid = _emergency(world)
    world.client.post(f"/api/v1/requests/{rid}/approve", headers=bearer(world.supervisor))
    (item,) = world.client.get("/api/v1/inbox", headers=bearer(owner.token)).json()
    assert item["decision"] == "emergency"
    assert item["deadline"] is None  # nothing to answer
    (clip,) = item["clips"]
    assert clip["revocable"] is False and clip["viewed_at"] is None
