"""Bad input gets a 4xx naming the field and the reason; never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.hub.conftest import Api, bearer


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "c", "latitude": 91, "longitude": 0}, "latitude"),
        ({"name": "c", "latitude": 0, "longitude": -181}, "longitude"),
        ({"name": "c", "latitude": 0, "longitude": 0, "retention_days": 0}, "retention_days"),
        ({"name": "c", "latitude": 0, "longitude": 0, "retention_days": 181}, "retention_days"),
        ({"name": "", "latitude": 0, "longitude": 0}, "name"),
        ({"latitude": "north", "longitude": 0, "name": "c"}, "latitude"),
    ],
)
def test_camera_validation_names_the_field(api: Api, body: dict, field: str) -> None:
    token = api.signup("ann@example.org")
    reply = api.client.post("/api/v1/cameras", json=body, headers=bearer(token))
    assert reply.status_code == 422
    assert reply.json()["field"] == field
    assert field in reply.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "correct horse battery", "name": "A"},
        {"email": "a@example.org", "password": "short", "name": "A"},
        {"email": "a@example.org", "password": "correct horse battery"},
    ],
)
def test_signup_validation(client: TestClient, body: dict) -> None:
    reply = client.post("/api/v1/auth/signup", json=body)
    assert reply.status_code == 422 and reply.json()["errors"]


def test_duplicate_signup_is_409(api: Api, client: TestClient) -> None:
    api.signup("ann@example.org")
    again = client.post(
        "/api/v1/auth/signup",
        json={"email": "ANN@example.org", "password": "correct horse battery", "name": "A"},
    )
    assert again.status_code == 409 and again.json()["field"] == "email"


@pytest.mark.parametrize(
    "body",
    [
        {"id": "not-a-uuid", "start_time": "2026-11-01T12:00:00Z"},
        {"id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11", "start_time": "2026-11-01T12:00:00"},
        {
            "id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11",
            "start_time": "2026-11-01T12:00:00Z",
            "score": 2,
        },
        {
            "id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11",
            "start_time": "2026-11-01T12:00:00Z",
            "box": [0, 0, 2],
        },
        {
            "id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11",
            "start_time": "2026-11-01T12:00:00Z",
            "label": "dog",
        },
        # An end before the start; an event longer than the hour matching relies on.
        {
            "id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11",
            "start_time": "2026-11-01T12:00:00Z",
            "end_time": "2026-11-01T11:59:00Z",
        },
        {
            "id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11",
            "start_time": "2026-11-01T12:00:00Z",
            "end_time": "2026-11-01T13:00:01Z",
        },
        # Valid ISO dates whose UTC instant falls outside years 1-9999.
        {"id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11", "start_time": "0001-01-01T00:30:00+01:00"},
        {"id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11", "start_time": "9999-12-31T23:59:00-01:00"},
    ],
)
def test_bad_events_are_422(api: Api, body: dict) -> None:
    key = api.camera(api.signup("ann@example.org"))["api_key"]
    reply = api.client.post("/api/v1/ingest/events", json=body, headers=bearer(key))
    assert reply.status_code == 422 and reply.json()["field"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        (
            "post",
            "/api/v1/cameras",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        ),
        (
            "post",
            "/api/v1/cameras",
            {"content": b"\xff\xfe\x00", "headers": {"Content-Type": "application/json"}},
        ),
        ("post", "/api/v1/cameras", {"json": [1, 2, 3]}),
        ("get", "/api/v1/events", {"params": {"since": "yesterday"}}),
        ("get", "/api/v1/events", {"params": {"limit": "-1"}}),
        ("get", "/api/v1/events", {"params": {"since": "2024-01-01T00:00:00"}}),  # no zone
        ("get", "/api/v1/events", {"params": {"since": "0001-01-01T00:00:00+01:00"}}),
        ("get", "/api/v1/events", {"params": {"offset": str(10**20)}}),
        ("get", "/api/v1/events/%00", {}),
        ("patch", "/api/v1/cameras/x", {"json": {"retention_days": "forever"}}),
    ],
)
def test_malformed_requests_never_500(api: Api, method: str, path: str, kwargs: dict) -> None:
    token = api.signup("ann@example.org")
    kwargs.setdefault("headers", {}).update(bearer(token))
    reply = getattr(api.client, method)(path, **kwargs)
    assert 400 <= reply.status_code < 500, reply.text
    assert "detail" in reply.json()


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    schema = client.get("/openapi.json").json()
    assert "/api/v1/ingest/events/{event_id}/clip" in schema["paths"]
    assert client.get("/docs").status_code == 200
