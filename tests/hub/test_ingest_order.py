"""Uploads check the camera key before anything else, and keep nothing of a malformed request.

The over-long body is sent on a raw socket to a real server: only a real HTTP server
parses past ``Content-Length`` and refuses the connection while the upload is read.
"""

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.hub_fixtures import Api, bearer, sqlite_hub
from tests.server_process import ServerProcess

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def hub_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sqlite_hub(tmp_path_factory.mktemp("ingest")) as client:
        yield client


@pytest.mark.parametrize("key", [None, "dsk_not-a-key", "dst_a-user-token"])
def test_a_clip_without_a_valid_key_is_refused_before_its_headers_are_read(
    hub_client: TestClient, key: str | None
) -> None:
    """No X-Content-SHA256, no Content-Length rules: an unknown caller learns only 401."""
    headers = bearer(key) if key else {}
    for kind in ("clip", "snapshot"):
        reply = hub_client.put(f"/api/v1/ingest/events/{uuid.uuid4()}/{kind}", headers=headers)
        assert reply.status_code == 401, reply.text
        assert reply.json()["field"] is None
        assert reply.headers["www-authenticate"] == "Bearer"


def test_a_valid_key_then_learns_what_is_missing(hub_client: TestClient) -> None:
    api = Api(hub_client)
    key = api.camera(api.signup("order@example.org"))["api_key"]
    event = api.event(key)
    reply = hub_client.put(
        f"/api/v1/ingest/events/{event['id']}/clip", content=b"clip", headers=bearer(key)
    )
    assert reply.status_code == 422
    assert reply.json()["field"] == "X-Content-SHA256"


def _exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes; read until the server closes (it does, on a malformed request)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_a_body_longer_than_its_content_length_stores_nothing(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", f"sqlite:///{tmp_path / 'hub.db'}")
    server.start()
    try:
        client = httpx.Client(base_url=server.url, timeout=10)
        api = Api(client)
        token = api.signup("long@example.org")
        key = api.camera(token)["api_key"]
        event_id = str(uuid.uuid4())
        created = client.post(
            "/api/v1/ingest/events",
            json={"id": event_id, "start_time": datetime.now(UTC).isoformat()},
            headers=bearer(key),
        )
        assert created.status_code == 201
        declared = b"\x00\x00\x00\x18ftypmp42" * 20_000  # what Content-Length announces
        head = (
            f"PUT /api/v1/ingest/events/{event_id}/clip HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"X-Content-SHA256: {hashlib.sha256(declared).hexdigest()}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(declared)}\r\n\r\n"
        ).encode()
        reply = _exchange(server.port, head + declared + b"and more bytes than declared")
        assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
        event = client.get(f"/api/v1/events/{event_id}", headers=bearer(token)).json()
        assert event["has_clip"] is False
        stored = [p for p in (tmp_path / "data").rglob("*") if p.is_file() and p.stat().st_size]
        assert all(p.stat().st_size < len(declared) for p in stored)  # no blob, no leftover
        # the same bytes with an honest Content-Length are stored: the test can fail
        reply = client.put(
            f"/api/v1/ingest/events/{event_id}/clip",
            content=declared,
            headers={**bearer(key), "X-Content-SHA256": hashlib.sha256(declared).hexdigest()},
        )
        assert reply.status_code == 201, reply.text
        event = client.get(f"/api/v1/events/{event_id}", headers=bearer(token)).json()
        assert event["has_clip"] is True
    finally:
        server.stop()
