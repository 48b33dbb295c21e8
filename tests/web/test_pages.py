"""Owner pages through the real app: forms, CSRF, ownership, one view in two formats."""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi.testclient import TestClient

from doorstep.hub.live import LiveFeed
from tests.hub_fixtures import Api, page_csrf


def csrf(client: TestClient) -> str:
    return page_csrf(client)


def web_signup(client: TestClient, email: str) -> None:
    reply = client.post(
        "/signup",
        data={
            "csrf_token": csrf(client),
            "email": email,
            "name": "Ann",
            "password": "correct horse battery",
        },
        follow_redirects=False,
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/cameras"


@pytest.fixture
def web(hub_settings) -> TestClient:  # type: ignore[no-untyped-def]
    from doorstep.app import create_app

    with TestClient(create_app(hub_settings)) as client:
        yield client


def test_pages_need_a_session(web: TestClient) -> None:
    for path in ("/timeline", "/cameras"):
        reply = web.get(path, follow_redirects=False)
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login?next=")


def test_signup_errors_show_next_to_the_field(web: TestClient) -> None:
    reply = web.post(
        "/signup",
        data={"csrf_token": csrf(web), "email": "not-an-email", "name": "A", "password": "short"},
    )
    assert reply.status_code == 422
    assert 'id="e-password"' in reply.text and 'id="e-email"' in reply.text
    assert "Traceback" not in reply.text


def test_forms_without_the_csrf_token_are_refused(web: TestClient) -> None:
    web_signup(web, "ann@example.org")
    reply = web.post("/cameras", data={"name": "Front", "latitude": "51.5", "longitude": "0"})
    assert reply.status_code == 403
    assert "reload the page" in reply.text
    forged = web.post(
        "/cameras", data={"csrf_token": "forged", "name": "F", "latitude": "1", "longitude": "1"}
    )
    assert forged.status_code == 403


def test_owner_adds_a_camera_and_sees_the_key_once(web: TestClient) -> None:
    web_signup(web, "ann@example.org")
    bad = web.post(
        "/cameras",
        data={"csrf_token": csrf(web), "name": "Front", "latitude": "95", "longitude": "0"},
    )
    assert bad.status_code == 422 and 'id="e-latitude"' in bad.text
    added = web.post(
        "/cameras",
        data={"csrf_token": csrf(web), "name": "Front", "latitude": "51.5", "longitude": "-0.1"},
    )
    assert added.status_code == 201 and "dsk_" in added.text
    listing = web.get("/cameras")
    assert "Front" in listing.text and "dsk_" not in listing.text
    rows = web.get("/cameras?format=json").json()["rows"]
    assert [row["camera"]["name"] for row in rows] == ["Front"]
    assert "key_hash" not in str(rows)


def test_timeline_and_clip_through_the_pages(web: TestClient) -> None:
    web_signup(web, "ann@example.org")
    api = Api(web)
    web.post(
        "/cameras",
        data={"csrf_token": csrf(web), "name": "Front", "latitude": "51.5", "longitude": "-0.1"},
    )
    token = api.login("ann@example.org")
    key = api.client.post(
        "/api/v1/cameras",
        json={"name": "Back", "latitude": 51.5, "longitude": -0.1},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["api_key"]
    event = api.event(key)
    clip = b"\x00\x00\x00\x18ftypmp42" + b"v" * 5000
    assert api.upload(key, event["id"], clip).status_code == 201
    timeline = web.get("/timeline?format=json").json()
    assert [e["id"] for e in timeline["events"]] == [event["id"]]
    page = web.get(f"/events/{event['id']}")
    assert page.status_code == 200 and f"/media/events/{event['id']}/clip" in page.text
    ranged = web.get(f"/media/events/{event['id']}/clip", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == clip[:10]
    assert web.get("/timeline?day=yesterday").status_code == 200
    assert "Use a date like" in web.get("/timeline?day=yesterday").text


def test_another_owners_pages_are_not_found(web: TestClient, hub_settings) -> None:  # type: ignore[no-untyped-def]
    web_signup(web, "ann@example.org")
    web.post(
        "/cameras",
        data={"csrf_token": csrf(web), "name": "Front", "latitude": "51.5", "longitude": "-0.1"},
    )
    camera_id = web.get("/cameras?format=json").json()["rows"][0]["camera"]["id"]
    web.post("/logout", data={"csrf_token": csrf(web)})
    web_signup(web, "bob@example.org")
    assert web.get(f"/cameras/{camera_id}").status_code == 404
    zones = web.post(
        f"/cameras/{camera_id}/zones",
        json={"zones": [[[0, 0], [1, 0], [1, 1]]]},
        headers={"X-CSRF-Token": csrf(web)},
    )
    assert zones.status_code == 404


def test_zone_editor_saves_to_the_agent_config(web: TestClient) -> None:
    web_signup(web, "ann@example.org")
    added = web.post(
        "/cameras",
        data={"csrf_token": csrf(web), "name": "Front", "latitude": "51.5", "longitude": "-0.1"},
    )
    key = added.text.split("--camera-key ")[1].split("<")[0].strip()
    camera_id = web.get("/cameras?format=json").json()["rows"][0]["camera"]["id"]
    body = {"zones": [[[0.5, 0.5], [1, 0.5], [1, 1]]], "masks": [[[0, 0], [0.2, 0], [0.2, 0.2]]]}
    bad = web.post(
        f"/cameras/{camera_id}/zones",
        json={"zones": [[[0, 0], [2, 0], [1, 1]]]},
        headers={"X-CSRF-Token": csrf(web)},
    )
    assert bad.status_code == 422
    saved = web.post(f"/cameras/{camera_id}/zones", json=body, headers={"X-CSRF-Token": csrf(web)})
    assert saved.status_code == 200
    config = web.get("/api/v1/ingest/config", headers={"Authorization": f"Bearer {key}"}).json()
    assert config["zones"] == body["zones"] and config["masks"] == body["masks"]


def test_live_feed_delivers_across_threads() -> None:
    feed = LiveFeed()

    async def scenario() -> dict:
        queue = feed.subscribe("user-1")
        threading.Thread(target=feed.publish, args=("user-1", {"type": "event", "n": 1})).start()
        assert feed.publish("someone-else", {"type": "event"}) == 0
        message = await asyncio.wait_for(queue.get(), 5)
        feed.unsubscribe("user-1", queue)
        return message

    assert asyncio.run(scenario()) == {"type": "event", "n": 1}
    assert feed.publish("user-1", {"type": "event"}) == 0


def test_live_messages_go_out_only_after_commit(web: TestClient) -> None:
    from doorstep.hub.live import publish_after_commit

    hub = web.app.state.hub  # type: ignore[attr-defined]

    async def scenario() -> list[dict]:
        queue = hub.live.subscribe("owner-1")
        with hub.sessions() as session:
            publish_after_commit(session, "owner-1", {"type": "event", "n": "rolled back"})
            session.rollback()
        with hub.sessions() as session:
            publish_after_commit(session, "owner-1", {"type": "event", "n": "committed"})
            session.commit()
        received = [await asyncio.wait_for(queue.get(), 5)]
        assert queue.empty()
        return received

    assert asyncio.run(scenario()) == [{"type": "event", "n": "committed"}]
