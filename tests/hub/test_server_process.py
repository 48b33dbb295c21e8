"""Acceptance 1 and 5 against the real `doorstep serve` process: start, kill mid-upload, retry."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hub.conftest import Api, bearer
from tests.server_process import ServerProcess


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", database_url)
    proc.start()
    yield proc
    proc.stop()


def test_serve_runs_the_whole_story(server: ServerProcess, media_dir: Path) -> None:
    clip = (media_dir / "pets09-s2l1" / "vtest_h264.mp4").read_bytes()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        api = Api(client)
        token = api.signup("ann@example.org")
        camera = api.camera(token)
        event = api.event(camera["api_key"])
        assert api.upload(camera["api_key"], event["id"], clip).status_code == 201
        back = client.get(f"/api/v1/events/{event['id']}/clip", headers=bearer(token))
        assert hashlib.sha256(back.content).hexdigest() == hashlib.sha256(clip).hexdigest()
        tail = client.get(
            f"/api/v1/events/{event['id']}/clip", headers={**bearer(token), "Range": "bytes=-500"}
        )
        assert tail.status_code == 206 and tail.content == clip[-500:]


def test_sigkill_mid_upload_leaves_no_partial_clip_and_retry_succeeds(
    server: ServerProcess, media_dir: Path
) -> None:
    clip = (media_dir / "pets09-s2l1" / "vtest_h264.mp4").read_bytes()
    sha = hashlib.sha256(clip).hexdigest()
    data_dir = Path(server.env["DOORSTEP_DATA_DIR"])
    with httpx.Client(base_url=server.url, timeout=30) as client:
        api = Api(client)
        token = api.signup("ann@example.org")
        camera = api.camera(token)
        event = api.event(camera["api_key"])

    # Send headers and half the body over a raw socket, then kill the hub.
    head = (
        f"PUT /api/v1/ingest/events/{event['id']}/clip HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {camera['api_key']}\r\n"
        f"X-Content-SHA256: {sha}\r\nContent-Length: {len(clip)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head + clip[: len(clip) // 2])
        temp_dir = data_dir / "clips" / "tmp"
        deadline = time.monotonic() + 10
        while not any(temp_dir.glob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(temp_dir.glob("*.part")), "the upload never started streaming to disk"
        server.kill()

    blobs = [p for p in (data_dir / "clips" / "blobs").rglob("*") if p.is_file()]
    assert blobs == [], "a partial clip became visible"

    server.start()
    assert not any((data_dir / "clips" / "tmp").glob("*.part")), (
        "start-up did not clean the partial upload"
    )
    with httpx.Client(base_url=server.url, timeout=30) as client:
        api = Api(client)
        before = client.get(f"/api/v1/events/{event['id']}", headers=bearer(token)).json()
        assert before["has_clip"] is False
        retry = api.upload(camera["api_key"], event["id"], clip)
        assert retry.status_code == 201, retry.text
        back = client.get(f"/api/v1/events/{event['id']}/clip", headers=bearer(token))
        assert hashlib.sha256(back.content).hexdigest() == sha


def _login_statuses(server: ServerProcess, attempts: int) -> list[int]:
    """Wrong passwords for different emails, each claiming a new X-Forwarded-For."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return [
            client.post(
                "/api/v1/auth/token",
                data={"username": f"nobody{i}@example.org", "password": "wrong password"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            ).status_code
            for i in range(attempts)
        ]


@pytest.mark.parametrize(
    ("trusted", "limited"), [("", True), ("127.0.0.1", False)], ids=["default", "trusted"]
)
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: str, limited: bool
) -> None:
    data = tmp_path / "data"
    server = ServerProcess(
        data,
        f"sqlite:///{tmp_path / 'hub.db'}",
        DOORSTEP_LOGIN_FREE_FAILURES_PER_CLIENT="3",
        DOORSTEP_TRUSTED_PROXIES=trusted,
    )
    server.start()
    try:
        statuses = _login_statuses(server, 6)
    finally:
        server.stop()
    if limited:  # one client, whatever it claims: made to wait once its free failures are used
        # (waits of 1 s, 2 s, 4 s: a reply slower than a wait may let one more through)
        assert statuses[:3] == [401] * 3 and 429 in statuses[3:], statuses
    else:  # behind a trusted proxy each forwarded address is a client of its own
        assert statuses == [401] * 6, statuses
