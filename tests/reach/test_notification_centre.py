"""Issue 13, item 6: the notification centre in the API (pages, unread count, read marks).

Rows are written straight into the ``notifications`` table: the centre reads whatever is
there, and how a row came to be (a police request, an event, a reminder) is tested with
its producer. One hub per backend for the module; each test uses its own accounts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.hub.db import session_scope
from doorstep.hub.models_requests import Notification
from tests.hub_fixtures import Api, bearer, reset_pg_schema

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CHEAP_HASHING = {"password_hash_memory_kib": 1024, "password_hash_time_cost": 1}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def hub_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    root: Path = tmp_path_factory.mktemp("centre")
    url = f"sqlite:///{root / 'hub.db'}"
    if request.param == "postgresql":
        name = request.getfixturevalue("pg_database")
        reset_pg_schema(name)
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    settings = Settings(data_dir=root / "data", database_url=url, **CHEAP_HASHING)
    with TestClient(create_app(settings)) as client:
        yield client


def _person(client: TestClient) -> tuple[str, str]:
    """A new owner account: (user id, token)."""
    token = Api(client).signup(f"centre-{uuid.uuid4().hex[:8]}@example.org")
    me = client.get("/api/v1/auth/me", headers=bearer(token)).json()
    return str(me["id"]), token


def _store(client: TestClient, rows: list[dict[str, Any]]) -> list[str]:
    """Insert notification rows as given (user_id, kind, payload, created_at); their ids."""
    notes = [Notification(id=str(uuid.uuid4()), **row) for row in rows]
    with session_scope(client.app.state.hub.sessions) as session:  # type: ignore[attr-defined]
        session.add_all(notes)
    return [n.id for n in notes]


def _page(client: TestClient, token: str, query: str = "") -> dict[str, Any]:
    reply = client.get(f"/api/v1/notifications{query}", headers=bearer(token))
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _every_page(client: TestClient, token: str, query: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = _page(client, token, query + (f"&before={cursor}" if cursor else ""))
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "paging does not end"


def test_pages_reach_past_200_newest_first_without_skipping_equal_times(
    hub_client: TestClient,
) -> None:
    user_id, token = _person(hub_client)
    # 230 at distinct times, then 9 in one instant (a fan-out writes many at once)
    ids = _store(
        hub_client,
        [
            {"user_id": user_id, "kind": "request", "payload": {"request_id": str(uuid.uuid4())}}
            | {"created_at": T0 + timedelta(seconds=i)}
            for i in range(230)
        ],
    )
    same = _store(
        hub_client,
        [
            {"user_id": user_id, "kind": "event", "payload": {"event_id": str(uuid.uuid4())}}
            | {"created_at": T0 + timedelta(seconds=100, microseconds=500)}
            for _ in range(9)
        ],
    )
    newest_first = [*reversed(ids[101:]), *sorted(same, reverse=True), *reversed(ids[:101])]

    first = _page(hub_client, token)
    assert len(first["items"]) == 50 and first["unread"] == 239  # default page, total unread

    pages = _every_page(hub_client, token, "?limit=200")
    assert [len(p) for p in pages] == [200, 39]
    assert [i for p in pages for i in p] == newest_first

    # small pages cut through the block of equal timestamps: nothing skipped or repeated
    pages = _every_page(hub_client, token, "?limit=7")
    assert [i for p in pages for i in p] == newest_first


def test_items_carry_title_body_and_the_page_they_are_about(hub_client: TestClient) -> None:
    user_id, token = _person(hub_client)
    rid, eid = str(uuid.uuid4()), str(uuid.uuid4())
    request = {"request_id": rid, "incident_type": "burglary", "clips": 2}
    kinds = {
        "event": ({"event_id": eid, "label": "person", "camera_name": "Porch"}, f"/events/{eid}"),
        "request": (request, f"/inbox#request-{rid}"),
        "request_reminder": (request, f"/inbox#request-{rid}"),
        "emergency_access": (request, f"/inbox#request-{rid}"),
        "clip_accessed": ({"request_id": rid, "event_id": eid}, f"/inbox#request-{rid}"),
        "share_received": ({"request_id": rid, "clips": 3}, f"/officer/requests/{rid}"),
    }
    _store(
        hub_client,
        [
            {"user_id": user_id, "kind": kind, "payload": payload, "created_at": T0}
            for kind, (payload, _) in kinds.items()
        ],
    )
    items = {item["kind"]: item for item in _page(hub_client, token)["items"]}
    assert set(items) == set(kinds)
    for kind, (payload, url) in kinds.items():
        item = items[kind]
        assert item["url"] == url, kind
        assert item["title"] and item["body"] and item["payload"] == payload, kind
        assert item["read_at"] is None
    assert items["event"]["title"] == "Someone at Porch"


def test_unread_filter_count_and_read_marks(hub_client: TestClient) -> None:
    user_id, token = _person(hub_client)
    ids = _store(
        hub_client,
        [
            {"user_id": user_id, "kind": "event", "payload": {}, "created_at": T0 + timedelta(i)}
            for i in range(5)
        ],
    )
    count = hub_client.get("/api/v1/notifications/unread-count", headers=bearer(token))
    assert count.status_code == 200 and count.json() == {"unread": 5}

    read = hub_client.post(f"/api/v1/notifications/{ids[4]}/read", headers=bearer(token))
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = hub_client.post(f"/api/v1/notifications/{ids[4]}/read", headers=bearer(token))
    assert again.json()["read_at"] == read.json()["read_at"]  # the first reading stays

    unread = _page(hub_client, token, "?unread=true&limit=2")
    assert [i["id"] for i in unread["items"]] == [ids[3], ids[2]] and unread["unread"] == 4
    rest = _page(hub_client, token, f"?unread=true&limit=2&before={unread['next']}")
    assert [i["id"] for i in rest["items"]] == [ids[1], ids[0]] and rest["next"] is None

    # one that arrives after the click (timestamped later) is not marked: it was not seen
    (late,) = _store(
        hub_client,
        [
            {
                "user_id": user_id,
                "kind": "event",
                "payload": {},
                "created_at": datetime.now(UTC) + timedelta(hours=1),
            }
        ],
    )
    marked = hub_client.post("/api/v1/notifications/read-all", headers=bearer(token))
    assert marked.status_code == 200 and marked.json() == {"marked": 4, "unread": 1}
    assert [i["id"] for i in _page(hub_client, token, "?unread=true")["items"]] == [late]
    assert hub_client.post("/api/v1/notifications/read-all", headers=bearer(token)).json() == {
        "marked": 0,
        "unread": 1,
    }


def test_another_users_notifications_are_not_found(hub_client: TestClient) -> None:
    ann_id, ann = _person(hub_client)
    _, bob = _person(hub_client)
    (note,) = _store(
        hub_client, [{"user_id": ann_id, "kind": "request", "payload": {}, "created_at": T0}]
    )
    reply = hub_client.post(f"/api/v1/notifications/{note}/read", headers=bearer(bob))
    assert reply.status_code == 404 and reply.json()["detail"] == "no such notification"
    assert _page(hub_client, bob) == {"items": [], "next": None, "unread": 0}
    assert hub_client.post("/api/v1/notifications/read-all", headers=bearer(bob)).json() == {
        "marked": 0,
        "unread": 0,
    }
    assert _page(hub_client, ann)["unread"] == 1  # bob's read-all left ann's alone
    # bob holding ann's cursor learns nothing of hers: the cursor filters bob's own rows
    cursor = _page(hub_client, ann, "?limit=1")["next"]
    assert cursor is None
    for path in ("/notifications", "/notifications/unread-count"):
        assert hub_client.get(f"/api/v1{path}").status_code == 401
    assert hub_client.post("/api/v1/notifications/read-all").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=5.0", "limit"),
        ("unread=yes", "unread"),
        ("before=not%20a%20cursor", "before"),
        ("before=bm90LWEtY3Vyc29y", "before"),  # base64 of "not-a-cursor"
        ("before=MjAyNi0wNS0wMVQxMjowMDowMHxhYmM", "before"),  # a time without its zone
    ],
)
def test_bad_paging_is_a_clear_422(hub_client: TestClient, query: str, field: str) -> None:
    _, token = _person(hub_client)
    reply = hub_client.get(f"/api/v1/notifications?{query}", headers=bearer(token))
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["field"] == field and body["detail"]
