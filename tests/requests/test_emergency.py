"""Acceptance 3: an emergency request reaches footage only after a supervisor approves."""

from __future__ import annotations

from doorstep.hub.models import Role
from tests.requests.conftest import World, add_user, bearer

JUSTIFICATION = "Child missing since 2 pm, last seen walking north on Elm Street."


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
    assert world.client.get("/api/v1/notifications", headers=bearer(owner.token)).json() == []

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

    notes = world.client.get("/api/v1/notifications", headers=bearer(owner.token)).json()
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
    assert world.client.get("/api/v1/notifications", headers=bearer(owner.token)).json() == []
