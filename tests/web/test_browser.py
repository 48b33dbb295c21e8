"""The whole story in real Chromium against a real `doorstep serve`, with a screenshot per page.

Debian's Chromium (/usr/bin/chromium, installed by scripts/install) is driven by
Playwright; no browser is downloaded. Map tiles are switched off (the machine is
offline), which is also how the map must work without a network.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.hub_fixtures import TOTP_SECRETS, remember_totp, totp_code
from tests.server_process import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
PASSWORD = "correct horse battery"
CENTRE = (51.45, -2.597)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


CAMERA_NAME = "Front door <img src=x onerror=\"document.title='XSS'\">"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServerProcess]:
    data = tmp_path / "data"
    server = ServerProcess(data, f"sqlite:///{data / 'hub.db'}", DOORSTEP_MAP_TILE_URL="")
    data.mkdir()
    server.start()
    yield server
    server.stop()


def add_user(server: ServerProcess, email: str, role: str, agency: str | None = None) -> None:
    args = [
        sys.executable,
        "-m",
        "doorstep",
        "user",
        "add",
        email,
        "--role",
        role,
        "--password-stdin",
    ]
    if agency:
        args += ["--agency", agency]
    if role != "owner":  # police, auditors and admins sign in with a TOTP code
        args.append("--new-totp-secret")
    done = subprocess.run(
        args, input=PASSWORD + "\n", env=server.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    if role != "owner":
        remember_totp(email, done.stdout.split("TOTP secret: ", 1)[1].split()[0])


def fill_sign_in(page: object, email: str) -> None:
    """The login form, with the authenticator code where the account has one."""
    page.get_by_label("Email").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    if email in TOTP_SECRETS:
        code = totp_code(TOTP_SECRETS[email])
        page.get_by_label("Code from your authenticator app").fill(code)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def wait_until(page: object, expression: str, timeout: float = 10_000) -> None:
    """Poll a page expression. Playwright's wait_for_function compiles its polling
    predicate with eval, which the hub's CSP (rightly) forbids; evaluate does not."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in(context: object, base: str, email: str) -> object:
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(f"{base}/login")
    fill_sign_in(page, email)
    page.wait_for_load_state()
    return page


def upload_event(base: str, key: str, clip: Path, snapshot: bytes, start: datetime) -> str:
    event_id = str(uuid.uuid4())
    auth = {"Authorization": f"Bearer {key}"}
    body = {
        "id": event_id,
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(seconds=79)).isoformat(),
        "label": "person",
        "score": 0.9,
    }
    assert httpx.post(f"{base}/api/v1/ingest/events", json=body, headers=auth).status_code == 201
    for kind, data in (("clip", clip.read_bytes()), ("snapshot", snapshot)):
        headers = {**auth, "X-Content-SHA256": hashlib.sha256(data).hexdigest()}
        reply = httpx.put(
            f"{base}/api/v1/ingest/events/{event_id}/{kind}",
            content=data,
            headers=headers,
            timeout=60,
        )
        assert reply.status_code == 201, reply.text
    return event_id


def first_frame_jpeg(video: Path) -> bytes:
    import av
    import cv2

    with av.open(str(video)) as container:
        frame = next(container.decode(video=0))
        ok, jpeg = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"))
    assert ok
    return jpeg.tobytes()


