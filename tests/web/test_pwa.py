"""The installable app in real Chromium against a real `doorstep serve`: the manifest and
service worker, the settings page's "Turn on notifications", and a push shown and tapped.

Two stand-ins, each because the real thing cannot be reached from here:

* ``pushManager.subscribe()`` asks the browser vendor's push service (FCM for Chromium)
  for an endpoint. The test replaces it (an init script) with one that returns a
  subscription for the local stand-in push service (tests/reach/push_service.py), with
  keys the test holds like a browser would; everything else on the page is real.
* The push service would then deliver to the browser; instead, the hub's own worker
  sends to the stand-in (which checks VAPID and decrypts), and the test hands what it
  decrypted to the service worker with the DevTools protocol
  (``ServiceWorker.deliverPushMessage``), as the vendor's service would.

A notification cannot be clicked through any automation interface (WPT issue 51125), so
the test dispatches ``notificationclick`` in the worker with the notification it shows;
the worker's own handler then takes the open Doorstep window to the event's page.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from doorstep.config import Settings
from doorstep.hub import push
from doorstep.hub.context import build_hub
from doorstep.hub.db import session_scope
from tests.reach.push_service import STAND_IN_HOSTS, Device, PushService
from tests.server_process import ServerProcess
from tests.web.test_browser import PASSWORD

pytestmark = pytest.mark.browser

STUB_SUBSCRIBE = """
(() => {
  const device = %s;
  PushManager.prototype.subscribe = function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.__subscribed = {
      userVisibleOnly: options.userVisibleOnly,
      key: btoa(String.fromCharCode.apply(null, key))
        .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, ""),
    };
    return Promise.resolve({
      endpoint: device.endpoint,
      toJSON: () => device,
      unsubscribe: () => Promise.resolve(true),
    });
  };
})();
"""


def wait_for(page: Any, check: Any, what: str, timeout: float = 10.0) -> Any:
    """Poll ``check``; waiting through the page lets Playwright deliver DevTools events."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)
    return result


def owner_with_event(base: str) -> tuple[str, str]:
    """Sign Ann up with a camera and one event with a snapshot; her token and the event."""
    account = {"email": "ann@example.org", "password": PASSWORD, "name": "Ann"}
    assert httpx.post(f"{base}/api/v1/auth/signup", json=account).status_code == 201
    reply = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": account["email"], "password": PASSWORD}
    )
    token = reply.json()["access_token"]
    camera = httpx.post(
        f"{base}/api/v1/cameras",
        json={"name": "Front door", "latitude": 51.45, "longitude": -2.6},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    key = {"Authorization": f"Bearer {camera['api_key']}"}
    event_id = str(uuid.uuid4())
    start = datetime.now(UTC) - timedelta(minutes=1)
    event = {
        "id": event_id,
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(seconds=20)).isoformat(),
        "label": "person",
        "score": 0.9,
    }
    assert httpx.post(f"{base}/api/v1/ingest/events", json=event, headers=key).status_code == 201
    jpeg = (Path(__file__).parents[2] / "doorstep/web/static/icons/icon-192.png").read_bytes()
    snapshot = httpx.put(
        f"{base}/api/v1/ingest/events/{event_id}/snapshot",
        content=jpeg,  # any bytes do for the hub; the page only links it
        headers={**key, "X-Content-SHA256": hashlib.sha256(jpeg).hexdigest()},
    )
    assert snapshot.status_code == 201, snapshot.text
    return token, event_id


