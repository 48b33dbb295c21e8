"""Issue 14 item 4: an owner deletes an event, its clip and snapshot, unless police hold it.

On SQLite and PostgreSQL (the ``client`` fixture). Holds are retention's: shared with an
officer whose access runs, or offered in an open request not answered yet.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from doorstep.hub.db import session_scope
from doorstep.hub.models import Role
from doorstep.hub.models_requests import AuditRow
from tests.hub_fixtures import Api, bearer, sha256_of
from tests.requests.conftest import World, add_user, hub_of

CLIP = b"shared clip bytes " * 64
SNAPSHOT = b"\xff\xd8 a snapshot \xff\xd9"


def _world(api: Api) -> World:
    now = datetime.now(UTC).replace(microsecond=0)
    return World(
        api=api,
        start=now - timedelta(hours=3),
        end=now - timedelta(hours=1),
        officer=add_user(api.client, "smith@pd.example", Role.officer, "City PD"),
        supervisor="",
        auditor="",
    )


def _stored(client: TestClient, sha: str) -> bool:
    return hub_of(client).storage.exists(sha)


def _audit(client: TestClient, action: str, subject: str) -> list[AuditRow]:
    with session_scope(hub_of(client).sessions) as session:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.action == action, AuditRow.subject == subject)
        )
        return list(rows)


def test_delete_removes_event_and_files_nothing_else_uses_and_logs_it(api: Api) -> None:
    ann, bob = api.signup("ann@example.org"), api.signup("bob@example.org")
    key = api.camera(ann)["api_key"]
    first, second = api.event(key), api.event(key)
    for event in (first, second):  # the same bytes: one content-addressed blob, two users
        assert api.upload(key, event["id"], CLIP).status_code == 201
    assert api.upload(key, first["id"], SNAPSHOT, kind="snapshot").status_code == 201
    client = api.client

    # another owner cannot see it, let alone delete it: 404 as for anything of Ann's
    assert client.delete(f"/api/v1/events/{first['id']}", headers=bearer(bob)).status_code == 404
    assert client.get(f"/api/v1/events/{first['id']}", headers=bearer(ann)).status_code == 200

    reply = client.delete(f"/api/v1/events/{first['id']}", headers=bearer(ann))
    assert reply.status_code == 204, reply.text
    assert client.get(f"/api/v1/events/{first['id']}", headers=bearer(ann)).status_code == 404
    assert client.delete(f"/api/v1/events/{first['id']}", headers=bearer(ann)).status_code == 404
    assert not _stored(client, sha256_of(SNAPSHOT))  # only the deleted event had it
    assert _stored(client, sha256_of(CLIP))  # the second event still refers to it
    [row] = _audit(client, "event.delete", f"event:{first['id']}")
    assert row.actor == f"owner:{client.get('/api/v1/auth/me', headers=bearer(ann)).json()['id']}"
    details = json.loads(row.details)
    assert details["files"] == 1 and details["clip_sha256"] == sha256_of(CLIP)

    assert client.delete(f"/api/v1/events/{second['id']}", headers=bearer(ann)).status_code == 204
    assert not _stored(client, sha256_of(CLIP))  # the last reference went
    [row] = _audit(client, "event.delete", f"event:{second['id']}")
    assert json.loads(row.details)["files"] == 1


def test_held_events_are_refused_with_the_request_and_the_date(api: Api) -> None:
    world = _world(api)
    ann = world.owner("ann", east_m=10, events_in_window=2)
    rid = world.request(case="CASE-77").json()["id"]
    inbox = world.client.get("/api/v1/inbox", headers=bearer(ann.token)).json()
    deadline = next(item["deadline"] for item in inbox if item["request_id"] == rid)
    pending_id = ann.events[0]["id"]

    # offered, not answered yet: held until the deadline
    reply = world.client.delete(f"/api/v1/events/{pending_id}", headers=bearer(ann.token))
    assert reply.status_code == 409, reply.text
    detail = reply.json()["detail"]
    assert "CASE-77" in detail and "not answered" in detail
    assert datetime.fromisoformat(deadline).strftime("%Y-%m-%d %H:%M UTC") in detail

    # shared one of two: that one is held until the officer's access expires
    share = {"action": "share", "event_ids": [pending_id]}
    decided = world.client.post(
        f"/api/v1/inbox/{rid}/decision", json=share, headers=bearer(ann.token)
    )
    assert decided.status_code == 200, decided.text
    expires = world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()[
        "clips"
    ][0]["access_expires_at"]
    reply = world.client.delete(f"/api/v1/events/{pending_id}", headers=bearer(ann.token))
    assert reply.status_code == 409
    detail = reply.json()["detail"]
    assert "shared this clip with police request CASE-77" in detail
    assert datetime.fromisoformat(expires).strftime("%Y-%m-%d %H:%M UTC") in detail
    assert reply.json()["field"] is None and reply.json()["retry_after"] is None
    assert (
        world.client.get(f"/api/v1/events/{pending_id}", headers=bearer(ann.token)).status_code
        == 200
    )
    assert not _audit(world.client, "event.delete", f"event:{pending_id}")

    # the clip she did not share is no longer held: she answered
    other = ann.events[1]["id"]
    assert (
        world.client.delete(f"/api/v1/events/{other}", headers=bearer(ann.token)).status_code == 204
    )


def _names(reply: Any) -> tuple[str, str, str]:
    """(disposition, ASCII filename, the UTF-8 filename* decoded)."""
    header = reply.headers["content-disposition"]
    kind, plain, full = (part.strip() for part in header.split(";"))
    assert plain.startswith('filename="') and full.startswith("filename*=UTF-8''")
    return kind, plain[len('filename="') : -1], unquote(full[len("filename*=UTF-8''") :])


def test_downloads_are_named_by_camera_time_and_case(api: Api) -> None:
    """Issue 14 item 7: not ``<uuid>.mp4`` / ``evidence-<uuid>.zip``."""
    world = _world(api)
    ann = world.owner("ann", east_m=10)
    client, token = world.client, bearer(ann.token)
    renamed = client.patch(
        f"/api/v1/cameras/{ann.cameras[0]['id']}", json={"name": "Café porch/back"}, headers=token
    )
    assert renamed.status_code == 200
    zone = client.patch(
        "/api/v1/me/preferences", json={"timezone": "America/New_York"}, headers=token
    )
    assert zone.status_code == 200, zone.text
    event = ann.events[0]
    start = datetime.fromisoformat(event["start_time"]).astimezone(ZoneInfo("America/New_York"))
    stamp = start.strftime("%Y%m%d-%H%M%S")

    reply = client.get(f"/api/v1/events/{event['id']}/clip?download=true", headers=token)
    assert reply.status_code == 200
    assert _names(reply) == (
        "attachment",
        f"Cafe-porch-back-{stamp}.mp4",
        f"Café porch-back-{stamp}.mp4",
    )
    assert _names(client.get(f"/api/v1/events/{event['id']}/clip", headers=token))[0] == "inline"

    rid = world.request(case="2026/114 B").json()["id"]
    shared = client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=token
    )
    assert shared.status_code == 200
    officer = bearer(world.officer)  # an officer's zone: UTC, the default
    utc_stamp = (
        datetime.fromisoformat(event["start_time"]).astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    )
    clip = client.get(f"/api/v1/requests/{rid}/clips/{event['id']}?download=true", headers=officer)
    assert clip.status_code == 200
    assert _names(clip)[1:] == (
        f"Cafe-porch-back-{utc_stamp}.mp4",
        f"Café porch-back-{utc_stamp}.mp4",
    )
    before = datetime.now(UTC).strftime("%Y%m%d")
    bundle = client.post(f"/api/v1/requests/{rid}/evidence", headers=officer)
    assert bundle.status_code == 200
    days = {before, datetime.now(UTC).strftime("%Y%m%d")}  # the export may cross midnight
    assert any(
        _names(bundle)
        == ("attachment", f"evidence-2026-114-B-{day}.zip", f"evidence-2026-114 B-{day}.zip")
        for day in days
    )
