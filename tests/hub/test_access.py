"""Acceptance 3: nobody reaches another owner's data; credentials are checked everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from doorstep.hub.models import ApiToken
from tests.hub.conftest import Api, bearer
from tests.hub_fixtures import enrol_totp


@pytest.fixture
def two_owners(api: Api) -> dict[str, object]:
    ann = api.signup("ann@example.org")
    bob = api.signup("bob@example.org")
    camera = api.camera(ann)
    event = api.event(camera["api_key"])
    assert api.upload(camera["api_key"], event["id"], b"clip bytes" * 100).status_code == 201
    return {"ann": ann, "bob": bob, "camera": camera, "event": event}


def test_second_owner_gets_404_for_everything_of_the_first(api: Api, two_owners: dict) -> None:
    bob = bearer(two_owners["bob"])
    camera_id = two_owners["camera"]["id"]
    event_id = two_owners["event"]["id"]
    client = api.client
    assert client.get("/api/v1/cameras", headers=bob).json() == []
    assert client.get(f"/api/v1/cameras/{camera_id}", headers=bob).status_code == 404
    assert (
        client.patch(f"/api/v1/cameras/{camera_id}", json={"name": "x"}, headers=bob).status_code
        == 404
    )
    assert client.post(f"/api/v1/cameras/{camera_id}/rotate-key", headers=bob).status_code == 404
    assert client.delete(f"/api/v1/cameras/{camera_id}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/events/{event_id}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/events/{event_id}/clip", headers=bob).status_code == 404
    assert client.get(f"/api/v1/events/{event_id}/snapshot", headers=bob).status_code == 404
    assert client.get("/api/v1/events", headers=bob).json()["total"] == 0
    assert (
        client.get("/api/v1/events", params={"camera_id": camera_id}, headers=bob).json()["total"]
        == 0
    )
    # and the first owner still has it all
    ann = bearer(two_owners["ann"])
    assert client.get(f"/api/v1/events/{event_id}/clip", headers=ann).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/api/v1/cameras", "/api/v1/events", "/api/v1/auth/me", "/api/v1/users"],
)
def test_without_a_token_401(client: TestClient, path: str) -> None:
    reply = client.get(path)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert client.get(path, headers=bearer("dst_forged")).status_code == 401


def test_expired_token_401(api: Api, client: TestClient) -> None:
    token = api.signup("ann@example.org")
    assert client.get("/api/v1/cameras", headers=bearer(token)).status_code == 200
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.sessions.begin() as session:
        session.execute(
            update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    reply = client.get("/api/v1/cameras", headers=bearer(token))
    assert reply.status_code == 401 and "expired" in reply.json()["detail"]


def test_token_reply_has_expiry(client: TestClient, api: Api) -> None:
    api.signup("ann@example.org")
    reply = client.post(
        "/api/v1/auth/token",
        data={"username": "ann@example.org", "password": "correct horse battery"},
    )
    assert set(reply.json()) == {"access_token", "token_type", "expires_at"}
    assert reply.json()["token_type"] == "bearer"


def test_logout_revokes_token(api: Api, client: TestClient) -> None:
    token = api.signup("ann@example.org")
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/cameras", headers=bearer(token)).status_code == 401


def test_camera_key_cannot_call_user_endpoints_and_users_cannot_upload(
    api: Api, client: TestClient
) -> None:
    token = api.signup("ann@example.org")
    camera = api.camera(token)
    key = camera["api_key"]
    assert client.get("/api/v1/cameras", headers=bearer(key)).status_code == 401
    assert client.get("/api/v1/events", headers=bearer(key)).status_code == 401
    body = {"id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11", "start_time": "2026-11-01T12:00:00Z"}
    assert client.post("/api/v1/ingest/events", json=body, headers=bearer(token)).status_code == 401
    event = api.event(key)
    assert api.upload(token, event["id"], b"data").status_code == 401


def test_rotated_key_stops_working(api: Api, client: TestClient) -> None:
    token = api.signup("ann@example.org")
    camera = api.camera(token)
    new = client.post(f"/api/v1/cameras/{camera['id']}/rotate-key", headers=bearer(token)).json()[
        "api_key"
    ]
    assert client.get("/api/v1/ingest/config", headers=bearer(camera["api_key"])).status_code == 401
    assert client.get("/api/v1/ingest/config", headers=bearer(new)).status_code == 200


def test_event_id_of_another_camera_is_refused(api: Api) -> None:
    ann_key = api.camera(api.signup("ann@example.org"))["api_key"]
    bob_key = api.camera(api.signup("bob@example.org"))["api_key"]
    event = api.event(ann_key)
    reply = api.client.post(
        "/api/v1/ingest/events",
        json={"id": event["id"], "start_time": event["start_time"]},
        headers=bearer(bob_key),
    )
    assert reply.status_code == 409
    assert api.upload(bob_key, event["id"], b"data").status_code == 404


def test_roles_are_enforced(api: Api, client: TestClient) -> None:
    owner = api.signup("ann@example.org")
    body = {
        "email": "cop@example.org",
        "password": "correct horse battery",
        "name": "Cop",
        "role": "officer",
        "agency": "City PD",
    }
    assert client.post("/api/v1/users", json=body, headers=bearer(owner)).status_code == 403
    assert (
        client.post("/api/v1/agencies", json={"name": "PD"}, headers=bearer(owner)).status_code
        == 403
    )


def test_admin_creates_an_officer_who_cannot_own_cameras(api: Api, client: TestClient) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    from doorstep.hub.models import Role
    from doorstep.hub.services.accounts import create_user

    with hub.sessions.begin() as session:
        create_user(
            session,
            email="root@example.org",
            password="correct horse battery",
            name="Root",
            role=Role.admin,
        )
    enrol_totp(hub, "root@example.org")  # admins sign in with a TOTP code
    admin = api.login("root@example.org")
    body = {
        "email": "cop@example.org",
        "password": "correct horse battery",
        "name": "Cop",
        "role": "officer",
        "agency": "City PD",
    }
    created = client.post("/api/v1/users", json=body, headers=bearer(admin))
    assert created.status_code == 201 and created.json()["role"] == "officer"
    missing_agency = client.post(
        "/api/v1/users",
        json={**body, "email": "x@example.org", "agency": None},
        headers=bearer(admin),
    )
    assert missing_agency.status_code == 422 and missing_agency.json()["field"] == "agency"
    enrol_totp(hub, "cop@example.org")
    officer = api.login("cop@example.org")
    reply = client.post(
        "/api/v1/cameras",
        json={"name": "c", "latitude": 1, "longitude": 1},
        headers=bearer(officer),
    )
    assert reply.status_code == 403


def test_login_attempts_are_rate_limited(api: Api, client: TestClient) -> None:
    """A client's failures for an account make it wait, even with the right password."""
    api.signup("ann@example.org")
    hub = client.app.state.hub  # type: ignore[attr-defined]
    hub.login_limiter.clock = lambda: 1000.0  # time stands still: no wait runs out
    for _ in range(hub.settings.login_free_failures_per_account):
        wrong = client.post(
            "/api/v1/auth/token",
            data={"username": "ann@example.org", "password": "wrong password!"},
        )
        assert wrong.status_code == 401
    blocked = client.post(
        "/api/v1/auth/token",
        data={"username": "ann@example.org", "password": "correct horse battery"},
    )
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == str(blocked.json()["retry_after"]) == "1"


def test_oversized_usernames_count_against_the_client_only(client: TestClient) -> None:
    """Made-up megabyte emails get no limiter key of their own, yet cannot dodge the limit."""
    hub = client.app.state.hub  # type: ignore[attr-defined]
    limiter = hub.login_limiter
    limiter.clock = lambda: 1000.0  # time stands still: no wait runs out
    free = hub.settings.login_free_failures_per_client
    replies = [
        client.post(
            "/api/v1/auth/token", data={"username": f"{n:02}" + "x" * 999_000, "password": "x" * 12}
        ).status_code
        for n in range(free + 2)
    ]
    assert replies == [401] * free + [429] * 2
    assert len(limiter) == 1  # the client's key
