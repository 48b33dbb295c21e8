"""Issue 14, owner items 1-3: the live timeline, the history view, and local time.

The page-level tests run in process (one SQLite hub for the module). The Chromium tests
share one real ``doorstep serve`` and one browser: the live card needs the server-sent
events of a real server, local time needs a browser whose zone is set, and the history
bar's Previous/Next and zoom are scripts. Times are checked against Python's zoneinfo.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.hub_fixtures import Api, bearer, page_csrf, page_sign_in, sqlite_hub
from tests.server_process import ServerProcess
from tests.web.test_browser import PASSWORD, first_frame_jpeg, shot

NEW_YORK = ZoneInfo("America/New_York")
DAY = "2026-03-03"  # a past day; its events are placed at fixed times in the owner's zone
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


# --- in process: what the server renders -------------------------------------------


@pytest.fixture(scope="module")
def hub_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sqlite_hub(tmp_path_factory.mktemp("timeline-live")) as client:
        yield client


def _owner_with_day(client: TestClient) -> tuple[str, dict[str, Any], list[str]]:
    """A signed-in owner (UTC) with events at 08:00, 12:00 and 19:00 on DAY."""
    email = f"hist-{uuid.uuid4().hex[:8]}@example.org"
    api = Api(client)
    token = api.signup(email)
    camera = api.camera(token)
    day = datetime.fromisoformat(DAY).replace(tzinfo=UTC)
    ids = [api.event(camera["api_key"], start=day.replace(hour=h))["id"] for h in (8, 12, 19)]
    api.event(camera["api_key"], start=day - timedelta(minutes=1))  # the day before: not drawn
    page_sign_in(client, email)
    return token, camera, ids


def test_history_draws_the_day_and_links_previous_and_next(hub_client: TestClient) -> None:
    _, camera, ids = _owner_with_day(hub_client)
    url = f"/history?camera={camera['id']}&day={DAY}"
    data = hub_client.get(url + "&format=json").json()
    assert [e["id"] for e in data["events"]] == ids  # oldest first, that day only
    assert [e["offset_s"] for e in data["events"]] == [8 * 3600, 12 * 3600, 19 * 3600]
    assert data["selected"]["id"] == ids[2] and data["zone"] == "UTC"
    assert (data["previous_id"], data["next_id"]) == (ids[1], None)
    assert (data["previous_day"], data["next_day"]) == ("2026-03-02", "2026-03-04")

    page = hub_client.get(url).text  # positions on the server: the bar works without JS
    assert '<rect class="person" x="28800.0"' in page and 'viewBox="0 0 86400 40"' in page
    assert f'name="event" value="{ids[1]}" id="prev-event">' in page
    assert 'id="next-event" disabled' in page
    first = hub_client.get(url + f"&event={ids[0]}").text
    assert 'id="prev-event" disabled' in first
    assert f'src="/media/events/{ids[0]}/clip"' not in first  # no clip uploaded yet
    assert "The clip is not here yet." in first

    default = hub_client.get("/history?format=json").json()  # first camera, today
    assert default["camera"]["id"] == camera["id"]
    assert default["day"] == datetime.now(UTC).date().isoformat()


def test_history_refuses_a_bad_day_and_hides_other_owners_cameras(
    hub_client: TestClient,
) -> None:
    _, anns_camera, _ = _owner_with_day(hub_client)
    _owner_with_day(hub_client)  # now signed in as another owner
    assert hub_client.get(f"/history?camera={anns_camera['id']}").status_code == 404
    bad = hub_client.get("/history?day=23-11-2026")
    assert bad.status_code == 422 and "Use a date like" in bad.text
    assert hub_client.get("/history?day=9999-12-31").status_code == 422


def test_every_time_on_a_page_is_a_time_element_in_utc(hub_client: TestClient) -> None:
    _owner_with_day(hub_client)
    page = hub_client.get("/timeline").text
    assert page.count('<time datetime="2026-03-03T') == 3
    assert (
        '<time datetime="2026-03-03T19:00:00Z" data-format="datetime" '
        'title="2026-03-03 19:00:00 UTC">2026-03-03 19:00 UTC</time>'
    ) in page
    assert '<script src="/static/js/localtime.js">' in page


def test_signing_in_keeps_the_browsers_zone_only_over_the_default(
    hub_client: TestClient,
) -> None:
    def sign_in(email: str, zone: str) -> str:
        hub_client.cookies.clear()
        form = {"csrf_token": page_csrf(hub_client), "email": email, "password": PASSWORD}
        reply = hub_client.post("/login", data={**form, "timezone": zone}, follow_redirects=False)
        assert reply.status_code == 303, reply.text
        me = hub_client.get("/api/v1/me/preferences", headers=bearer(Api(hub_client).login(email)))
        return str(me.json()["timezone"])

    email = f"zone-{uuid.uuid4().hex[:8]}@example.org"
    Api(hub_client).signup(email)
    assert sign_in(email, "Mars/Olympus_Mons") == "UTC"  # not a zone: ignored
    assert sign_in(email, "America/New_York") == "America/New_York"
    assert sign_in(email, "Europe/Paris") == "America/New_York"  # chosen already: kept

    hub_client.cookies.clear()
    form = {"csrf_token": page_csrf(hub_client), "email": f"new-{email}", "password": PASSWORD}
    signup = hub_client.post(
        "/signup", data={**form, "name": "Cy", "timezone": "Asia/Tokyo"}, follow_redirects=False
    )
    assert signup.status_code == 303, signup.text
    me = hub_client.get(
        "/api/v1/me/preferences", headers=bearer(Api(hub_client).login(f"new-{email}"))
    )
    assert me.json()["timezone"] == "Asia/Tokyo"


# --- Chromium against a real server ---------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("timeline-live-server") / "data"
    data.mkdir()
    hub = ServerProcess(data, f"sqlite:///{data / 'hub.db'}", DOORSTEP_MAP_TILE_URL="")
    hub.start()
    yield hub
    hub.stop()


class Camera:
    """The owner's camera as its agent talks to the hub (the real ingest API)."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.auth = base, {"Authorization": f"Bearer {key}"}

    def event(self, event_id: str, start: datetime, label: str, score: float, **extra: Any) -> int:
        body = {"id": event_id, "start_time": start.isoformat(), "label": label, "score": score}
        reply = httpx.post(
            f"{self.base}/api/v1/ingest/events", json={**body, **extra}, headers=self.auth
        )
        assert reply.status_code in (200, 201), reply.text
        return reply.status_code

    def upload(self, event_id: str, kind: str, data: bytes) -> None:
        headers = {**self.auth, "X-Content-SHA256": hashlib.sha256(data).hexdigest()}
        url = f"{self.base}/api/v1/ingest/events/{event_id}/{kind}"
        reply = httpx.put(url, content=data, headers=headers, timeout=60)
        assert reply.status_code in (200, 201), reply.text


