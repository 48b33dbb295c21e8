"""Officer, auditor and admin pages (issue 14, items 8-10): the request form's errors all
at once, the map without internet tiles, a deployment's own tile server, place search,
and the auditor's and admin's pages with their roles held.

In-process tests (both databases) check what the server says and refuses; one real
`doorstep serve` and one Chromium check what a person sees, at desktop and phone sizes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from doorstep.config import Settings
from doorstep.demo.seed import DEMO_PASSWORD, DemoSeed
from doorstep.hub.security_headers import site_policy
from tests.hub_fixtures import page_sign_in
from tests.server_process import ServerProcess
from tests.web.test_browser import (
    add_user,
    csp_violations,
    fill_sign_in,
    shot,
    wait_until,
    watch_csp,
)
from tests.web.test_police_pages import circle, demo, request_form  # noqa: F401 (fixture)

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
BRIDGE = (51.4545, -2.6278)  # where the geocoder stand-in puts every search


# In-process: the server's side of items 8-10, on SQLite and PostgreSQL.


def test_the_request_form_reports_every_error_at_once(
    demo: tuple[TestClient, DemoSeed],  # noqa: F811
) -> None:
    """Before: the missing area was the only error, then one error per round trip."""
    client, _ = demo
    page_sign_in(client, "officer@example.org", DEMO_PASSWORD)
    form = request_form(client, "")
    form.update(case_number="", reason="short", contact="")
    reply = client.post("/officer/new", data=form)
    assert reply.status_code == 422
    for field in ("area", "case_number", "reason", "contact"):
        assert f'id="e-{field}"' in reply.text, field
    assert "Draw the area on the map" in reply.text
    assert reply.text.count('<li><a href="#f-') == 4  # the summary lists all four

    # Limits the service checks one by one are found together too: area and window.
    form = request_form(client, circle(2000))
    form["end_time"] = form["start_time"]
    reply = client.post("/officer/new", data=form)
    assert reply.status_code == 422
    assert 'id="e-area"' in reply.text and "draw a smaller area" in reply.text
    assert 'id="e-end_time"' in reply.text and "swap start and end" in reply.text

    # No geocoder configured: no place search box.
    page = client.get("/officer/new")
    assert 'id="place-search"' not in page.text and 'data-geocoder=""' in page.text


def test_auditor_and_admin_pages_and_who_may_see_them(
    demo: tuple[TestClient, DemoSeed],  # noqa: F811
) -> None:
    client, _ = demo
    page_sign_in(client, "officer@example.org", DEMO_PASSWORD)
    made = client.post("/officer/new", data=request_form(client, circle(250)))
    assert made.status_code == 200 and "/officer/requests/" in str(made.url)
    request_id = str(made.url).rsplit("/", 1)[1]
    owner = client.post(
        "/api/v1/auth/token", data={"username": "ann@example.org", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    shared = client.post(
        f"/api/v1/inbox/{request_id}/decision",
        json={"action": "share_all", "share_location": True},
        headers={"Authorization": f"Bearer {owner}"},
    )
    assert shared.status_code == 200, shared.text

    # The officer's map shows the camera whose owner shared its place with the agency.
    markers = client.get("/officer/new?format=json").json()["markers"]
    assert [m["name"] for m in markers] == ["Ann's front door"]

    admin_pages = ("/admin", "/admin/users", "/admin/agencies", "/admin/witnesses")
    for email in ("officer@example.org", "supervisor@example.org", "ann@example.org"):
        page_sign_in(client, email, DEMO_PASSWORD)
        for path in (*admin_pages, "/auditor/requests"):
            assert client.get(path).status_code == 403, (email, path)
            assert client.get(path + "?format=json").status_code == 403, (email, path)

    page_sign_in(client, "auditor@example.org", DEMO_PASSWORD)
    for path in admin_pages:
        assert client.get(path).status_code == 403, path
    listed = client.get("/auditor/requests?format=json").json()["requests"]
    assert [r["id"] for r in listed] == [request_id]
    assert listed[0]["clips_shared"] >= 1 and "clips" not in listed[0] and "area" not in listed[0]
    assert listed[0]["audit_subject"] == f"request:{request_id}"
    page = client.get("/auditor/requests")
    assert f"/audit?subject=request%3A{request_id}" in page.text
    assert f"/officer/requests/{request_id}/clips" not in page.text  # no footage

    # An admin lands on the admin home page and reads every list.
    page_sign_in(client, "admin@example.org", DEMO_PASSWORD)
    assert client.get("/", follow_redirects=False).headers["location"] == "/admin"
    overview = client.get("/admin?format=json").json()["overview"]
    assert overview["users_by_role"]["owner"] == 4 and overview["users_by_role"]["admin"] == 1
    assert overview["cameras"] == 4 and overview["agencies"] == 1
    users = client.get("/admin/users?format=json").json()["users"]
    assert {u["role"] for u in users} >= {"owner", "officer", "auditor", "admin"}
    assert all("password_hash" not in u for u in users)
    (agency,) = client.get("/admin/agencies?format=json").json()["agencies"]
    assert agency["members"] == 2 and agency["requests"] == 1
    assert client.get("/admin/witnesses").status_code == 200
    assert client.get("/auditor/requests").status_code == 200


def test_the_csp_allows_the_geocoder_only_when_set() -> None:
    assert "connect-src 'self';" in site_policy(Settings(geocoder_url=""))
    policy = site_policy(
        Settings(
            geocoder_url="https://nominatim.example.org/search",
            map_tile_url="https://tiles.example.org/{z}/{x}/{y}.png",
        )
    )
    assert "connect-src 'self' https://nominatim.example.org;" in policy
    assert "img-src 'self' data: https://tiles.example.org;" in policy


# Chromium against one real hub whose tiles and geocoder are a local stand-in.


class MapServices:
    """A deployment's own tile server and a Nominatim-compatible geocoder, on one local
    port. The tiles are real PNGs over HTTP, as a tile server sends them; the geocoder is
    a stand-in (no Nominatim can be reached offline) answering every search with one
    place in Nominatim's JSON shape. `down` makes the tile server fail, as an
    unreachable one does for the page."""

    def __init__(self) -> None:
        import cv2
        import numpy as np

        ok, png = cv2.imencode(".png", np.full((256, 256, 3), (214, 228, 240), np.uint8))
        assert ok
        self.png = png.tobytes()
        self.tiles: list[str] = []
        self.searches: list[dict[str, list[str]]] = []
        self.down = False
        services = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urlsplit(self.path)
                if url.path.startswith("/tiles/"):
                    services.tiles.append(url.path)
                    if services.down:
                        self._send(503, b"down", "text/plain")
                    else:
                        self._send(200, services.png, "image/png")
                elif url.path == "/search":
                    services.searches.append(parse_qs(url.query))
                    hit = {
                        "lat": str(BRIDGE[0]),
                        "lon": str(BRIDGE[1]),
                        "display_name": "Clifton Suspension Bridge, Bristol",
                        "boundingbox": ["51.4535", "51.4555", "-2.6300", "-2.6256"],
                    }
                    self._send(200, json.dumps([hit]).encode(), "application/json")
                else:
                    self._send(404, b"", "text/plain")

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")  # each page load asks again
                self.send_header("Access-Control-Allow-Origin", "*")  # as Nominatim does
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def map_services() -> Iterator[MapServices]:
    services = MapServices()
    yield services
    services.close()


@pytest.fixture(scope="module")
def map_hub(tmp_path_factory: pytest.TempPathFactory, map_services: MapServices) -> Iterator[str]:
    data = tmp_path_factory.mktemp("police-more") / "data"
    data.mkdir()
    server = ServerProcess(
        data,
        f"sqlite:///{data / 'hub.db'}",
        DOORSTEP_MAP_TILE_URL=f"{map_services.url}/tiles/{{z}}/{{x}}/{{y}}.png",
        DOORSTEP_GEOCODER_URL=f"{map_services.url}/search",
    )
    server.start()
    for email, role, agency in (
        ("officer@example.org", "officer", "Harbourside Police"),
        ("auditor@example.org", "auditor", None),
        ("admin@example.org", "admin", None),
    ):
        add_user(server, email, role, agency)
    yield server.url
    server.stop()


def signed_in(context: Any, base: str, email: str, landing: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/login")
    fill_sign_in(page, email)
    page.wait_for_url(f"**{landing}")
    return page


def as_phone(phone: Any, desktop: Any) -> Any:
    """The same session at phone size: cookies copied, not a second sign-in (the hub
    refuses a TOTP code it has just seen)."""
    phone.clear_cookies()
    phone.add_cookies(desktop.cookies())
    return phone.pages[0] if phone.pages else phone.new_page()


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width)


@pytest.mark.browser
def test_officer_map_form_auditor_and_admin_in_chromium(
    chromium: Any, map_hub: str, map_services: MapServices
) -> None:
    base = map_hub
    desktop = chromium.new_context(viewport=DESKTOP)
    phone = chromium.new_context(viewport=PHONE)
    console: list[str] = []
    officer = signed_in(desktop, base, "officer@example.org", "/officer/requests")
    watch_csp(officer, console)

    # The deployment's own tile server is asked for the map's tiles; no offline layer.
    officer.goto(f"{base}/officer/new")
    officer.locator("img.leaflet-tile-loaded").first.wait_for()
    assert any(path.startswith("/tiles/16/") for path in map_services.tiles)
    assert officer.locator("#draw-map").get_attribute("data-offline") is None

    # Radius (m) only in circle mode.
    radius = officer.locator("#radius-field")
    assert radius.is_hidden()
    shot(officer, "police-more-01-new-request-polygon-desktop")
    officer.get_by_label("Shape").select_option("circle")
    radius.wait_for(state="visible")
    shot(officer, "police-more-02-new-request-circle-desktop")
    officer.get_by_label("Shape").select_option("polygon")
    radius.wait_for(state="hidden")

    # Every problem at once, before an area is drawn and before anything is sent.
    posts: list[str] = []
    officer.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    officer.get_by_label("Case number").fill("")
    officer.get_by_label("Reason").fill("short")
    officer.get_by_role("button", name="Send request").click()
    summary = officer.locator("#form-errors")
    summary.wait_for(state="visible")
    listed = summary.locator("li").all_inner_texts()
    assert "Draw the area on the map." in listed and len(listed) == 4, listed
    for field in ("case_number", "reason", "contact", "area"):
        assert officer.locator(f"#e-{field}").is_visible(), field
    assert posts == [] and officer.url.endswith("/officer/new")
    shot(officer, "police-more-03-new-request-errors-desktop")

    # Place search: the geocoder is asked (q, format=json) and the map pans there.
    officer.get_by_label("Find a place").fill("Clifton Suspension Bridge")
    officer.get_by_label("Find a place").press("Enter")
    wait_until(
        officer,
        f"Math.abs(window.doorstepMap.map.getCenter().lat - {BRIDGE[0]}) < 0.002"
        f" && Math.abs(window.doorstepMap.map.getCenter().lng - {BRIDGE[1]}) < 0.002",
    )
    assert map_services.searches[-1]["q"] == ["Clifton Suspension Bridge"]
    assert map_services.searches[-1]["format"] == ["json"]
    assert "Clifton" in officer.locator("#place-search-status").inner_text()
    assert posts == []  # Enter in the search box does not send the form

    # The tile server goes down: the offline background orients instead.
    map_services.down = True
    officer.reload()
    officer.locator('#draw-map[data-offline="on"]').wait_for(state="attached")
    officer.locator('#draw-map[data-outlines="2"]').wait_for(state="attached")
    assert officer.locator(".leaflet-control-scale-line").count() == 2  # metric and imperial
    assert officer.locator("path.map-grid").count() >= 4
    assert "grid" in officer.locator("#draw-map-offline-note").inner_text()
    officer.evaluate("window.doorstepMap.map.setView([51.45, -2.597], 6, {animate: false})")
    wait_until(officer, "document.querySelector('#draw-map').getAttribute('data-grid-m') >= 50000")
    coast = officer.locator("path.map-coast")
    wait_until(
        officer, "(document.querySelector('path.map-coast').getAttribute('d') || '').length > 2000"
    )
    assert coast.count() == 1 and officer.locator("path.map-border").count() == 1
    shot(officer, "police-more-04-offline-map-desktop")
    map_services.down = False
    assert csp_violations(officer, console) == []

    # Phone size: the same form, both modes; nothing wider than the screen.
    mobile = as_phone(phone, desktop)
    mobile.goto(f"{base}/officer/new")
    mobile.locator(".leaflet-container").wait_for()
    assert mobile.locator("#radius-field").is_hidden()
    no_sideways_scroll(mobile)
    shot(mobile, "police-more-05-new-request-polygon-phone")
    mobile.get_by_label("Shape").select_option("circle")
    mobile.locator("#radius-field").wait_for(state="visible")
    shot(mobile, "police-more-06-new-request-circle-phone")
    assert mobile.goto(f"{base}/admin").status == 403
    assert officer.goto(f"{base}/auditor/requests").status == 403

    # The auditor's requests page, refused the admin's pages.
    auditor = signed_in(desktop, base, "auditor@example.org", "/audit")
    auditor.get_by_role("link", name="Requests").click()
    auditor.wait_for_url("**/auditor/requests")
    assert auditor.locator("h1").inner_text() == "All agencies' requests"
    shot(auditor, "police-more-07-auditor-requests-desktop")
    assert auditor.goto(f"{base}/admin/users").status == 403
    mobile = as_phone(phone, desktop)
    mobile.goto(f"{base}/auditor/requests")
    no_sideways_scroll(mobile)
    shot(mobile, "police-more-08-auditor-requests-phone")

    # The admin lands on the admin home page and reads each list.
    admin = signed_in(desktop, base, "admin@example.org", "/admin")
    assert admin.locator("#camera-count").inner_text() == "0"
    mobile = as_phone(phone, desktop)
    for name, path in (
        ("home", "/admin"),
        ("users", "/admin/users"),
        ("agencies", "/admin/agencies"),
        ("witnesses", "/admin/witnesses"),
    ):
        for size, tab in (("desktop", admin), ("phone", mobile)):
            reply = tab.goto(f"{base}{path}")
            assert reply is not None and reply.ok, (path, size)
            assert tab.locator("h1").count() == 1
            if size == "phone":
                no_sideways_scroll(tab)
            shot(tab, f"police-more-09-admin-{name}-{size}")
    assert admin.locator("#witnesses").count() == 1
    admin.goto(f"{base}/admin/users")
    assert admin.locator("#users tbody tr").count() == 3
    desktop.close()
    phone.close()