def test_install_subscribe_receive_and_tap_a_push(chromium: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database = f"sqlite:///{data / 'hub.db'}"
    server = ServerProcess(
        data, database, DOORSTEP_MAP_TILE_URL="", DOORSTEP_PUSH_SERVICE_HOSTS=STAND_IN_HOSTS
    )
    server.start()
    try:
        with PushService() as service:
            settings = Settings(
                data_dir=data, database_url=database, push_service_hosts=STAND_IN_HOSTS
            )
            run(chromium, server, settings, service)
    finally:
        server.stop()


def run(chromium: Any, server: ServerProcess, settings: Settings, service: PushService) -> None:
    base = server.url
    token, event_id = owner_with_event(base)
    vapid = httpx.get(f"{base}/api/v1/push/vapid-public-key").json()["public_key"]
    device: Device = service.device(application_server_key=vapid)

    context = chromium.new_context()
    context.grant_permissions(["notifications"], origin=base)
    context.add_init_script(STUB_SUBSCRIBE % json.dumps(device.subscription()))
    page = context.new_page()
    csp_errors: list[str] = []
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("ann@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto(f"{base}/settings")

    # The manifest links and parses; its icons are there.
    manifest = page.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
    )
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    purposes = {icon.get("purpose", "any") for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    assert purposes == {"any", "maskable"}
    for icon in manifest["icons"]:
        got = httpx.get(base + icon["src"])
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"

    # The service worker registers for the whole site and activates.
    state = page.evaluate("navigator.serviceWorker.ready.then(r => [r.scope, r.active.state])")
    assert state == [f"{base}/", "activated"]

    # "Turn on notifications on this device": subscribes with the hub's key, posts it.
    page.get_by_role("button", name="Turn on notifications on this device").click()
    page.get_by_text("Notifications are on for this device.").wait_for()
    assert page.evaluate("window.__subscribed") == {"userVisibleOnly": True, "key": vapid}
    auth = {"Authorization": f"Bearer {token}"}
    stored = httpx.get(f"{base}/api/v1/push/subscriptions", headers=auth).json()
    assert [s["endpoint"] for s in stored] == [device.endpoint]
    assert "Chrome" in stored[0]["user_agent"]

    # The hub's worker sends a push; the stand-in checks and decrypts it.
    ann_id = httpx.get(f"{base}/api/v1/auth/me", headers=auth).json()["id"]
    hub = build_hub(settings, migrate=False)
    message = {
        "type": "event",
        "title": "Person at Front door",
        "body": "Just now",
        "url": f"/events/{event_id}",
        "image": f"/media/events/{event_id}/snapshot",
        "id": event_id,
        "tag": "camera:front",
    }
    with session_scope(hub.sessions) as session:
        assert push.enqueue_push(session, ann_id, message, key=f"event:{event_id}") == 1
    hub.engine.dispose()
    received = wait_for(page, lambda: service.messages(device), "the push at the stand-in service")
    assert received == [message] and service.refused == []

    # What the push service received is delivered to the service worker, which shows it.
    cdp = context.new_cdp_session(page)
    registrations: dict[str, str] = {}
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.update(
            {r["scopeURL"]: r["registrationId"] for r in e["registrations"]}
        ),
    )
    cdp.send("ServiceWorker.enable")
    registration = wait_for(page, lambda: registrations.get(f"{base}/"), "the registration id")
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": f"{base}/", "registrationId": registration, "data": json.dumps(received[0])},
    )
    shown_js = (
        "navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(ns => ns.map(n => ({title: n.title, body: n.body, image: n.image, tag: n.tag,"
        " url: n.data.url})))"
    )
    shown = wait_for(page, lambda: page.evaluate(shown_js), "the notification")
    assert shown == [
        {
            "title": "Person at Front door",
            "body": "Just now",
            "image": f"{base}/media/events/{event_id}/snapshot",
            "tag": "camera:front",
            "url": f"{base}/events/{event_id}",
        }
    ]

    # Tapping it takes the open Doorstep window to the event's page.
    worker = context.service_workers[0]
    worker.evaluate(
        "self.registration.getNotifications().then(ns => self.dispatchEvent("
        "new NotificationEvent('notificationclick', {notification: ns[0]})))"
    )
    wait_for(page, lambda: page.url == f"{base}/events/{event_id}", "the event page")
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Person at Front door").is_visible()
    assert page.evaluate(shown_js) == []  # the tapped notification is closed
    assert csp_errors == []
    context.close()