@pytest.fixture(scope="module")
def owner(server: ServerProcess, media_dir: Path) -> dict[str, Any]:
    """An owner (zone still the default UTC) with a camera and three events on DAY in
    New York, each with its clip and snapshot."""
    base = server.url
    email = "nyc@example.org"
    signup = {"email": email, "password": PASSWORD, "name": "Nia"}
    assert httpx.post(f"{base}/api/v1/auth/signup", json=signup).status_code == 201
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    ).json()["access_token"]
    made = httpx.post(
        f"{base}/api/v1/cameras",
        json={"name": "Porch", "latitude": 40.7, "longitude": -74.0},
        headers=bearer(token),
    ).json()
    camera = Camera(base, made["api_key"])
    clip_path = media_dir / "pets09-s2l1" / "vtest_h264.mp4"
    clip, snapshot = clip_path.read_bytes(), first_frame_jpeg(clip_path)
    day = datetime.fromisoformat(DAY).replace(tzinfo=NEW_YORK)
    ids = []
    for hour, minute in ((8, 0), (12, 30), (19, 15)):
        start = day.replace(hour=hour, minute=minute)
        ids.append(str(uuid.uuid4()))
        camera.event(
            ids[-1], start, "person", 0.9, end_time=(start + timedelta(seconds=40)).isoformat()
        )
        camera.upload(ids[-1], "snapshot", snapshot)
        camera.upload(ids[-1], "clip", clip)
    return {
        "email": email,
        "token": token,
        "camera": camera,
        "camera_id": made["id"],
        "ids": ids,
        "clip": clip,
        "snapshot": snapshot,
    }


