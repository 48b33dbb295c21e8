"""Zone label filters (issue 15, item 4): "an event with only a vehicle in a person-only
zone notifies no one", end to end through ingest and the delivery job."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope
from doorstep.hub.models import Camera
from doorstep.hub.models_reach import PushSubscription
from tests.hub_fixtures import Api, bearer, sqlite_hub
from tests.reach.delivered import delivered


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sqlite_hub(tmp_path_factory.mktemp("zone-rules")) as test_client:
        yield test_client


def _deliver(client: TestClient, event_id: str, user_id: str) -> tuple[int, int]:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    return delivered(hub, event_id, user_id)


def test_a_vehicle_in_a_person_only_zone_notifies_no_one(client: TestClient) -> None:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    api = Api(client)
    token = api.signup("porch@example.org")
    camera = api.camera(token)
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
    rule = {"zone": "porch", "labels": ["person"], "channels": ["push"]}
    reply = client.post("/api/v1/notification-rules", json=rule, headers=bearer(token))
    assert reply.status_code == 201, reply.text

    def event(label: str, labels: list[str], zones: list[str], score: float = 0.8) -> str:
        start = datetime.now(UTC) - timedelta(minutes=1)
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "start_time": start.isoformat(),
            "label": label,
            "score": score,
            "labels": labels,
            "zones": zones,
        }
        key = bearer(camera["api_key"])
        reply = client.post("/api/v1/ingest/events", json=body, headers=key)
        assert reply.status_code == 201, reply.text
        return str(body["id"])

    # the inbox keeps every event; only push depends on the rule
    assert _deliver(client, event("vehicle", ["vehicle"], ["porch"]), user_id) == (1, 0)
    assert _deliver(client, event("motion", [], ["porch"]), user_id) == (1, 0)
    assert _deliver(client, event("person", ["person"], ["street"]), user_id) == (1, 0)
    assert _deliver(client, event("person", ["person"], ["porch"]), user_id) == (1, 1)
    # a car and a person on the porch: the car's higher score does not hide the person
    assert _deliver(client, event("vehicle", ["person", "vehicle"], ["porch"]), user_id) == (1, 1)

    # The zone can also ask for a minimum score: a faint person no longer pushes.
    rule_id = reply.json()["id"]
    stricter = client.patch(
        f"/api/v1/notification-rules/{rule_id}", json={"min_score": 0.7}, headers=bearer(token)
    )
    assert stricter.status_code == 200 and stricter.json()["min_score"] == 0.7, stricter.text
    assert _deliver(client, event("person", ["person"], ["porch"], 0.55), user_id) == (1, 0)
    assert _deliver(client, event("person", ["person"], ["porch"], 0.9), user_id) == (1, 1)
    too_high = client.patch(
        f"/api/v1/notification-rules/{rule_id}", json={"min_score": 1.5}, headers=bearer(token)
    )
    assert too_high.status_code == 422 and too_high.json()["field"] == "min_score"
