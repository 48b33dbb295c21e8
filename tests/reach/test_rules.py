"""Notification rules (issue 13, item 5): the API, whose rules they are, and
``rules.event_channels`` on a hand-made clock in the owner's time zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope
from doorstep.hub.models import Camera, User
from doorstep.hub.models_reach import PushSubscription
from doorstep.hub.services import rules
from tests.hub_fixtures import Api, bearer, sqlite_hub
from tests.reach.delivered import delivered

BERLIN = ZoneInfo("Europe/Berlin")
RULES = "/api/v1/notification-rules"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sqlite_hub(tmp_path_factory.mktemp("rules")) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def hub(client: TestClient) -> Hub:
    found: Hub = client.app.state.hub  # type: ignore[attr-defined]
    return found


_count = iter(range(10_000))


@pytest.fixture
def owner(client: TestClient) -> dict[str, Any]:
    api = Api(client)
    token = api.signup(f"rules{next(_count)}@example.org")
    headers = bearer(token)
    reply = client.patch("/api/v1/me/preferences", json={"timezone": BERLIN.key}, headers=headers)
    assert reply.status_code == 200, reply.text
    return {"headers": headers, "front": api.camera(token), "garden": api.camera(token)}


def channels(hub: Hub, camera_id: str, event: dict[str, Any], local: datetime) -> set[str]:
    """What rules.event_channels says for an event at ``local`` (Berlin wall time)."""
    with session_scope(hub.sessions) as session:
        camera = session.get(Camera, camera_id)
        assert camera is not None
        user = session.get(User, camera.owner_id)
        assert user is not None
        return rules.event_channels(session, user, camera, event, local.replace(tzinfo=BERLIN))


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 15, hour, minute)  # winter: UTC+1


PERSON = {"label": "person"}
MOTION = {"label": "motion"}


def test_event_channels_quiet_hours_across_midnight_labels_zones_and_modes(
    client: TestClient, hub: Hub, owner: dict[str, Any]
) -> None:
    headers, front, garden = owner["headers"], owner["front"]["id"], owner["garden"]["id"]
    assert channels(hub, front, MOTION, at(3)) == {"push"}  # no rule at all: push

    night = {
        "camera_id": front,
        "labels": ["person"],
        "channels": ["push", "email"],
        "quiet_start": "22:00",
        "quiet_end": "07:00",
    }
    reply = client.post(RULES, json=night, headers=headers)
    assert reply.status_code == 201, reply.text
    assert reply.json()["enabled"] is True and reply.json()["channels"] == ["email", "push"]

    assert channels(hub, front, PERSON, at(12)) == {"push", "email"}
    assert channels(hub, front, PERSON, at(21, 59)) == {"push", "email"}
    assert channels(hub, front, PERSON, at(22)) == set()  # quiet from 22:00 Berlin...
    assert channels(hub, front, PERSON, at(23, 30)) == set()
    assert channels(hub, front, PERSON, at(0, 30)) == set()  # ...across midnight...
    assert channels(hub, front, PERSON, at(6, 59)) == set()
    assert channels(hub, front, PERSON, at(7)) == {"push", "email"}  # ...until 07:00
    # 22:30 UTC is 23:30 in Berlin: the owner's zone decides, not the hub's
    utc = datetime(2026, 1, 15, 22, 30, tzinfo=ZoneInfo("UTC"))
    with session_scope(hub.sessions) as session:
        camera = session.get(Camera, front)
        user = session.get(User, camera.owner_id)  # type: ignore[union-attr]
        assert rules.event_channels(session, user, camera, PERSON, utc) == set()  # type: ignore[arg-type]
    assert channels(hub, front, MOTION, at(12)) == set()  # rules exist, none matches
    assert channels(hub, garden, PERSON, at(12)) == set()  # another camera

    # any label, any camera, to the agent's MQTT: the night rule's quiet hours do not
    # silence it, and it does not lift them for push
    anything = client.post(RULES, json={"channels": ["mqtt"]}, headers=headers).json()
    assert channels(hub, front, PERSON, at(23)) == {"mqtt"}
    assert channels(hub, garden, MOTION, at(12)) == {"mqtt"}

    # a zone rule matches only an event that lists its zone
    zone = {"zone": "driveway", "channels": ["push"], "camera_id": garden}
    assert client.post(RULES, json=zone, headers=headers).status_code == 201
    assert channels(hub, garden, MOTION, at(12)) == {"mqtt"}
    assert channels(hub, garden, {"label": "motion", "zones": ["driveway"]}, at(12)) == {
        "mqtt",
        "push",
    }

    # disabled: matches nothing
    reply = client.patch(f"{RULES}/{anything['id']}", json={"enabled": False}, headers=headers)
    assert reply.status_code == 200 and reply.json()["enabled"] is False
    assert channels(hub, garden, MOTION, at(12)) == set()

    # the mode's notify flag comes first: Off notifies nothing, whatever the rules
    assert client.put("/api/v1/mode", json={"mode": "off"}, headers=headers).is_success
    assert channels(hub, front, PERSON, at(12)) == set()
    assert client.put("/api/v1/mode", json={"mode": "away"}, headers=headers).is_success
    assert channels(hub, front, PERSON, at(12)) == {"push", "email"}


def test_rules_reach_the_agent_state_and_bump_its_version(
    client: TestClient, owner: dict[str, Any]
) -> None:
    headers, key = owner["headers"], bearer(owner["front"]["api_key"])
    before = client.get("/api/v1/ingest/control", headers=key).json()
    assert before["rules"] == []
    body = {"labels": ["person"], "channels": ["mqtt", "push"], "quiet_start": "23:00",
            "quiet_end": "06:00"}  # fmt: skip
    rule = client.post(RULES, json=body, headers=headers).json()
    push_only = client.post(RULES, json={"channels": ["push"]}, headers=headers).json()
    after = client.get(
        "/api/v1/ingest/control", params={"after": before["version"], "wait": 2}, headers=key
    ).json()
    assert after["version"] == before["version"] + 2
    assert after["rules"] == [
        {
            "id": rule["id"],
            "zone": None,
            "labels": ["person"],
            "min_score": None,
            "quiet_start": "23:00",
            "quiet_end": "06:00",
            "timezone": BERLIN.key,
        }
    ]  # only the rules for the agent's channel
    assert client.delete(f"{RULES}/{push_only['id']}", headers=headers).status_code == 204
    assert client.get(f"{RULES}/{push_only['id']}", headers=headers).status_code == 404
    assert [r["id"] for r in client.get(RULES, headers=headers).json()] == [rule["id"]]


BAD_RULES: list[dict[str, Any]] = [
    {"quiet_start": "22:00"},  # both or neither
    {"quiet_start": "22:00", "quiet_end": "22:00"},
    {"quiet_start": "25:00", "quiet_end": "07:00"},
    {"channels": []},
    {"channels": ["sms"]},
    {"labels": ["cat"]},
    {"enabled": "yes"},
    {"camera_id": "not-a-uuid"},
]


def test_bad_rules_are_refused_with_the_field(client: TestClient, owner: dict[str, Any]) -> None:
    for body in BAD_RULES:
        reply = client.post(RULES, json=body, headers=owner["headers"])
        assert reply.status_code == 422, (body, reply.text)
        assert reply.json()["detail"]
    assert client.get(RULES, headers=owner["headers"]).json() == []


def test_another_owner_reaches_none_of_my_rules(client: TestClient, owner: dict[str, Any]) -> None:
    headers = owner["headers"]
    mine = client.post(
        RULES, json={"camera_id": owner["front"]["id"], "channels": ["push"]}, headers=headers
    ).json()
    other = bearer(Api(client).signup(f"intruder{next(_count)}@example.org"))
    assert client.get(RULES, headers=other).json() == []
    for method, body in [("GET", None), ("PATCH", {"enabled": False}), ("DELETE", None)]:
        reply = client.request(method, f"{RULES}/{mine['id']}", json=body, headers=other)
        assert reply.status_code == 404, (method, reply.text)
    # nor name my camera in a rule of theirs
    reply = client.post(
        RULES, json={"camera_id": owner["front"]["id"], "channels": ["push"]}, headers=other
    )
    assert reply.status_code == 404
    assert client.get(f"{RULES}/{mine['id']}", headers=headers).json()["enabled"] is True
    assert client.get(RULES).status_code == 401


def test_quiet_hours_hold_back_push_but_not_the_inbox_entry(
    client: TestClient, hub: Hub, owner: dict[str, Any]
) -> None:
    """End to end through ingest and the delivery job (doorstep/hub/delivery.py)."""
    headers, camera = owner["headers"], owner["front"]
    with session_scope(hub.sessions) as session:
        user_id = session.get(Camera, camera["id"]).owner_id  # type: ignore[union-attr]
        session.add(
            PushSubscription(
                user_id=user_id,
                endpoint=f"https://127.0.0.1:9/push/{user_id}",  # never reached: jobs are counted
                p256dh="BOr8mOcrWuv2ElWqb3Tt0yLrITiXUqEGPqhXhCXsdTnoApJDPCQ6NMKsHS1Xg2Nr5aqxSxNpYSr5QiCt4Po5Cjw",
                auth="aGVsbG8gd29ybGQhIQ",
            )
        )
    local = datetime.now(BERLIN)
    quiet = {  # the two hours around now, in the owner's zone (may cross midnight)
        "quiet_start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "quiet_end": (local + timedelta(hours=1)).strftime("%H:%M"),
    }
    rule = client.post(RULES, json={"channels": ["push"], **quiet}, headers=headers).json()
    api = Api(client)

    def deliver(event_id: str) -> tuple[int, int]:
        return delivered(hub, event_id, user_id)

    quiet_event = api.event(camera["api_key"])
    assert deliver(quiet_event["id"]) == (1, 0)  # in the inbox, not pushed
    client.patch(
        f"{RULES}/{rule['id']}", json={"quiet_start": None, "quiet_end": None}, headers=headers
    )
    loud_event = api.event(camera["api_key"])
    assert deliver(loud_event["id"]) == (1, 1)  # the same rule out of quiet hours: pushed
    assert client.put("/api/v1/mode", json={"mode": "off"}, headers=headers).is_success
    off_event = api.event(camera["api_key"])
    assert deliver(off_event["id"]) == (0, 0)  # Off: the camera does not notify at all
