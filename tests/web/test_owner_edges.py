"""Issue 14 items 4-6 in real Chromium against one real `doorstep serve`: deleting an event
(and the reason a held one cannot go), the cameras page's map picker, a failed camera save
that keeps what was typed, and the inbox's map pins and thumbnails; desktop and phone sizes.

One server and one browser for the module; Ann's footage and two police requests are
made through the HTTP API first. Map tiles are off (the machine is offline).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.hub_fixtures import Api, bearer
from tests.server_process import ServerProcess
from tests.web.test_browser import (
    CENTRE,
    CHROMIUM,
    CHROMIUM_ARGS,
    add_user,
    first_frame_jpeg,
    shot,
    sign_in,
    upload_event,
    wait_until,
)

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


@dataclass
class Hood:
    """The module's hub: Ann's camera and events, and which of them police hold."""

    base: str
    key: str
    camera_id: str
    free: str  # in no request: deletable
    shared: str  # shared with request CASE-A: held until the officer's access expires
    pending: str  # offered in request CASE-B, not answered: held until its deadline


def _square(lat: float, lon: float, half_deg: float = 0.003) -> dict[str, object]:
    ring = [
        [lon - half_deg, lat - half_deg],
        [lon + half_deg, lat - half_deg],
        [lon + half_deg, lat + half_deg],
        [lon - half_deg, lat + half_deg],
        [lon - half_deg, lat - half_deg],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(scope="module")
def hood(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Iterator[Hood]:
    data = tmp_path_factory.mktemp("edges") / "data"
    data.mkdir()
    server = ServerProcess(data, f"sqlite:///{data / 'hub.db'}", DOORSTEP_MAP_TILE_URL="")
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            api = Api(http)
            ann = api.signup("ann@example.org")
            camera = api.camera(ann, lat=CENTRE[0], lon=CENTRE[1], name="Front door")
            clip = media_dir / "pets09-s2l1" / "vtest_h264.mp4"
            jpeg = first_frame_jpeg(clip)
            now = datetime.now(UTC).replace(microsecond=0)
            ids = [
                upload_event(server.url, camera["api_key"], clip, jpeg, now - timedelta(minutes=m))
                for m in (300, 170, 80)  # free, then one in each request's window
            ]
            add_user(server, "officer@example.org", "officer", "Harbourside Police")
            officer = bearer(api.login("officer@example.org"))
            request_ids = []
            for case, start in (
                ("CASE-A", now - timedelta(hours=3)),
                ("CASE-B", now - timedelta(hours=1.5)),
            ):
                body = {
                    "incident_type": "burglary",
                    "case_number": case,
                    "reason": "Break-in at number 12 in the afternoon.",
                    "contact": "desk@harbourside.example",
                    "area": _square(*CENTRE),
                    "start_time": start.isoformat(),
                    "end_time": (start + timedelta(minutes=30)).isoformat(),
                }
                made = http.post("/api/v1/requests", json=body, headers=officer)
                assert made.status_code == 201, made.text
                request_ids.append(made.json()["id"])
            share = {"action": "share", "event_ids": [ids[1]]}
            shared = http.post(
                f"/api/v1/inbox/{request_ids[0]}/decision", json=share, headers=bearer(ann)
            )
            assert shared.status_code == 200, shared.text
        yield Hood(server.url, camera["api_key"], camera["id"], ids[0], ids[1], ids[2])
    finally:
        server.stop()


@pytest.fixture(scope="module")
def pages(hood: Hood) -> Iterator[dict[str, object]]:
    """Ann signed in twice in one Chromium: a desktop and a phone context."""
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("Chromium is missing; scripts/install installs it with apt-get")
        pytest.skip("Chromium not installed (scripts/install installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        opened = {}
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            opened[size] = sign_in(context, hood.base, "ann@example.org")
            opened[size].wait_for_url(lambda url: "/login" not in url)  # type: ignore[attr-defined]
        yield opened
        browser.close()


def test_delete_works_and_held_footage_says_why_and_until_when(
    hood: Hood, pages: dict[str, object]
) -> None:
    page = pages["desktop"]
    page.goto(f"{hood.base}/events/{hood.free}")  # type: ignore[attr-defined]
    shot(page, "14-event-desktop")
    page.get_by_text("Delete this event…").click()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Delete for good").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/timeline")  # type: ignore[attr-defined]
    gone = page.goto(f"{hood.base}/events/{hood.free}")  # type: ignore[attr-defined]
    assert gone is not None and gone.status == 404
    api = httpx.get(f"{hood.base}/api/v1/ingest/config", headers=bearer(hood.key))
    assert api.status_code == 200  # the camera itself stays

    for size, event_id, reason in (
        ("desktop", hood.shared, "You shared this clip with police request CASE-A"),
        ("phone", hood.pending, "offered in police request CASE-B, which you have not answered"),
    ):
        page = pages[size]
        page.goto(f"{hood.base}/events/{event_id}")  # type: ignore[attr-defined]
        held = page.locator("#hold-reason")  # type: ignore[attr-defined]
        assert reason in held.inner_text()
        assert held.locator("time").count() == 1  # until when, in the viewer's time
        assert page.get_by_role("button", name="Delete for good").count() == 0  # type: ignore[attr-defined]
        assert page.get_by_text("Delete this event…").count() == 0  # type: ignore[attr-defined]
        shot(page, f"14-event-held-{size}")
    page = pages["phone"]
    page.goto(f"{hood.base}/events/{hood.shared}")  # type: ignore[attr-defined]
    shot(page, "14-event-phone")


def test_the_map_picker_sets_the_coordinates_and_follows_typed_ones(
    hood: Hood, pages: dict[str, object]
) -> None:
    for size, page in pages.items():
        page.goto(f"{hood.base}/cameras")  # type: ignore[attr-defined]
        wait_until(page, "!!window.doorstepPicker")
        page.locator("#pick-map").scroll_into_view_if_needed()  # type: ignore[attr-defined]
        box = page.locator("#pick-map").bounding_box()  # type: ignore[attr-defined]
        x, y = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3
        expected = page.evaluate(  # type: ignore[attr-defined]
            f"(() => {{ const m = window.doorstepPicker.map;"
            f" const p = m.containerPointToLatLng([{box['width'] * 0.7}, {box['height'] * 0.3}]);"
            f" return [p.lat, p.lng]; }})()"
        )
        page.mouse.click(x, y)  # type: ignore[attr-defined]
        lat = float(page.locator("#f-latitude").input_value())  # type: ignore[attr-defined]
        lon = float(page.locator("#f-longitude").input_value())  # type: ignore[attr-defined]
        assert abs(lat - expected[0]) < 1e-4 and abs(lon - expected[1]) < 1e-4
        assert (lat, lon) != CENTRE
        # typing still works, and the pin follows
        page.locator("#f-latitude").fill("51.4512")  # type: ignore[attr-defined]
        page.locator("#f-longitude").fill("-2.5981")  # type: ignore[attr-defined]
        wait_until(page, "JSON.stringify(window.doorstepPicker.pin()) === '[51.4512,-2.5981]'")
        shot(page, f"14-cameras-{size}")

    page = pages["desktop"]
    box = page.locator("#pick-map").bounding_box()  # type: ignore[attr-defined]
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.85)  # type: ignore[attr-defined]
    wait_until(page, "document.querySelector('#f-latitude').value !== '51.4512'")
    page.locator("#f-name").fill("Back gate")  # type: ignore[attr-defined]
    picked = page.locator("#f-latitude").input_value(), page.locator("#f-longitude").input_value()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Add camera").click()  # type: ignore[attr-defined]
    page.locator("#agent-command").wait_for()  # type: ignore[attr-defined]
    key = page.locator("#agent-command").inner_text().split("--camera-key ")[1].strip()  # type: ignore[attr-defined]
    made = httpx.get(f"{hood.base}/api/v1/ingest/config", headers=bearer(key))
    assert made.status_code == 200
    listed = page.evaluate("fetch('/cameras?format=json').then(r => r.json())")  # type: ignore[attr-defined]
    gate = next(row["camera"] for row in listed["rows"] if row["camera"]["name"] == "Back gate")
    assert (gate["latitude"], gate["longitude"]) == (float(picked[0]), float(picked[1]))


def test_a_failed_camera_save_keeps_what_was_typed_and_shows_every_error(
    hood: Hood, pages: dict[str, object]
) -> None:
    hooks = "https://hooks.example.org/a\nnot a url"
    for size, page in pages.items():
        page.goto(f"{hood.base}/cameras/{hood.camera_id}")  # type: ignore[attr-defined]
        page.locator("#f-name").fill("")  # type: ignore[attr-defined]
        page.locator("#f-retention_days").fill("999")  # type: ignore[attr-defined]
        page.locator("#f-webhook_urls").fill(hooks)  # type: ignore[attr-defined]
        with page.expect_response(f"{hood.base}/cameras/{hood.camera_id}") as answer:  # type: ignore[attr-defined]
            page.get_by_role("button", name="Save settings").click()  # type: ignore[attr-defined]
        assert answer.value.status == 422
        assert page.locator("#e-name").inner_text() == "This field is required"  # type: ignore[attr-defined]
        assert page.locator("#e-retention_days").is_visible()  # type: ignore[attr-defined]
        assert page.locator("#f-retention_days").input_value() == "999"  # type: ignore[attr-defined]
        assert (
            page.locator("#e-webhook_urls").inner_text()  # type: ignore[attr-defined]
            == "Line 2: 'not a url' is not an http(s) URL; one URL per line"
        )
        assert page.locator("#f-webhook_urls").input_value() == hooks  # type: ignore[attr-defined]
        snapshot = page.locator("#zone-editor img")  # type: ignore[attr-defined]
        assert snapshot.count() == 1
        wait_until(page, "document.querySelector('#zone-editor img').naturalWidth > 0")
        shot(page, f"14-camera-save-errors-{size}")
    camera = httpx.get(f"{hood.base}/api/v1/ingest/config", headers=bearer(hood.key)).json()
    assert camera.get("webhook_urls", []) == []  # nothing was saved


def test_the_inbox_pins_the_owners_camera_and_shows_thumbnails(
    hood: Hood, pages: dict[str, object]
) -> None:
    for size, page in pages.items():
        page.goto(f"{hood.base}/inbox")  # type: ignore[attr-defined]
        maps = page.locator(".map.small")  # type: ignore[attr-defined]
        assert maps.count() == 2
        wait_until(
            page, "document.querySelectorAll('.map.small .leaflet-marker-icon').length === 2"
        )
        outlines = page.locator(".map.small path.leaflet-interactive")  # type: ignore[attr-defined]
        assert outlines.count() >= 2  # each request's area
        thumbs = page.locator("img.thumb")  # type: ignore[attr-defined]
        assert thumbs.count() == 2  # one matching clip in each request
        page.locator("img.thumb").last.scroll_into_view_if_needed()  # type: ignore[attr-defined]
        wait_until(
            page, "[...document.querySelectorAll('img.thumb')].every(i => i.naturalWidth > 0)"
        )
        shot(page, f"14-inbox-{size}")
    page = pages["desktop"]
    page.goto(f"{hood.base}/cameras/{hood.camera_id}")  # type: ignore[attr-defined]
    shot(page, "14-camera-desktop")
    pages["phone"].goto(f"{hood.base}/cameras/{hood.camera_id}")  # type: ignore[attr-defined]
    shot(pages["phone"], "14-camera-phone")
