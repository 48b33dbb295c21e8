"""Acceptance 1 and 2 of the hub: real clips in, byte-identical out, idempotent, verified."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from doorstep.config import Settings
from tests.hub.conftest import Api, bearer, sha256_of


def blob_files(settings: Settings) -> list[Path]:
    return [p for p in (settings.data_dir / "clips").rglob("*") if p.is_file()]


def test_owner_gets_back_the_exact_clip_and_can_seek(api: Api, media_dir: Path) -> None:
    clip = (media_dir / "dvrscan" / "traffic_camera.mp4").read_bytes()
    token = api.signup("ann@example.org")
    camera = api.camera(token)
    event = api.event(camera["api_key"])

    stored = api.upload(camera["api_key"], event["id"], clip)
    assert stored.status_code == 201, stored.text
    assert stored.json() == {"sha256": sha256_of(clip), "size": len(clip), "created": True}

    whole = api.client.get(f"/api/v1/events/{event['id']}/clip", headers=bearer(token))
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    assert sha256_of(whole.content) == sha256_of(clip)

    part = api.client.get(
        f"/api/v1/events/{event['id']}/clip", headers={**bearer(token), "Range": "bytes=1000-1999"}
    )
    assert part.status_code == 206
    assert part.content == clip[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(clip)}"


def test_snapshot_roundtrip(api: Api) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"doorstep" * 100 + b"\xff\xd9"
    token = api.signup("ann@example.org")
    camera = api.camera(token)
    event = api.event(camera["api_key"])
    assert api.upload(camera["api_key"], event["id"], jpeg, kind="snapshot").status_code == 201
    reply = api.client.get(f"/api/v1/events/{event['id']}/snapshot", headers=bearer(token))
    assert reply.status_code == 200 and reply.content == jpeg
    listed = api.client.get(f"/api/v1/events/{event['id']}", headers=bearer(token)).json()
    assert listed["has_snapshot"] is True and listed["has_clip"] is False


def test_same_event_id_twice_is_one_event(api: Api) -> None:
    token = api.signup("ann@example.org")
    key = api.camera(token)["api_key"]
    first = api.event(key)
    again = api.client.post(
        "/api/v1/ingest/events",
        json={
            "id": first["id"],
            "start_time": first["start_time"],
            "label": "motion",
            "score": 0.3,
        },
        headers=bearer(key),
    )
    assert again.status_code == 200
    page = api.client.get("/api/v1/events", headers=bearer(token)).json()
    assert page["total"] == 1 and [e["id"] for e in page["items"]] == [first["id"]]
    assert page["items"][0]["label"] == "motion"


def test_same_clip_twice_is_stored_once(api: Api, hub_settings: Settings) -> None:
    clip = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 50
    key = api.camera(api.signup("ann@example.org"))["api_key"]
    event = api.event(key)
    assert api.upload(key, event["id"], clip).status_code == 201
    retry = api.upload(key, event["id"], clip)
    assert retry.status_code == 200 and retry.json()["created"] is False
    assert len(blob_files(hub_settings)) == 1


def test_wrong_sha256_is_rejected_and_leaves_nothing(api: Api, hub_settings: Settings) -> None:
    clip = b"real bytes" * 1000
    token = api.signup("ann@example.org")
    key = api.camera(token)["api_key"]
    event = api.event(key)
    reply = api.upload(key, event["id"], clip, sha=sha256_of(b"other bytes"))
    assert reply.status_code == 422
    assert reply.json()["field"] == "X-Content-SHA256"
    assert blob_files(hub_settings) == []
    assert (
        api.client.get(f"/api/v1/events/{event['id']}/clip", headers=bearer(token)).status_code
        == 404
    )


def test_malformed_sha256_header(api: Api) -> None:
    key = api.camera(api.signup("ann@example.org"))["api_key"]
    event = api.event(key)
    reply = api.upload(key, event["id"], b"abc", sha="not-a-hash")
    assert reply.status_code == 422 and reply.json()["field"] == "X-Content-SHA256"


def test_upload_over_the_limit_is_413(api: Api, hub_settings: Settings) -> None:
    key = api.camera(api.signup("ann@example.org"))["api_key"]
    event = api.event(key)
    too_big = b"x" * (hub_settings.max_clip_bytes + 1)
    reply = api.upload(key, event["id"], too_big)
    assert reply.status_code == 413
    assert blob_files(hub_settings) == []


def test_streamed_upload_over_the_limit_without_length_is_413(
    api: Api, hub_settings: Settings
) -> None:
    key = api.camera(api.signup("ann@example.org"))["api_key"]
    event = api.event(key)
    data = b"y" * (hub_settings.max_clip_bytes + 1)

    def chunks():  # no Content-Length: the limit must hold while streaming
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    reply = api.client.put(
        f"/api/v1/ingest/events/{event['id']}/clip",
        content=chunks(),
        headers={**bearer(key), "X-Content-SHA256": sha256_of(data)},
    )
    assert reply.status_code == 413
    assert blob_files(hub_settings) == []
    assert not list((hub_settings.data_dir / "clips" / "tmp").iterdir())


def test_upload_for_unknown_event_is_404(api: Api) -> None:
    key = api.camera(api.signup("ann@example.org"))["api_key"]
    reply = api.upload(key, "00000000-0000-0000-0000-000000000000", b"data")
    assert reply.status_code == 404


def test_events_filter_and_paginate(api: Api, client: TestClient) -> None:
    from datetime import UTC, datetime, timedelta

    token = api.signup("ann@example.org")
    front = api.camera(token, name="Front")
    back = api.camera(token, name="Back")
    base = datetime(2026, 11, 1, 12, tzinfo=UTC)
    for i in range(5):
        api.event(front["api_key"], start=base + timedelta(hours=i))
    api.event(back["api_key"], start=base)
    page = client.get(
        "/api/v1/events",
        params={"camera_id": front["id"], "limit": 2, "offset": 1},
        headers=bearer(token),
    ).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert page["items"][0]["start_time"].startswith("2026-11-01T15:00")
    window = client.get(
        "/api/v1/events",
        params={"since": (base + timedelta(hours=3)).isoformat(), "label": "person"},
        headers=bearer(token),
    ).json()
    assert window["total"] == 2
    none = client.get("/api/v1/events", params={"label": "motion"}, headers=bearer(token)).json()
    assert none["total"] == 0


def test_concurrent_first_uploads_of_one_event_make_one_event(api: Api) -> None:
    """Two retries of a new event racing each other: one insert wins, the other updates."""
    import threading
    import time
    import uuid
    from datetime import UTC, datetime

    from doorstep.hub.models import Camera
    from doorstep.hub.schemas import EventCreate
    from doorstep.hub.services.events import upsert_event

    token = api.signup("ann@example.org")
    camera_id = api.camera(token)["id"]
    hub = api.client.app.state.hub
    data = EventCreate(id=uuid.uuid4(), start_time=datetime.now(UTC), label="person", score=0.5)
    first_flushed = threading.Event()
    results: list[bool] = []

    def first() -> None:
        with hub.sessions() as session:
            results.append(upsert_event(session, session.get(Camera, camera_id), data)[1])
            first_flushed.set()
            time.sleep(0.5)
            session.commit()

    def second() -> None:
        first_flushed.wait(5)
        with hub.sessions() as session:
            results.append(upsert_event(session, session.get(Camera, camera_id), data)[1])
            session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False, True]
    assert api.client.get("/api/v1/events", headers=bearer(token)).json()["total"] == 1


def test_reply_is_sent_only_after_the_commit(api: Api) -> None:
    """At the moment the 201 starts, another connection already sees the new event."""
    import asyncio
    import json
    import uuid
    from datetime import UTC, datetime

    from doorstep.hub.models import Event

    key = api.camera(api.signup("ann@example.org"))["api_key"]
    app = api.client.app
    hub = app.state.hub
    event_id = str(uuid.uuid4())
    body = json.dumps({"id": event_id, "start_time": datetime.now(UTC).isoformat()}).encode()
    seen_at_reply: list[bool] = []

    def committed() -> bool:
        with hub.sessions() as other:
            return other.get(Event, event_id) is not None

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 201
            seen_at_reply.append(await asyncio.to_thread(committed))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/ingest/events",
        "raw_path": b"/api/v1/ingest/events",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {key}".encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert seen_at_reply == [True]