def _sign_in(browser: Any, base: str, email: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport, timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/timeline")
    return page


def _new_york(when: datetime) -> str:
    local = when.astimezone(NEW_YORK)
    return local.strftime("%Y-%m-%d %H:%M ") + ("EDT" if local.dst() else "EST")


@pytest.mark.browser
def test_live_timeline_and_local_time_in_chromium(
    browser: Any, server: ServerProcess, owner: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base = server.url
    page = _sign_in(browser, base, owner["email"], DESKTOP)
    prefs = httpx.get(f"{base}/api/v1/me/preferences", headers=bearer(owner["token"])).json()
    assert prefs["timezone"] == "America/New_York"  # taken from the browser at sign-in

    # Times on the page are New York's, with the zone's name.
    first = page.locator(f'[data-event-id="{owner["ids"][2]}"] time')
    start = datetime.fromisoformat(DAY).replace(hour=19, minute=15, tzinfo=NEW_YORK)
    expect(first).to_have_text(_new_york(start))

    # A new event arrives while the timeline is open: a card, no reload.
    page.evaluate("window.__sameDocument = true")
    unread = int(page.locator("#unread-badge").get_attribute("data-unread") or 0)
    event_id, now = str(uuid.uuid4()), datetime.now(UTC).replace(microsecond=0)
    assert owner["camera"].event(event_id, now, "motion", 0.4) == 201
    card = page.locator(f'#event-list > li[data-event-id="{event_id}"]')
    expect(card.locator(".badge")).to_have_text("motion 40%")
    expect(card.locator(".state")).to_have_text("recording")
    expect(card.locator("time")).to_have_text(_new_york(now))
    toast = page.locator(f'.toast[data-event-id="{event_id}"] .toast-label')
    expect(toast).to_have_text("motion 40%")  # the toast says what the card says
    assert page.locator("#event-list > li").first.get_attribute("data-event-id") == event_id
    # Its notification-centre entry arrives too (the count), without a second toast.
    expect(page.locator("#unread-badge")).to_have_attribute("data-unread", str(unread + 1))
    expect(page.locator("#toasts .toast")).to_have_count(1)

    # The agent updates it (a person, the end time), then the snapshot and clip arrive.
    end = (now + timedelta(seconds=30)).isoformat()
    assert owner["camera"].event(event_id, now, "person", 0.97, end_time=end) == 200
    expect(card.locator(".badge")).to_have_text("person 97%")
    expect(toast).to_have_text("person 97%")
    expect(card.locator(".state")).to_have_text("clip uploading")
    owner["camera"].upload(event_id, "snapshot", owner["snapshot"])
    expect(card.locator("img")).to_have_attribute("src", f"/media/events/{event_id}/snapshot")
    assert page.evaluate("window.__sameDocument") is True  # all of it without a reload
    shot(page, "timeline-live-desktop")

    # The event's page waits for the clip and shows it once uploaded.
    page.goto(f"{base}/events/{event_id}")
    expect(page.locator("#clip-pending")).to_be_visible()
    owner["camera"].upload(event_id, "clip", owner["clip"])
    expect(page.locator("video#clip")).to_have_attribute("src", f"/media/events/{event_id}/clip")


@pytest.mark.browser
def test_history_bar_previous_next_and_zoom_in_chromium(
    browser: Any, server: ServerProcess, owner: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, ids = server.url, owner["ids"]
    for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = _sign_in(browser, base, owner["email"], viewport)
        page.goto(f"{base}/history?camera={owner['camera_id']}&day={DAY}")
        assert page.locator("#history-bar a.mark").count() == 3
        player, prev, nxt = (
            page.locator("#history-player"),
            page.locator("#prev-event"),
            page.locator("#next-event"),
        )
        expect(player).to_have_attribute("src", f"/media/events/{ids[2]}/clip")  # the latest
        expect(nxt).to_be_disabled()
        prev.click()
        expect(player).to_have_attribute("src", f"/media/events/{ids[1]}/clip")
        expect(page.locator("#history-when time")).to_have_text("2026-03-03 12:30:00 EST")
        prev.click()
        expect(player).to_have_attribute("src", f"/media/events/{ids[0]}/clip")
        expect(prev).to_be_disabled()
        nxt.click()
        expect(player).to_have_attribute("src", f"/media/events/{ids[1]}/clip")
        assert page.url.endswith(f"event={ids[1]}")  # the address follows, for reload/share

        # Zoom to an hour around the selected event; the axis is New York time.
        page.get_by_role("button", name="1 h").click()
        expect(page.locator("#history-bar")).to_have_attribute("viewBox", "43200 0 3600 40")
        expect(page.locator("#axis span").first).to_have_text("12:00")
        if size == "desktop":  # hovering (a mouse) shows the time and the snapshot
            box = page.locator("#history-bar").bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2 + 2, box["y"] + box["height"] / 2)
            expect(page.locator("#bar-hover span")).to_contain_text("12:30 · person 90%")
            expect(page.locator("#bar-hover img")).to_have_attribute(
                "src", f"/media/events/{ids[1]}/snapshot"
            )
        page.get_by_role("button", name="24 h").click()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], width
        shot(page, f"history-{size}")
        if size == "phone":
            page.goto(f"{base}/timeline")
            shot(page, "timeline-phone")
        page.context.close()
