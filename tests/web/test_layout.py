"""Every page, opened by the role that uses it, fits a phone and a desktop (issue 14, items
11 and 13 and the cross-page acceptance), with a screenshot of each at both sizes.

One real `doorstep serve` on the demo neighbourhood (accounts for every role, cameras,
yesterday's events) plus a police request an owner shared from, and one Chromium with two
contexts per role: a phone (390x844) and a desktop (1366x900). To add a page, add a line
to PAGES; ``test_every_page_route_is_walked`` fails while a page route is missing there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from doorstep.config import Settings
from doorstep.demo import SAMPLE_VIDEO
from doorstep.demo.seed import CENTRE, DEMO_PASSWORD, seed
from doorstep.hub.context import build_hub
from doorstep.hub.db import utcnow
from tests.conftest import TEST_PASSWORD_HASH_COSTS
from tests.hub_fixtures import TOTP_SECRETS, remember_totp, totp_code
from tests.server_process import ServerProcess
from tests.web.test_browser import shot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
LOGINS = {
    "owner": "ann@example.org",
    "officer": "officer@example.org",
    "supervisor": "supervisor@example.org",
    "auditor": "auditor@example.org",
    "admin": "admin@example.org",
}


@dataclass(frozen=True)
class Page:
    name: str
    role: str  # "anonymous" or a key of LOGINS
    path: str  # {camera}, {event} and {request} are filled in from the seeded hub
    status: int = 200


PAGES = [
    Page("home", "anonymous", "/"),
    Page("login", "anonymous", "/login"),
    Page("signup", "anonymous", "/signup"),
    Page("transparency", "anonymous", "/transparency"),
    Page("owner-timeline", "owner", "/timeline"),
    Page("owner-history", "owner", "/history"),
    Page("owner-event", "owner", "/events/{event}"),
    Page("owner-cameras", "owner", "/cameras"),
    Page("owner-camera", "owner", "/cameras/{camera}"),
    Page("owner-inbox", "owner", "/inbox"),
    Page("owner-settings", "owner", "/settings"),
    Page("owner-modes", "owner", "/modes"),
    Page("owner-notifications", "owner", "/notifications"),
    Page("owner-sessions", "owner", "/account/sessions"),
    Page("owner-bad-query", "owner", "/timeline?page=abc", status=422),
    Page("owner-not-found", "owner", "/events/00000000-0000-4000-8000-000000000000", 404),
    Page("officer-requests", "officer", "/officer/requests"),
    Page("officer-new", "officer", "/officer/new"),
    Page("officer-request", "officer", "/officer/requests/{request}"),
    Page("officer-disclosures", "officer", "/officer/disclosures"),
    Page("officer-mfa", "officer", "/account/mfa"),
    Page("supervisor-approvals", "supervisor", "/officer/approvals"),
    Page("auditor-audit", "auditor", "/audit"),
    Page("auditor-bad-query", "auditor", "/audit?after_seq=-5", status=422),
    Page("auditor-requests", "auditor", "/auditor/requests"),
    Page("admin-home", "admin", "/admin"),
    Page("admin-users", "admin", "/admin/users"),
    Page("admin-agencies", "admin", "/admin/agencies"),
    Page("admin-witnesses", "admin", "/admin/witnesses"),
]
# GET routes that are not pages a person reads: media, streams, downloads, app files.
NOT_PAGES = {
    "/media/events/{event_id}/clip",
    "/media/events/{event_id}/snapshot",
    "/live/stream",
    "/manifest.webmanifest",
    "/sw.js",
    "/favicon.ico",
    "/receipts/{seq}",
    "/officer/requests/{request_id}/clips/{event_id}",
    "/officer/requests/{request_id}/clips/{event_id}/snapshot",
}


def template(path: str) -> str:
    """A page's path as its route spells it: /cameras/{camera} -> /cameras/{}."""
    return re.sub(r"{[^}]*}", "{}", path.split("?", 1)[0])


