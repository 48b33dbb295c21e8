"""Modes (Home / Away / Off), per-camera mode settings, schedules, and the control
endpoint agents long-poll (issue 13, item 5). One SQLite hub serves the module."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope
from doorstep.hub.models import Camera, User
from doorstep.hub.services import modes
from tests.hub_fixtures import (
    Api,
    bearer,
    page_csrf,
    page_sign_in,
    reset_pg_schema,
    sqlite_hub,
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One hub per database for the module (the conditional UPDATEs run on both)."""
    root = tmp_path_factory.mktemp("modes")
    if request.param == "sqlite":
        with sqlite_hub(root) as test_client:
            yield test_client
        return
    name = request.getfixturevalue("pg_database")
    reset_pg_schema(name)
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with TestClient(create_app(Settings(data_dir=root / "data", database_url=url))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def hub(client: TestClient) -> Hub:
    found: Hub = client.app.state.hub  # type: ignore[attr-defined]
    return found


_count = iter(range(10_000))


@pytest.fixture
def owner(client: TestClient) -> dict[str, Any]:
    """A fresh owner with two cameras."""
    api = Api(client)
    token = api.signup(f"owner{next(_count)}@example.org")
    cams = [api.camera(token, name="Front"), api.camera(token, name="Garden")]
    return {"token": token, "headers": bearer(token), "cameras": cams}


def versions(hub: Hub, cameras: list[dict[str, Any]]) -> list[int]:
    with session_scope(hub.sessions) as session:
        return [session.get(Camera, c["id"]).control_version for c in cameras]  # type: ignore[union-attr]


def control(client: TestClient, key: str, **params: Any) -> Any:
    return client.get("/api/v1/ingest/control", params=params, headers=bearer(key))


def test_switching_mode_bumps_every_camera_and_the_agent_state_follows(
    client: TestClient, hub: Hub, owner: dict[str, Any]
) -> None:
    headers, cams = owner["headers"], owner["cameras"]
    assert client.get("/api/v1/mode", headers=headers).json()["mode"] == "home"
    before = versions(hub, cams)
    reply = client.put("/api/v1/mode", json={"mode": "off"}, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["mode"] == "off" and reply.json()["changed_at"] is not None
    assert versions(hub, cams) == [v + 1 for v in before]

    state = control(client, cams[0]["api_key"]).json()
    assert state["mode"] == "off" and state["record"] is False and state["notify"] is False
    assert state["version"] == before[0] + 1 and state["streams"] == []
    assert state["camera_id"] == cams[0]["id"] and state["config"] == {}

    # the garden camera keeps recording when Off, silently
    flags = {"off": {"record": True, "notify": False}}
    reply = client.put(f"/api/v1/cameras/{cams[1]['id']}/modes", json=flags, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["off"] == {"record": True, "notify": False}
    assert reply.json()["home"] == {"record": True, "notify": True}  # the default kept
    state = control(client, cams[1]["api_key"]).json()
    assert (state["record"], state["notify"]) == (True, False)
    assert state["version"] == before[1] + 2

    with session_scope(hub.sessions) as session:
        user = session.get(User, session.get(Camera, cams[1]["id"]).owner_id)  # type: ignore[union-attr]
        camera = session.get(Camera, cams[1]["id"])
        assert user is not None and camera is not None
        assert modes.effective(user, camera) == {"mode": "off", "record": True, "notify": False}
        assert modes.notifies(user, camera) is False
    bad = client.put("/api/v1/mode", json={"mode": "holiday"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"]


def test_saving_zones_bumps_the_version_and_reaches_the_state(
    client: TestClient, hub: Hub, owner: dict[str, Any]
) -> None:
    camera = owner["cameras"][0]
    (before,) = versions(hub, [camera])
    zone = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]
    reply = client.patch(
        f"/api/v1/cameras/{camera['id']}",
        json={"agent_config": {"zones": [zone]}},
        headers=owner["headers"],
    )
    assert reply.status_code == 200, reply.text
    state = control(client, camera["api_key"], after=before, wait=5).json()
    assert state["version"] == before + 1 and state["config"]["zones"] == [zone]


def test_control_endpoint_key_at_once_wakes_and_sees_other_processes(
    client: TestClient, hub: Hub, owner: dict[str, Any]
) -> None:
    camera = owner["cameras"][0]
    key = camera["api_key"]
    assert control(client, "dsk_wrong").status_code == 401
    assert control(client, owner["token"]).status_code == 401  # a user token is no camera key
    (version,) = versions(hub, [camera])

    started = time.monotonic()
    assert control(client, key, after=version - 1 if version else 99, wait=30).status_code == 200
    assert time.monotonic() - started < 1  # behind (or ahead): the state at once
    started = time.monotonic()
    assert control(client, key, after=version, wait=1).status_code == 204
    assert 0.9 < time.monotonic() - started < 3

    # a change in this process wakes the waiting request at once
    def switch_soon() -> None:
        time.sleep(0.5)
        client.put("/api/v1/mode", json={"mode": "away"}, headers=owner["headers"])

    threading.Thread(target=switch_soon).start()
    started = time.monotonic()
    reply = control(client, key, after=version, wait=30)
    waited = time.monotonic() - started
    assert reply.status_code == 200 and reply.json()["mode"] == "away"
    assert 0.4 < waited < 1.4, waited

    # another hub process's change: only the database knows (no in-process wake-up)
    version = reply.json()["version"]

    def bump_in_database() -> None:
        time.sleep(0.5)
        with hub.engine.begin() as conn:
            conn.execute(
                text("UPDATE cameras SET control_version = control_version + 1 WHERE id = :id"),
                {"id": camera["id"]},
            )

    threading.Thread(target=bump_in_database).start()
    started = time.monotonic()
    reply = control(client, key, after=version, wait=30)
    assert reply.status_code == 200 and reply.json()["version"] == version + 1
    assert time.monotonic() - started < 5


def test_schedule_switches_at_the_owners_local_time_once(
    client: TestClient, hub: Hub, owner: dict[str, Any]
) -> None:
    headers, cams = owner["headers"], owner["cameras"]
    zone = ZoneInfo("America/New_York")
    with session_scope(hub.sessions) as session:
        user_id = session.get(Camera, cams[0]["id"]).owner_id  # type: ignore[union-attr]
        session.execute(update(User).where(User.id == user_id).values(timezone=zone.key))
    body = {"mode": "away", "at": "08:30", "days": [0, 1, 2, 3, 4]}
    reply = client.post("/api/v1/mode/schedules", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    schedule = reply.json()
    assert schedule["days"] == [0, 1, 2, 3, 4] and schedule["at"] == "08:30"
    listed = client.get("/api/v1/mode/schedules", headers=headers).json()
    assert [s["id"] for s in listed] == [schedule["id"]]

    # the next weekday 08:30 in New York, found by hand
    local = datetime.now(zone) + timedelta(days=1)
    while local.weekday() > 4:
        local += timedelta(days=1)
    fires = local.replace(hour=8, minute=30, second=0, microsecond=0).astimezone(UTC)
    before = versions(hub, cams)

    def apply(at: datetime) -> int:
        with session_scope(hub.sessions) as session:
            return modes.apply_schedules_at(session, at)

    assert apply(fires - timedelta(seconds=1)) == 0  # 08:29:59 New York: not yet
    assert client.get("/api/v1/mode", headers=headers).json()["mode"] == "home"
    assert apply(fires + timedelta(seconds=20)) == 1  # 08:30:20: switched
    assert client.get("/api/v1/mode", headers=headers).json()["mode"] == "away"
    assert versions(hub, cams) == [v + 1 for v in before]
    assert apply(fires + timedelta(seconds=50)) == 0  # once
    assert apply(fires + timedelta(hours=3)) == 0

    # switched back by hand at 09:00: that stands until the next occurrence
    with session_scope(hub.sessions) as session:
        user = session.get(User, user_id)
        assert user is not None
        modes.set_mode(session, user, "home", fires + timedelta(minutes=30))
    assert apply(fires + timedelta(hours=5)) == 0
    assert client.get("/api/v1/mode", headers=headers).json()["mode"] == "home"
    next_day = fires + timedelta(days=1)
    while next_day.astimezone(zone).weekday() > 4:
        next_day += timedelta(days=1)
    assert apply(next_day + timedelta(seconds=5)) == 1

    assert (
        client.delete(f"/api/v1/mode/schedules/{schedule['id']}", headers=headers).status_code
        == 204
    )
    assert client.get("/api/v1/mode/schedules", headers=headers).json() == []
    bad = client.post(
        "/api/v1/mode/schedules", json={"mode": "off", "at": "24:00"}, headers=headers
    )
    assert bad.status_code == 422


def test_another_owner_reaches_none_of_it(client: TestClient, owner: dict[str, Any]) -> None:
    headers, camera = owner["headers"], owner["cameras"][0]
    schedule = client.post(
        "/api/v1/mode/schedules", json={"mode": "off", "at": "23:00"}, headers=headers
    ).json()
    other = bearer(Api(client).signup(f"other{next(_count)}@example.org"))
    for method, path, body in [
        ("GET", f"/api/v1/cameras/{camera['id']}/modes", None),
        (
            "PUT",
            f"/api/v1/cameras/{camera['id']}/modes",
            {"home": {"record": False, "notify": False}},
        ),
        ("DELETE", f"/api/v1/mode/schedules/{schedule['id']}", None),
    ]:
        reply = client.request(method, path, json=body, headers=other)
        assert reply.status_code == 404, (method, path, reply.text)
    assert client.get("/api/v1/mode/schedules", headers=other).json() == []
    client.put("/api/v1/mode", json={"mode": "off"}, headers=other)  # their own mode only
    assert client.get("/api/v1/mode", headers=headers).json()["mode"] == "home"
    assert client.get(f"/api/v1/cameras/{camera['id']}/modes", headers=headers).json()["home"] == {
        "record": True,
        "notify": True,
    }
    assert client.get("/api/v1/mode").status_code == 401


def test_the_modes_page_switches_schedules_and_adds_rules(
    client: TestClient, hub: Hub, owner: dict[str, Any]
) -> None:
    """The page's forms call the same services: what they save, the API reads back."""
    pages = TestClient(client.app)  # its own cookies
    email = client.get("/api/v1/auth/me", headers=owner["headers"]).json()["email"]
    page_sign_in(pages, email)
    page = pages.get("/modes")
    assert page.status_code == 200 and "Modes and notifications" in page.text
    assert 'action="/modes/mode"' in pages.get("/timeline").text  # the header's switch
    csrf = page_csrf(pages)
    camera = owner["cameras"][0]

    def post(path: str, data: dict[str, Any]) -> Any:
        return pages.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)

    assert post("/modes/mode", {"mode": "away", "next": "/timeline"}).headers["location"] == (
        "/timeline"
    )
    assert client.get("/api/v1/mode", headers=owner["headers"]).json()["mode"] == "away"
    assert (
        post("/modes/mode", {"mode": "away", "next": "//evil.example"})
        .headers["location"]
        .startswith("/modes")
    )
    reply = post(f"/modes/cameras/{camera['id']}", {"flag": ["home.record", "away.notify"]})
    assert reply.status_code == 303
    flags = client.get(f"/api/v1/cameras/{camera['id']}/modes", headers=owner["headers"]).json()
    assert flags["home"] == {"record": True, "notify": False}
    assert flags["away"] == {"record": False, "notify": True}
    assert post("/modes/schedules", {"mode": "off", "at": "23:15", "days": ["5", "6"]}).is_redirect
    listed = client.get("/api/v1/mode/schedules", headers=owner["headers"]).json()
    assert [(s["mode"], s["at"], s["days"]) for s in listed] == [("off", "23:15", [5, 6])]
    rule = {
        "labels": ["person"],
        "channels": ["push"],
        "quiet_start": "22:00",
        "quiet_end": "06:00",
    }
    assert post("/modes/rules", rule).is_redirect
    bad = post("/modes/rules", {"channels": ["push"], "quiet_start": "22:00"})
    assert bad.status_code == 422 and "quiet_end" in bad.text
    (saved,) = client.get("/api/v1/notification-rules", headers=owner["headers"]).json()
    assert saved["quiet_start"] == "22:00" and saved["labels"] == ["person"]
    assert "quiet 22:00–06:00" in pages.get("/modes").text
    assert post("/modes/mode", {"mode": "off"}).status_code == 303
    nocsrf = pages.post("/modes/mode", data={"mode": "home"}, follow_redirects=False)
    assert nocsrf.status_code == 403

    others = TestClient(client.app)
    stranger = f"stranger{next(_count)}@example.org"
    Api(client).signup(stranger)
    page_sign_in(others, stranger)
    token = page_csrf(others)
    for path in (f"/modes/cameras/{camera['id']}", f"/modes/rules/{saved['id']}/delete"):
        reply = others.post(path, data={"csrf_token": token}, follow_redirects=False)
        assert reply.status_code == 404, path
    assert saved["id"] in pages.get("/modes").text
