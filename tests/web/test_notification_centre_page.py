"""Issue 13, item 6: the /notifications page and the unread count in every page's header.

The in-process tests check what the server renders; the Chromium test runs against a
real ``doorstep serve`` because the live bump of the count needs its server-sent events.
Rows for the long list are written straight into the hub's database: the page reads
whatever is there, and each kind's producer is tested with it; the one that must arrive
live comes from a real police request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from doorstep.hub.db import session_scope
from doorstep.hub.models_requests import Notification
from tests.hub_fixtures import Api, bearer, page_csrf, page_sign_in, sqlite_hub

PASSWORD = "correct horse battery"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _rows(user_id: str, count: int, start: datetime = T0) -> list[Notification]:
    """``count`` request notifications a minute apart, the newest last."""
    return [
        Notification(
            id=str(uuid.uuid4()),
            user_id=user_id,
            kind="request",
            payload={"request_id": str(uuid.uuid4()), "incident_type": "burglary", "clips": 1},
            created_at=start + timedelta(minutes=i),
        )
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def hub_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sqlite_hub(tmp_path_factory.mktemp("centre-page")) as client:
        yield client


def _owner(client: TestClient, notes: int) -> tuple[str, list[str]]:
    """A signed-in owner (the client's cookie) with ``notes`` unread: (email, ids newest first)."""
    email = f"page-{uuid.uuid4().hex[:8]}@example.org"
    token = Api(client).signup(email)
    user_id = client.get("/api/v1/auth/me", headers=bearer(token)).json()["id"]
    rows = _rows(user_id, notes)
    with session_scope(client.app.state.hub.sessions) as session:  # type: ignore[attr-defined]
        session.add_all(rows)
    page_sign_in(client, email)
    return email, [r.id for r in reversed(rows)]


def _badge(html: str) -> str | None:
    found = re.search(r'id="unread-badge" data-unread="(\d+)"', html)
    return found.group(1) if found else None


def test_every_signed_in_page_shows_the_unread_count(hub_client: TestClient) -> None:
    _owner(hub_client, 3)
    for path in ("/timeline", "/cameras", "/inbox", "/settings", "/notifications"):
        page = hub_client.get(path)
        assert page.status_code == 200, path
        assert _badge(page.text) == "3", path
    hub_client.cookies.clear()
    assert _badge(hub_client.get("/transparency").text) is None  # signed out: no count


def test_the_page_lists_newest_first_pages_older_and_marks_read(hub_client: TestClient) -> None:
    _, ids = _owner(hub_client, 30)
    page = hub_client.get("/notifications")
    listed = re.findall(r'<li class="note unread" id="note-([0-9a-f-]+)"', page.text)
    assert listed == ids[:25]
    assert 'href="/inbox#request-' in page.text
    older = re.search(r'href="(/notifications\?before=[A-Za-z0-9_-]+)" id="older"', page.text)
    assert older is not None
    second = hub_client.get(older.group(1))
    assert re.findall(r'id="note-([0-9a-f-]+)"', second.text) == ids[25:]
    assert 'id="older"' not in second.text

    data = hub_client.get("/notifications?format=json").json()
    assert [n["id"] for n in data["items"]] == ids[:25] and data["unread"] == 30

    csrf = page_csrf(hub_client)
    done = hub_client.post(
        f"/notifications/{ids[0]}/read", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    page = hub_client.get("/notifications")
    assert f'<li class="note" id="note-{ids[0]}"' in page.text and _badge(page.text) == "29"

    refused = hub_client.post("/notifications/read-all", follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token: nothing marked
    assert _badge(hub_client.get("/notifications").text) == "29"
    hub_client.post("/notifications/read-all", data={"csrf_token": csrf})
    page = hub_client.get("/notifications")
    assert _badge(page.text) == "0" and 'class="note unread"' not in page.text


def test_another_owners_notification_cannot_be_marked(hub_client: TestClient) -> None:
    _, anns = _owner(hub_client, 1)
    _owner(hub_client, 1)  # now signed in as bob
    reply = hub_client.post(
        f"/notifications/{anns[0]}/read", data={"csrf_token": page_csrf(hub_client)}
    )
    assert reply.status_code == 404
    assert hub_client.get("/notifications?before=!!").status_code == 422