def test_every_page_route_is_walked() -> None:
    from doorstep.app import create_app

    settings = Settings(data_dir=Path("data"), database_url="sqlite:///walk.db")
    app = create_app(settings)
    routes = {
        context.path
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and "GET" in (context.methods or ())
        and not (context.path or "/api/").startswith(("/api/", "/docs", "/redoc", "/openapi"))
    }
    walked = {template(p.path) for p in PAGES}
    missing = sorted(r for r in routes - NOT_PAGES if template(r) not in walked)
    assert missing == [], f"add these pages to PAGES in {__file__}: {missing}"


@dataclass
class Demo:
    server: ServerProcess
    ids: dict[str, str]
    sessions: dict[str, Any] = field(default_factory=dict)  # role -> Playwright storage state


def api_token(base: str, email: str) -> dict[str, str]:
    data = {"username": email, "password": DEMO_PASSWORD}
    if email in TOTP_SECRETS:
        data["totp_code"] = totp_code(TOTP_SECRETS[email])
    reply = httpx.post(f"{base}/api/v1/auth/token", data=data)
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo neighbourhood in a real server, with one request that Ann shared from."""
    data = tmp_path_factory.mktemp("layout") / "data"
    url = f"sqlite:///{data / 'hub.db'}"
    costs = {
        k.removeprefix("DOORSTEP_").lower(): int(v) for k, v in TEST_PASSWORD_HASH_COSTS.items()
    }
    hub = build_hub(Settings(data_dir=data, database_url=url, **costs))  # type: ignore[arg-type]
    with ThreadPoolExecutor(1) as pool:  # seed runs asyncio; Playwright's loop may be running
        seeded = pool.submit(seed, hub, SAMPLE_VIDEO).result()
    hub.engine.dispose()
    for email, secret in seeded.totp_secrets.items():
        remember_totp(email, secret)
    server = ServerProcess(data, url, DOORSTEP_MAP_TILE_URL="", **TEST_PASSWORD_HASH_COSTS)
    server.start()
    try:
        base = server.url
        owner = api_token(base, LOGINS["owner"])
        event = httpx.get(f"{base}/api/v1/events", headers=owner).json()["items"][0]
        start = utcnow() - timedelta(days=1)
        window = start.replace(hour=13, minute=45, second=0, microsecond=0)
        officer = api_token(base, LOGINS["officer"])
        created = httpx.post(
            f"{base}/api/v1/requests",
            json={
                "incident_type": "burglary",
                "case_number": "HP-2026-0042",
                "reason": "Break-in at number 12; looking for people passing by.",
                "contact": "olu.adeyemi@harbourside.example",
                "area": {"type": "Circle", "center": [CENTRE[1], CENTRE[0]], "radius_m": 250},
                "start_time": window.isoformat(),
                "end_time": (window + timedelta(hours=2)).isoformat(),
            },
            headers=officer,
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        shared = httpx.post(
            f"{base}/api/v1/inbox/{request_id}/decision",
            json={"action": "share_all"},
            headers=owner,
        )
        assert shared.status_code == 200, shared.text
        # The export's audit entry holds a 64-character hash: no place to break a line.
        export = httpx.post(f"{base}/api/v1/requests/{request_id}/evidence", headers=officer)
        assert export.status_code == 200, export.text
        ids = {"camera": event["camera_id"], "event": event["id"], "request": request_id}
        yield Demo(server, ids)
    finally:
        server.stop()


def context(browser: object, demo: Demo, role: str, viewport: dict[str, int]) -> object:
    """A browser context for ``role`` at ``viewport``; each role signs in through the login
    page once, and later contexts reuse that session (a TOTP code cannot be used twice)."""
    if role == "anonymous":
        return browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    if role not in demo.sessions:
        first = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
        page = first.new_page()
        page.goto(f"{demo.server.url}/login")
        email = LOGINS[role]
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        if email in TOTP_SECRETS:
            code = totp_code(TOTP_SECRETS[email])
            page.get_by_label("Code from your authenticator app").fill(code)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.close()
        demo.sessions[role] = first.storage_state()
        return first
    return browser.new_context(viewport=viewport, storage_state=demo.sessions[role])  # type: ignore[attr-defined]


WIDTH = "document.documentElement.scrollWidth"
# Content wider than the page's column (which the viewport may still hold on a desktop).
MAIN_OVERFLOW = "(m => m.scrollWidth - m.clientWidth)(document.querySelector('main'))"
# The widest element that sticks out past the viewport, to say what overflowed.
CULPRIT = """() => {
  const w = document.documentElement.clientWidth; let worst = null, right = w;
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > right + 0.5) { right = r.right; worst = el; }
  }
  if (!worst) { return ''; }
  return `${worst.tagName.toLowerCase()}#${worst.id}.${worst.className} ends at ${right}`;
}"""


def test_every_page_fits_a_phone_and_a_desktop(browser: object, demo: Demo) -> None:
    base = demo.server.url
    overflows: list[str] = []
    for role in dict.fromkeys(p.role for p in PAGES):
        phone = context(browser, demo, role, PHONE)
        desktop = context(browser, demo, role, DESKTOP)
        for size, opened in (("phone", phone), ("desktop", desktop)):
            tab = opened.new_page()  # type: ignore[attr-defined]
            for page in (p for p in PAGES if p.role == role):
                reply = tab.goto(base + page.path.format(**demo.ids))
                assert reply is not None and reply.status == page.status, (page, reply)
                assert tab.locator("h1").count() == 1, page
                width = tab.evaluate(WIDTH)
                if width > tab.viewport_size["width"]:
                    overflows.append(f"{page.name} ({size}): {width} px, {tab.evaluate(CULPRIT)}")
                if (extra := tab.evaluate(MAIN_OVERFLOW)) > 0:
                    overflows.append(f"{page.name} ({size}): {extra} px past the main column")
                shot(tab, f"layout-{page.name}-{size}")
        phone.close()  # type: ignore[attr-defined]
        desktop.close()  # type: ignore[attr-defined]
    assert overflows == [], "\n".join(overflows)


# The rendered size of each chart's text: its font size in SVG units times the SVG's scale.
CHART_TEXT_PX = """() => [...document.querySelectorAll('figure.chart svg text')].map(t => {
  const svg = t.ownerSVGElement;
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return parseFloat(getComputedStyle(t).fontSize) * scale;
})"""


def test_transparency_chart_text_is_readable_on_a_phone_and_a_desktop(
    browser: object, demo: Demo
) -> None:
    for viewport in (PHONE, DESKTOP):
        opened = context(browser, demo, "anonymous", viewport)
        tab = opened.new_page()  # type: ignore[attr-defined]
        tab.goto(f"{demo.server.url}/transparency")
        sizes = tab.evaluate(CHART_TEXT_PX)
        assert len(sizes) >= 6, sizes  # axis values, a month, an agency, per chart
        assert min(sizes) >= 12, (viewport, sizes)
        assert max(sizes) <= 20, (viewport, sizes)
        opened.close()  # type: ignore[attr-defined]


def test_audit_rows_are_labelled_cards_on_a_phone_with_the_whole_hash_at_hand(
    browser: object, demo: Demo
) -> None:
    opened = context(browser, demo, "auditor", PHONE)
    opened.grant_permissions(["clipboard-read", "clipboard-write"])  # type: ignore[attr-defined]
    tab = opened.new_page()  # type: ignore[attr-defined]
    tab.goto(f"{demo.server.url}/audit")
    assert tab.evaluate(WIDTH) <= PHONE["width"]
    row = tab.locator("#audit-rows tbody tr").first
    labels = row.locator("td").evaluate_all(
        "cells => cells.map(td => getComputedStyle(td, '::before').content)"
    )
    assert labels == ['"#"', '"Time"', '"Actor"', '"Action"', '"Subject"', '"Details"', '"Hash"']
    assert tab.locator("#audit-rows thead").is_hidden()
    # The hash shows its start; a tap shows all of it, inside the card, and copies it.
    full = row.locator("code.full")
    assert full.is_hidden()
    row.locator("details.hash summary").click()
    full.wait_for()
    whole = full.inner_text()
    assert len(whole) == 64
    box, card = full.bounding_box(), row.bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"] + 0.5
    row.get_by_role("button", name="Copy").click()
    row.get_by_role("button", name="Copied").wait_for()
    assert tab.evaluate("navigator.clipboard.readText()") == whole
    shot(tab, "layout-auditor-audit-hash-open-phone")
    opened.close()  # type: ignore[attr-defined]
