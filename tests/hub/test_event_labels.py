"""Events know what they saw (issue 15, item 2 and 4): the labels an agent recognises and
the zones its motion entered are accepted, stored, merged on update, returned, and the
API filters by them; on SQLite and PostgreSQL (the JSON list queries differ)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.hub_fixtures import Api, bearer, page_sign_in

EVENTS = "/api/v1/ingest/events"


def _event(**fields: Any) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(minutes=10)
    return {
        "id": str(uuid.uuid4()),
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(seconds=20)).isoformat(),
        **fields,
    }


def _ids(client: TestClient, headers: dict[str, str], query: str) -> set[str]:
    reply = client.get(f"/api/v1/events?{query}", headers=headers)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["total"] == len(body["items"])
    return {item["id"] for item in body["items"]}


def test_labels_and_zones_accepted_stored_merged_and_filtered(client: TestClient) -> None:
    api = Api(client)
    token = api.signup("labels@example.org")
    owner = bearer(token)
    key = bearer(api.camera(token)["api_key"])

    car = _event(label="vehicle", score=0.71, labels=["vehicle"], zones=["driveway"])
    reply = client.post(EVENTS, json=car, headers=key)
    assert reply.status_code == 201, reply.text
    assert reply.json()["label"] == "vehicle"
    assert reply.json()["labels"] == ["vehicle"] and reply.json()["zones"] == ["driveway"]

    # an update adds what was seen since; the best label may change, nothing is forgotten
    later = {**car, "label": "person", "score": 0.9, "labels": ["person"], "zones": ["porch"]}
    reply = client.post(EVENTS, json=later, headers=key)
    assert reply.status_code == 200, reply.text
    stored = client.get(f"/api/v1/events/{car['id']}", headers=owner).json()
    assert stored["label"] == "person" and stored["score"] == 0.9
    assert stored["labels"] == ["person", "vehicle"]
    assert stored["zones"] == ["driveway", "porch"]

    dog = _event(label="animal", score=0.6, zones=["garden"])  # best label, no list
    box = _event(label="package", score=0.5, labels=["package", "person"], zones=["porch"])
    plain = _event()  # an older agent: motion, no lists
    for body in (dog, box, plain):
        reply = client.post(EVENTS, json=body, headers=key)
        assert reply.status_code == 201, reply.text
    assert client.get(f"/api/v1/events/{dog['id']}", headers=owner).json()["labels"] == ["animal"]
    motion = client.get(f"/api/v1/events/{plain['id']}", headers=owner).json()
    assert motion["label"] == "motion" and motion["labels"] == [] and motion["zones"] == []

    assert _ids(client, owner, "label=person") == {car["id"], box["id"]}
    assert _ids(client, owner, "label=vehicle") == {car["id"]}
    assert _ids(client, owner, "label=animal") == {dog["id"]}
    assert _ids(client, owner, "label=motion") == {plain["id"]}
    assert _ids(client, owner, "zone=porch") == {car["id"], box["id"]}
    assert _ids(client, owner, "zone=porch&label=package") == {box["id"]}
    assert _ids(client, owner, "zone=garden&label=person") == set()
    assert _ids(client, owner, "zone=por") == set()  # a name, not a substring
    assert len(_ids(client, owner, "")) == 4

    # bad input: an unknown label, too many or too long names, a bad filter
    for bad in (
        _event(label="bus"),
        _event(labels=["person", "bird"]),
        _event(labels=["person"] * 11),
        _event(zones=[f"z{i}" for i in range(33)]),
        _event(zones=["x" * 101]),
        _event(zones=[""]),
        _event(zones="porch"),
    ):
        reply = client.post(EVENTS, json=bad, headers=key)
        assert reply.status_code == 422, (bad, reply.text)
        assert reply.json()["detail"]
    assert client.get("/api/v1/events?label=bus", headers=owner).status_code == 422
    assert client.get("/api/v1/events?zone=", headers=owner).status_code == 422

    # another owner's events never appear, whatever the filter
    other = api.signup("labels-other@example.org")
    other_key = bearer(api.camera(other)["api_key"])
    theirs = _event(label="vehicle", labels=["vehicle"], zones=["porch"])
    assert client.post(EVENTS, json=theirs, headers=other_key).status_code == 201
    assert _ids(client, owner, "zone=porch") == {car["id"], box["id"]}
    assert _ids(client, owner, "label=vehicle") == {car["id"]}
    assert _ids(client, bearer(other), "zone=porch") == {theirs["id"]}
    assert client.get(f"/api/v1/events/{theirs['id']}", headers=owner).status_code == 404

    # the timeline page filters the same way, and offers the zones events entered
    page_sign_in(client, "labels@example.org")
    page = client.get("/timeline?zone=porch&label=package")
    assert page.status_code == 200
    assert 'id="flt-zone"' in page.text and '<option value="garden"' in page.text
    assert 'value="vehicle"' in page.text and 'value="porch" selected' in page.text
    found = client.get("/timeline?zone=porch&label=person&format=json").json()
    assert {e["id"] for e in found["events"]} == {car["id"], box["id"]}
    assert found["events"][0]["zones"]
    unknown = client.get("/timeline?zone=nowhere&label=bus")
    assert "No event entered a zone of that name" in unknown.text
    assert "Choose one of person, vehicle" in unknown.text