def test_the_whole_story_in_chromium(
    browser: object, hub: ServerProcess, media_dir: Path, tmp_path: Path
) -> None:
    base = hub.url
    clip = media_dir / "pets09-s2l1" / "vtest_h264.mp4"
    owner_ctx = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]

    # Owner: bad sign-up first (message beside the field), then a good one.
    page = owner_ctx.new_page()
    page.goto(f"{base}/signup")
    page.get_by_label("Your name").fill("Ann")
    page.get_by_label("Email").fill("ann@example.org")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    assert page.locator("#e-password").is_visible()
    shot(page, "01-signup-error")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/cameras")

    # Add a camera at the centre of the neighbourhood; its key is shown once.
    # An owner's name is shown to others (officers' map): markup in it must stay text.
    page.get_by_label("Name").fill(CAMERA_NAME)
    page.get_by_label("Latitude").fill(str(CENTRE[0]))
    page.get_by_label("Longitude").fill(str(CENTRE[1]))
    page.get_by_role("button", name="Add camera").click()
    command = page.locator("#agent-command").inner_text()
    key = command.split("--camera-key ")[1].strip()
    shot(page, "02-cameras")

    # An event arrives while the owner watches the timeline: a live toast appears.
    page.goto(f"{base}/timeline")
    page.wait_for_timeout(500)
    start = datetime.now(UTC) - timedelta(hours=2)
    event_id = upload_event(base, key, clip, first_frame_jpeg(clip), start)
    page.locator(".toast").first.wait_for(timeout=10_000)
    assert "Front door" in page.locator(".toast").first.inner_text()
    page.reload()
    shot(page, "03-timeline")

    # The clip plays and seeks (Range requests).
    page.goto(f"{base}/events/{event_id}")
    video = page.locator("video#clip")
    wait_until(page, "document.querySelector('video#clip').readyState >= 1", timeout=20_000)
    duration = video.evaluate("v => v.duration")
    assert duration > 60
    video.evaluate("v => { v.muted = true; v.currentTime = 40; }")
    wait_until(
        page, "Math.abs(document.querySelector('video#clip').currentTime - 40) < 1", timeout=20_000
    )
    shot(page, "04-event-player")

    # The zone editor draws a privacy mask on the latest snapshot and saves it for the agent.
    page.goto(f"{base}/cameras")
    page.get_by_role("link", name="Front door").click()
    page.get_by_label("Drawing").select_option("masks")
    page.locator("#zone-editor").scroll_into_view_if_needed()
    editor = page.locator("#zone-editor").bounding_box()
    for fx, fy in ((0.1, 0.1), (0.4, 0.1), (0.4, 0.4)):
        page.mouse.click(editor["x"] + editor["width"] * fx, editor["y"] + editor["height"] * fy)
    page.get_by_role("button", name="Finish polygon").click()
    page.get_by_role("button", name="Save zones").click()
    page.get_by_text("Saved.").wait_for()
    shot(page, "05-zone-editor")
    config = httpx.get(
        f"{base}/api/v1/ingest/config", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert len(config["masks"]) == 1 and len(config["masks"][0]) == 3

    # Officer draws an area on the map and submits.
    add_user(hub, "officer@example.org", "officer", "Harbourside Police")
    add_user(hub, "auditor@example.org", "auditor")
    officer_ctx = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    officer = sign_in(officer_ctx, base, "officer@example.org")
    officer.goto(f"{base}/officer/new")
    box = officer.locator("#draw-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-150, -120), (150, -120), (150, 120), (-150, 120)):
        officer.mouse.click(cx + dx, cy + dy)
        officer.wait_for_timeout(150)
    readout = officer.locator("#area-readout")
    assert "sq mi" in readout.inner_text() and "good" in (readout.get_attribute("class") or "")
    officer.get_by_label("Case number").fill("HP-2026-0042")
    officer.get_by_label("Reason").fill("Break-in at number 12; looking for people passing by.")
    officer.get_by_label("Contact for owners").fill("olu@harbourside.example")
    fmt = "%Y-%m-%dT%H:%M"
    officer.get_by_label("Window start (UTC)").fill((start - timedelta(minutes=30)).strftime(fmt))
    officer.get_by_label("Window end (UTC)").fill((start + timedelta(minutes=60)).strftime(fmt))
    shot(officer, "06-officer-draw")
    officer.get_by_role("button", name="Send request").click()
    officer.wait_for_url("**/officer/requests/*")
    assert officer.locator("#cameras-asked").inner_text() == "1"
    request_url = officer.url
    shot(officer, "07-officer-request")

    # The owner shares from the inbox.
    page.goto(f"{base}/inbox")
    assert page.locator(f"#clip-{event_id}").is_checked()
    page.get_by_label("Also share my cameras' exact location").check()
    shot(page, "08-owner-inbox")
    page.get_by_role("button", name="Share selected").click()
    page.wait_for_load_state()
    assert "shared" in page.locator("section.card").first.inner_text()

    # The officer sees the clip and downloads the evidence bundle.
    officer.goto(request_url)
    assert officer.locator("#clips-shared").inner_text() == "1"
    officer.locator(".leaflet-marker-icon").first.click()
    assert officer.locator(".leaflet-popup-content").inner_text() == CAMERA_NAME
    assert "XSS" not in officer.title()  # the name's onerror never ran
    # Nothing is fetched before play: press it (as the player's own button does).
    officer.locator("#shared-clips video").first.evaluate("v => { v.muted = true; v.play(); }")
    wait_until(
        officer, "document.querySelector('#shared-clips video').readyState >= 1", timeout=20_000
    )
    shot(officer, "09-officer-shared-clip")
    with officer.expect_download() as download_info:
        officer.get_by_role("button", name="Export signed evidence bundle").click()
    bundle = tmp_path / "bundle.zip"
    download_info.value.save_as(bundle)
    assert "manifest.json" in zipfile.ZipFile(bundle).namelist()
    pem = tmp_path / "hub.pub"
    pem.write_text(httpx.get(f"{base}/api/v1/keys/hub.pub").text)
    verified = subprocess.run(
        [sys.executable, "-m", "doorstep", "evidence", "verify", str(bundle), "--key", str(pem)],
        capture_output=True,
        text=True,
        timeout=60,
        env=hub.env,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The public report shows the request.
    public = browser.new_context().new_page()  # type: ignore[attr-defined]
    public.goto(f"{base}/transparency")
    assert "HP-2026-0042" in public.locator("#requests").inner_text()
    assert public.locator("figure svg").count() == 2
    shot(public, "10-transparency")

    # The auditor verifies the chain.
    auditor = sign_in(browser.new_context(), base, "auditor@example.org")  # type: ignore[attr-defined]
    auditor.goto(f"{base}/audit")
    auditor.get_by_role("button", name="Verify chain").click()
    assert "Chain intact" in auditor.locator("#verdict").inner_text()
    shot(auditor, "11-audit-verified")

    # The remaining pages, so every page has a picture a reviewer can look at.
    extra = {
        "12-home": (public, "/"),
        "13-login": (public, "/login"),
        "14-owner-settings": (page, "/settings"),
        "15-owner-camera": (page, "/cameras"),
        "16-officer-requests": (officer, "/officer/requests"),
        "17-officer-disclosures": (officer, "/officer/disclosures"),
    }
    for name, (tab, path) in extra.items():
        reply = tab.goto(f"{base}{path}")
        assert reply is not None and reply.ok, (path, reply.status if reply else None)
        assert tab.locator("h1").count() == 1
        shot(tab, name)
    assert len(os.listdir(ARTIFACTS)) >= 17


def api_login(base: str, email: str) -> dict[str, str]:
    data = {"username": email, "password": PASSWORD}
    if email in TOTP_SECRETS:
        data["totp_code"] = totp_code(TOTP_SECRETS[email])
    reply = httpx.post(f"{base}/api/v1/auth/token", data=data)
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def clip_fetches(base: str, auditor: dict[str, str]) -> list[str]:
    rows = httpx.get(f"{base}/api/v1/audit", params={"limit": 1000}, headers=auditor).json()
    return [r["action"] for r in rows if r["action"] in ("clip.view", "clip.download")]


def test_opening_a_request_page_is_not_access_and_pressing_play_is(
    browser: object, hub: ServerProcess, media_dir: Path
) -> None:
    """The page shows the snapshot as the poster and fetches no clip byte until play, so
    merely opening it neither logs a clip.view nor takes away the owner's right to revoke."""
    base = hub.url
    clip = media_dir / "pets09-s2l1" / "vtest_h264.mp4"
    owner_signup = {"email": "ann@example.org", "password": PASSWORD, "name": "Ann"}
    assert httpx.post(f"{base}/api/v1/auth/signup", json=owner_signup).status_code == 201
    owner = api_login(base, "ann@example.org")
    camera = httpx.post(
        f"{base}/api/v1/cameras",
        json={"name": "Front door", "latitude": CENTRE[0], "longitude": CENTRE[1]},
        headers=owner,
    ).json()
    start = datetime.now(UTC) - timedelta(hours=2)
    event_id = upload_event(base, camera["api_key"], clip, first_frame_jpeg(clip), start)
    add_user(hub, "officer@example.org", "officer", "Harbourside Police")
    add_user(hub, "auditor@example.org", "auditor")
    created = httpx.post(
        f"{base}/api/v1/requests",
        json={
            "incident_type": "burglary",
            "case_number": "HP-2026-0077",
            "reason": "Break-in at number 12; looking for people passing by.",
            "contact": "olu@harbourside.example",
            "area": {"type": "Circle", "center": [CENTRE[1], CENTRE[0]], "radius_m": 250},
            "start_time": (start - timedelta(minutes=30)).isoformat(),
            "end_time": (start + timedelta(minutes=60)).isoformat(),
        },
        headers=api_login(base, "officer@example.org"),
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    shared = httpx.post(
        f"{base}/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=owner
    )
    assert shared.status_code == 200, shared.text
    auditor = api_login(base, "auditor@example.org")

    officer_ctx = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    officer = sign_in(officer_ctx, base, "officer@example.org")
    fetched: list[str] = []
    officer.on("request", lambda r: fetched.append(r.url))
    officer.goto(f"{base}/officer/requests/{rid}")
    officer.wait_for_load_state("networkidle")
    officer.wait_for_timeout(1000)
    clip_path = f"/officer/requests/{rid}/clips/{event_id}"
    assert clip_fetches(base, auditor) == []
    assert not [u for u in fetched if u.split("?")[0] == f"{base}{clip_path}"], fetched
    assert f"{base}{clip_path}/snapshot" in fetched  # the poster
    (item,) = httpx.get(f"{base}/api/v1/inbox", headers=owner).json()
    assert item["clips"][0]["revocable"] is True and item["clips"][0]["viewed_at"] is None
    shot(officer, "18-officer-request-before-play")

    video = officer.locator("#shared-clips video").first
    video.scroll_into_view_if_needed()
    # What the player's play button does (headless Chromium's built-in controls do not
    # take synthetic clicks); muted, as autoplay rules ask of a scripted play.
    video.evaluate("v => { v.muted = true; return v.play(); }")
    wait_until(
        officer, "document.querySelector('#shared-clips video').readyState >= 1", timeout=20_000
    )
    for _ in range(50):
        if clip_fetches(base, auditor):
            break
        officer.wait_for_timeout(100)
    assert set(clip_fetches(base, auditor)) == {"clip.view"}
    (item,) = httpx.get(f"{base}/api/v1/inbox", headers=owner).json()
    assert item["clips"][0]["revocable"] is False and item["clips"][0]["viewed_at"]
    shot(officer, "19-officer-request-playing")


CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def watch_csp(page: object, console: list[str]) -> None:
    page.add_init_script(CSP_WATCH)  # type: ignore[attr-defined]
    page.on("console", lambda m: console.append(m.text))  # type: ignore[attr-defined]


def csp_violations(page: object, console: list[str]) -> list[str]:
    reported = page.evaluate("window.__csp")  # type: ignore[attr-defined]
    return reported + [m for m in console if "Content Security Policy" in m]


def test_map_and_zone_editor_work_under_the_csp(
    browser: object, tmp_path: Path, media_dir: Path
) -> None:
    """The pages run their scripts and Leaflet under the site's CSP, with tiles from the
    default tile server allowed (offline here, so they fail to load, but are not blocked)."""
    data = tmp_path / "data"
    data.mkdir()
    server = ServerProcess(data, f"sqlite:///{data / 'hub.db'}")
    server.start()
    try:
        base = server.url
        signup = {"email": "ann@example.org", "password": PASSWORD, "name": "Ann"}
        assert httpx.post(f"{base}/api/v1/auth/signup", json=signup).status_code == 201
        camera = httpx.post(
            f"{base}/api/v1/cameras",
            json={"name": "Front door", "latitude": CENTRE[0], "longitude": CENTRE[1]},
            headers=api_login(base, "ann@example.org"),
        ).json()
        clip = media_dir / "pets09-s2l1" / "vtest_h264.mp4"
        start = datetime.now(UTC) - timedelta(hours=2)
        upload_event(base, camera["api_key"], clip, first_frame_jpeg(clip), start)
        add_user(server, "officer@example.org", "officer", "Harbourside Police")

        console: list[str] = []
        owner = browser.new_context().new_page()  # type: ignore[attr-defined]
        watch_csp(owner, console)
        owner.goto(f"{base}/login")
        owner.get_by_label("Email").fill("ann@example.org")
        owner.get_by_label("Password").fill(PASSWORD)
        owner.get_by_role("button", name="Sign in").click()
        owner.wait_for_load_state()
        reply = owner.goto(f"{base}/cameras/{camera['id']}")
        assert (
            reply is not None
            and "frame-ancestors 'none'" in reply.headers["content-security-policy"]
        )
        wait_until(owner, "document.querySelector('#zone-editor img').complete")
        editor = owner.locator("#zone-editor").bounding_box()
        for fx, fy in ((0.1, 0.1), (0.5, 0.1), (0.5, 0.5)):
            owner.mouse.click(
                editor["x"] + editor["width"] * fx, editor["y"] + editor["height"] * fy
            )
        owner.get_by_role("button", name="Finish polygon").click()
        owner.get_by_role("button", name="Save zones").click()
        owner.get_by_text("Saved.").wait_for()
        assert csp_violations(owner, console) == []

        console = []
        officer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()  # type: ignore[attr-defined]
        watch_csp(officer, console)
        officer.goto(f"{base}/login")
        fill_sign_in(officer, "officer@example.org")
        officer.wait_for_load_state()
        officer.goto(f"{base}/officer/new")
        officer.locator(".leaflet-container").wait_for()
        box = officer.locator("#draw-map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for dx, dy in ((-150, -120), (150, -120), (150, 120), (-150, 120)):
            officer.mouse.click(cx + dx, cy + dy)
            officer.wait_for_timeout(100)
        assert "sq mi" in officer.locator("#area-readout").inner_text()
        tiles = officer.locator("img.leaflet-tile").count()
        assert tiles > 0  # requested from the tile server, not blocked by the policy
        officer.wait_for_timeout(300)
        assert csp_violations(officer, console) == []
    finally:
        server.stop()
