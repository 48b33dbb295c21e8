"""Issue 13, item 6: the /notifications page and the unread count in every page's header.

The in-process tests check what the server renders; the Chromium test runs against a
real ``doorstep serve`` because the live bump of the count needs its server-sent events.
Rows for the long list are written straight into the hub's database: the page reads
whatever is there, and each kind's producer is tested with it; the one that must arrive
live comes from a real police request.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.hub.db import make_engine, session_scope
from doorstep.hub.models import Role
from doorstep.hub.models_requests import Notification
from tests.conftest import IN_CI
from tests.hub_fixtures import Api, bearer, page_csrf, page_sign_in, sqlite_hub
from tests.requests.conftest import PASSWORD as OWNER_PASSWORD
from tests.requests.conftest import add_user as add_user_here
from tests.server_process import ServerProcess
from tests.web.test_browser import (
    CENTRE,
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    add_user,
    api_login,
    shot,
    sign_in,
    wait_until,
)

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


@pytest.mark.browser
def test_the_header_count_lives_and_mark_all_read_zeroes_it_in_chromium(
    tmp_path: Path,
) -> None:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("Chromium is missing; scripts/install installs it with apt-get")
        pytest.skip("Chromium not installed (scripts/install installs it)")
    from playwright.sync_api import sync_playwright

    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'hub.db'}"
    hub = ServerProcess(data, url, DOORSTEP_MAP_TILE_URL="")
    hub.start()
    try:
        _centre_in_chromium(hub, url, sync_playwright)
    finally:
        hub.stop()


def _centre_in_chromium(hub: ServerProcess, url: str, sync_playwright: Any) -> None:
    base = hub.url
    signup = {"email": "cleo@example.org", "password": PASSWORD, "name": "Cleo"}
    assert httpx.post(f"{base}/api/v1/auth/signup", json=signup).status_code == 201
    owner = api_login(base, "cleo@example.org")
    user_id = httpx.get(f"{base}/api/v1/auth/me", headers=owner).json()["id"]
    camera = httpx.post(
        f"{base}/api/v1/cameras",
        json={"name": "Side gate", "latitude": CENTRE[0], "longitude": CENTRE[1]},
        headers=owner,
    ).json()
    start = datetime.now(UTC) - timedelta(hours=2)
    event = {"id": str(uuid.uuid4()), "label": "person", "score": 0.9}
    event |= {
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(seconds=30)).isoformat(),
    }
    key = {"Authorization": f"Bearer {camera['api_key']}"}
    assert httpx.post(f"{base}/api/v1/ingest/events", json=event, headers=key).status_code == 201
    add_user(hub, "dee@example.org", "officer", "Harbourside Police")
    officer = api_login(base, "dee@example.org")
    engine = make_engine(url)  # 30 older notifications, straight into the hub's database
    with Session(engine) as session, session.begin():
        session.add_all(_rows(user_id, 30, start=datetime.now(UTC) - timedelta(days=2)))
    engine.dispose()
    # The event may make its own entry (deliver.event, when the mode notifies): count it.
    unread = f"{base}/api/v1/notifications/unread-count"
    for _ in range(50):
        if (
            httpx.get(f"{base}/api/v1/notifications?limit=1", headers=owner).json()["items"][0][
                "kind"
            ]
            == "event"
        ):
            break
        time.sleep(0.1)
    before = httpx.get(unread, headers=owner).json()["unread"]
    assert before in (30, 31)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        page = sign_in(context, base, "cleo@example.org")
        page.goto(f"{base}/timeline")
        badge = page.locator("#unread-badge")
        assert badge.inner_text() == str(before) and badge.is_visible()
        page.wait_for_timeout(500)  # the live feed connects

        created = httpx.post(
            f"{base}/api/v1/requests",
            json={
                "incident_type": "burglary",
                "case_number": "HP-2026-0101",
                "reason": "Break-in at number 12; looking for people passing by.",
                "contact": "dee@harbourside.example",
                "area": {"type": "Circle", "center": [CENTRE[1], CENTRE[0]], "radius_m": 250},
                "start_time": (start - timedelta(minutes=30)).isoformat(),
                "end_time": (start + timedelta(minutes=60)).isoformat(),
            },
            headers=officer,
        )
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        wait_until(page, f"document.getElementById('unread-badge').textContent === '{before + 1}'")

        page.get_by_role("link", name=f"Notifications, {before + 1} unread").click()
        page.wait_for_url("**/notifications")
        notes = page.locator("li.note")
        assert notes.count() == 25 and page.locator("li.note.unread").count() == 25
        newest = notes.first.locator("a.note-title")
        assert newest.get_attribute("href") == f"/inbox#request-{rid}"
        assert newest.evaluate("a => getComputedStyle(a).fontWeight") == "700"  # unread: bold
        fits = "document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(fits), "the list is wider than a 390 px phone"

        notes.first.get_by_role("button", name="Mark read").click()
        page.wait_for_load_state()
        assert badge.inner_text() == str(before)
        assert page.locator("li.note").first.get_attribute("class") == "note"
        assert (
            page.locator("li.note a.note-title").first.evaluate(
                "a => getComputedStyle(a).fontWeight"
            )
            == "400"
        )

        page.get_by_role("link", name="Older").click()
        page.wait_for_url("**/notifications?before=*")
        assert page.locator("li.note").count() == before + 1 - 25
        page.goto(f"{base}/notifications")
        shot(page, "20-notification-centre")

        page.get_by_role("button", name="Mark all read").click()
        page.wait_for_load_state()
        assert badge.get_attribute("data-unread") == "0" and not badge.is_visible()
        assert page.locator("li.note.unread").count() == 0

        page.locator("li.note a.note-title").first.click()  # the request, in the inbox
        page.wait_for_url(f"**/inbox#request-{rid}")
        assert page.locator(f"#request-{rid}").is_visible()
        assert badge.get_attribute("data-unread") == "0"
        chromium.close()


def test_officers_can_turn_on_push_from_their_notifications_page(hub_client: TestClient) -> None:
    """Officers get pushes (footage shared with their requests) but have no owner settings
    page: the device switch is on the notifications page every role has."""
    add_user_here(hub_client, "pushing.officer@pd.example", Role.officer, "Harbour PD")
    page_sign_in(hub_client, "pushing.officer@pd.example", OWNER_PASSWORD)
    page = hub_client.get("/notifications")
    assert page.status_code == 200
    assert 'id="push-device"' in page.text and "data-push-enable" in page.text
    assert hub_client.get("/settings", follow_redirects=False).status_code in (303, 403, 404)
