"""The OpenAPI document is the contract: one error shape, real media types, 405's Allow,
strict types. Each test holds a documented promise against what the hub really answers.

One hub on SQLite for the module: nothing here depends on the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doorstep.hub.errors_http import ErrorBody
from tests.hub_fixtures import Api, bearer, sqlite_hub

ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def hub_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sqlite_hub(tmp_path_factory.mktemp("contract")) as client:
        yield client


@pytest.fixture(scope="module")
def document(hub_client: TestClient) -> dict[str, Any]:
    reply = hub_client.get("/openapi.json")
    assert reply.status_code == 200
    return dict(reply.json())


@pytest.fixture(scope="module")
def owner(hub_client: TestClient) -> dict[str, str]:
    """An owner's token, a camera key and an event with a clip and a snapshot."""
    api = Api(hub_client)
    token = api.signup("contract@example.org")
    key = api.camera(token)["api_key"]
    event = api.event(key)
    for kind, data in (("clip", b"\x00\x00\x00\x18ftypmp42"), ("snapshot", b"\xff\xd8\xff")):
        assert api.upload(key, event["id"], data, kind=kind).status_code == 201
    return {"token": token, "key": key, "event_id": event["id"]}


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def assert_error_body(reply: Any, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body = dict(reply.json())
    assert set(body) == {"detail", "field", "errors", "retry_after"}
    ErrorBody.model_validate(body)
    return body


def test_every_error_reply_is_documented_as_the_one_shape(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ErrorBody" in schemas
    assert set(schemas["ErrorBody"]["properties"]) == {"detail", "field", "errors", "retry_after"}
    for method, path, operation in operations(document):
        responses = operation["responses"]
        assert "500" in responses, (method, path)
        for status, response in responses.items():
            if int(status) < 400 or (path.endswith("/health") and status == "503"):
                continue  # health answers 503 with its own report
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (method, path, status)
            if status in ("429", "503"):
                assert response["headers"]["Retry-After"]["required"] is True


def test_errors_are_derived_from_each_route(document: dict[str, Any]) -> None:
    def codes(method: str, path: str) -> set[str]:
        return set(document["paths"][path][method]["responses"])

    assert {"401", "403", "404", "422", "503"} <= codes("get", "/api/v1/cameras/{camera_id}")
    assert {"401", "404", "413", "409", "400", "200", "201"} <= codes(
        "put", "/api/v1/ingest/events/{event_id}/clip"
    )
    assert "403" not in codes("put", "/api/v1/ingest/events/{event_id}/clip")  # a camera key
    assert {"409", "429"} <= codes("post", "/api/v1/auth/signup")
    assert {"401", "429"} <= codes("post", "/api/v1/auth/token")
    assert not {"401", "403", "404", "422"} & codes("get", "/api/v1/transparency")


def test_real_error_replies_match_the_documented_shape(
    hub_client: TestClient, owner: dict[str, str]
) -> None:
    body = assert_error_body(hub_client.post("/api/v1/cameras", json={}), 401)
    assert body["errors"] == []
    headers = bearer(owner["token"])
    body = assert_error_body(hub_client.post("/api/v1/cameras", json={}, headers=headers), 422)
    assert {e["field"] for e in body["errors"]} >= {"name", "latitude", "longitude"}
    assert body["field"] == body["errors"][0]["field"]
    missing = f"/api/v1/cameras/{uuid.uuid4()}"
    assert_error_body(hub_client.get(missing, headers=headers), 404)
    assert_error_body(hub_client.get("/api/v1/no-such-route"), 404)
    broken = hub_client.post(
        "/api/v1/cameras",
        content=b"\xff\xfe",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert broken.status_code in (400, 422)
    assert_error_body(broken, broken.status_code)


MEDIA = {
    ("get", "/api/v1/keys/hub.pub"): "application/x-pem-file",
    ("get", "/api/v1/transparency/csv"): "text/csv",
    ("get", "/api/v1/log/checkpoint"): "text/plain",
    ("get", "/api/v1/log/checkpoints/{size}"): "text/plain",
    ("get", "/api/v1/events/{event_id}/clip"): "video/mp4",
    ("get", "/api/v1/events/{event_id}/snapshot"): "image/jpeg",
    ("get", "/api/v1/requests/{request_id}/clips/{event_id}"): "video/mp4",
    ("get", "/api/v1/requests/{request_id}/clips/{event_id}/snapshot"): "image/jpeg",
    ("post", "/api/v1/requests/{request_id}/evidence"): "application/zip",
}


def test_non_json_replies_document_their_media_type(document: dict[str, Any]) -> None:
    for (method, path), media in MEDIA.items():
        content = document["paths"][path][method]["responses"]["200"]["content"]
        assert list(content) == [media], (path, list(content))
        if not media.startswith("text/") and media != "application/x-pem-file":
            assert content[media]["schema"] == {"type": "string", "format": "binary"}
    documented = {
        (method.lower(), path)
        for method, path, operation in operations(document)
        for status, response in operation["responses"].items()
        if status.startswith("2") and set(response.get("content", {})) - {"application/json"}
    }
    assert documented == set(MEDIA)  # a new non-JSON reply is added to this list


def test_replies_carry_the_documented_media_type(
    hub_client: TestClient, owner: dict[str, str]
) -> None:
    headers = bearer(owner["token"])
    served = {
        "/api/v1/keys/hub.pub": "application/x-pem-file",
        "/api/v1/transparency/csv": "text/csv",
        "/api/v1/log/checkpoint": "text/plain",
        f"/api/v1/events/{owner['event_id']}/clip": "video/mp4",
        f"/api/v1/events/{owner['event_id']}/snapshot": "image/jpeg",
    }
    for path, media in served.items():
        reply = hub_client.get(path, headers=headers)
        assert reply.status_code == 200, (path, reply.text)
        assert reply.headers["content-type"].split(";")[0] == media, path


def test_405_names_every_method_the_path_accepts(hub_client: TestClient) -> None:
    for path, allowed in (
        ("/api/v1/cameras", "GET, POST"),  # two routes share the path
        ("/api/v1/log/witnesses", "GET, POST"),
        ("/api/v1/keys/hub.pub", "GET"),
    ):
        reply = hub_client.request("PUT", path)
        assert_error_body(reply, 405)
        assert reply.headers["allow"] == allowed, path


def test_types_are_strict_as_the_schema_says(hub_client: TestClient, owner: dict[str, str]) -> None:
    headers = bearer(owner["token"])
    refused: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", "/api/v1/users/me", {"opt_out_requests": 0}),
        ("PATCH", "/api/v1/users/me", {"opt_out_requests": "true"}),
        ("POST", "/api/v1/cameras", {"name": "a", "latitude": "51.5", "longitude": 0}),
        (
            "POST",
            "/api/v1/cameras",
            {"name": "a", "latitude": 1, "longitude": 0, "retention_days": "30"},
        ),
        (
            "POST",
            "/api/v1/cameras",
            {"name": "a", "latitude": 1, "longitude": 0, "retention_days": True},
        ),
        (
            "POST",
            "/api/v1/cameras",
            {"name": "a", "latitude": 1, "longitude": 0, "opt_out_requests": 1},
        ),
        (
            "POST",
            "/api/v1/disclosures",
            {"vendor": "v", "what": "w", "value": "1e3", "received_on": "2026-01-01"},
        ),
        (
            "POST",
            "/api/v1/disclosures",
            {"vendor": "v", "what": "w", "value": 1, "received_on": 20000},
        ),
    ]
    for method, path, body in refused:
        reply = hub_client.request(method, path, json=body, headers=headers)
        assert_error_body(reply, 422)
    start = datetime.now(UTC) - timedelta(minutes=5)
    event = {"id": str(uuid.uuid4()), "start_time": start.timestamp()}
    reply = hub_client.post("/api/v1/ingest/events", json=event, headers=bearer(owner["key"]))
    assert_error_body(reply, 422)
    for path in (
        "/api/v1/events?until=0.5",
        "/api/v1/events?since=1700000000",
        "/api/v1/events?limit=5.0",
        "/api/v1/notifications?unread=yes",
        "/api/v1/notifications?unread=1",
    ):
        assert_error_body(hub_client.get(path, headers=headers), 422)
    for path in ("/api/v1/events?limit=5", "/api/v1/notifications?unread=true"):
        assert hub_client.get(path, headers=headers).status_code == 200
    # what the schema promises is still taken: 30.0 is an integer in JSON Schema
    body = {"name": "a", "latitude": 1, "longitude": 0, "retention_days": 30.0}
    assert hub_client.post("/api/v1/cameras", json=body, headers=headers).status_code == 201
    until = (datetime.now(UTC)).isoformat()
    assert (
        hub_client.get("/api/v1/events", params={"until": until}, headers=headers).status_code
        == 200
    )


def test_upload_hash_is_required_and_documented(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/ingest/events/{event_id}/clip"]["put"]
    header = next(p for p in operation["parameters"] if p["name"] == "X-Content-SHA256")
    assert header["required"] is True
    assert header["schema"]["pattern"] == "^[0-9a-f]{64}$"
