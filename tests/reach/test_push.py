"""Web Push end to end against a stand-in push service (tests/reach/push_service.py says why
it is one): subscribe through the API, queue a message, drain the worker, and the service
verifies the VAPID token and decrypts the payload with the device's own keys."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.errors import InvalidInput
from doorstep.hub import push
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models_reach import Job
from doorstep.hub.services.push_subscriptions import check_endpoint
from doorstep.hub.workers import build_worker
from tests.hub_fixtures import Api, bearer, page_csrf, page_sign_in
from tests.reach.push_service import STAND_IN_HOSTS, Device, PushService, b64url

MESSAGE = {
    "type": "event",
    "title": "Person at Front door",
    "body": "12:04",
    "url": "/events/1",
    "image": "/events/1/snapshot",
    "id": "1",
    "tag": "camera-1",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One hub for the module, without its embedded worker: each test drains the queue
    itself, so it knows when a push has been sent."""
    root = tmp_path_factory.mktemp("push")
    settings = Settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'hub.db'}",
        embedded_worker=False,
        push_service_hosts=STAND_IN_HOSTS,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def service() -> Iterator[PushService]:
    with PushService() as running:
        yield running


@pytest.fixture(scope="module")
def api(client: TestClient) -> Api:
    return Api(client)


def hub_of(client: TestClient) -> Hub:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    return hub


class Person:
    """A signed-up user with a token and their id."""

    def __init__(self, api: Api, email: str) -> None:
        self.token = api.signup(email)
        me = api.client.get("/api/v1/auth/me", headers=bearer(self.token))
        self.id = str(me.json()["id"])


_count = 0


def person(api: Api) -> Person:
    global _count
    _count += 1
    return Person(api, f"push{_count}@example.org")


def subscribe(client: TestClient, who: Person, device: Device) -> Any:
    return client.post(
        "/api/v1/push/subscriptions",
        json=device.subscription(),
        headers={**bearer(who.token), "User-Agent": "TestBrowser/1"},
    )


def send(client: TestClient, who: Person, key: str, message: dict[str, Any] = MESSAGE) -> int:
    hub = hub_of(client)
    with session_scope(hub.sessions) as session:
        queued = push.enqueue_push(session, who.id, message, key=key)
    build_worker(hub).drain()
    return queued


def jobs_for(client: TestClient, key: str) -> list[Job]:
    with session_scope(hub_of(client).sessions) as session:
        rows = session.scalars(select(Job).where(Job.key.like(f"{key}:%"))).all()
        session.expunge_all()
        return list(rows)


def test_a_push_reaches_the_device_signed_and_encrypted(
    client: TestClient, api: Api, service: PushService
) -> None:
    ann = person(api)
    key = client.get("/api/v1/push/vapid-public-key").json()["public_key"]
    assert len(push.b64url_decode(key)) == 65 and "=" not in key
    phone, laptop = service.device(key), service.device(key)
    first = subscribe(client, ann, phone)
    assert first.status_code == 201, first.text
    assert subscribe(client, ann, phone).status_code == 200  # the browser re-posts: one row
    assert subscribe(client, ann, laptop).status_code == 201
    listed = client.get("/api/v1/push/subscriptions", headers=bearer(ann.token)).json()
    assert {d["endpoint"] for d in listed} == {phone.endpoint, laptop.endpoint}
    assert all("p256dh" not in str(d) and "auth" not in d for d in listed)
    assert listed[0]["user_agent"] == "TestBrowser/1"

    assert send(client, ann, "event-1") == 2
    assert send(client, ann, "event-1") == 2  # the same announcement again: not sent twice

    assert service.refused == []
    assert service.messages(phone) == [MESSAGE] and service.messages(laptop) == [MESSAGE]
    got = next(r for r in service.received if r.path == phone.path)
    assert got.headers["ttl"] == "300" and got.headers["urgency"] == "high"
    assert len(got.headers["topic"]) <= 32  # RFC 8030: at most 32 base64url characters
    assert got.claims["sub"] == "mailto:doorstep@localhost"  # from DOORSTEP_MAIL_FROM
    listed = client.get("/api/v1/push/subscriptions", headers=bearer(ann.token)).json()
    assert all(d["last_success_at"] for d in listed)

    police = {**MESSAGE, "type": "request", "tag": None}
    send(client, ann, "request-1", police)
    got = [r for r in service.received if r.message["type"] == "request"][0]
    assert got.headers["ttl"] == "86400" and got.headers["urgency"] == "normal"


@pytest.mark.parametrize("status", [410, 404])
def test_a_subscription_the_service_calls_gone_is_dropped(
    client: TestClient, api: Api, service: PushService, status: int
) -> None:
    bea = person(api)
    device = service.device()
    assert subscribe(client, bea, device).status_code == 201
    service.answer(device, status)
    send(client, bea, f"gone-{status}")
    assert client.get("/api/v1/push/subscriptions", headers=bearer(bea.token)).json() == []
    assert [j.state for j in jobs_for(client, f"gone-{status}")] == ["done"]
    assert send(client, bea, f"gone-again-{status}") == 0


@pytest.mark.parametrize("status", [500, 429])
def test_a_busy_push_service_is_tried_again_later_not_lost(
    client: TestClient, api: Api, service: PushService, status: int
) -> None:
    cai = person(api)
    device = service.device()
    subscribe(client, cai, device)
    service.answer(device, status)
    before = utcnow()
    send(client, cai, f"busy-{status}")
    (job,) = jobs_for(client, f"busy-{status}")
    assert job.state == "queued" and job.attempts == 1 and job.run_at > before
    assert str(status) in (job.last_error or "")
    build_worker(hub_of(client)).drain()  # not due yet: nothing is sent
    assert service.messages(device) == []

    service.answer(device, None)  # the service recovers; the backoff has passed
    with session_scope(hub_of(client).sessions) as session:
        session.execute(
            update(Job).where(Job.id == job.id).values(run_at=utcnow() - timedelta(seconds=1))
        )
    build_worker(hub_of(client)).drain()
    assert service.messages(device) == [MESSAGE]
    assert [j.state for j in jobs_for(client, f"busy-{status}")] == ["done"]


def test_a_refusal_that_will_not_pass_gives_up(
    client: TestClient, api: Api, service: PushService
) -> None:
    dan = person(api)
    device = service.device()
    subscribe(client, dan, device)
    service.answer(device, 400)
    send(client, dan, "refused")
    (job,) = jobs_for(client, "refused")
    assert job.state == "dead" and "400" in (job.last_error or "")
    assert len(client.get("/api/v1/push/subscriptions", headers=bearer(dan.token)).json()) == 1


def test_only_the_owner_of_a_subscription_can_remove_it(
    client: TestClient, api: Api, service: PushService
) -> None:
    eve, fay = person(api), person(api)
    device, other = service.device(), service.device()
    subscribe(client, eve, device)
    subscribe(client, eve, other)
    for attempt in (
        client.delete(
            "/api/v1/push/subscriptions",
            params={"endpoint": device.endpoint},
            headers=bearer(fay.token),
        ),
        client.request(
            "DELETE",
            "/api/v1/push/subscriptions",
            json={"endpoint": device.endpoint},
            headers=bearer(fay.token),
        ),
    ):
        assert attempt.status_code == 404 and attempt.json()["field"] == "endpoint"
    assert client.get("/api/v1/push/subscriptions", headers=bearer(fay.token)).json() == []
    assert len(client.get("/api/v1/push/subscriptions", headers=bearer(eve.token)).json()) == 2
    assert client.delete("/api/v1/push/subscriptions").status_code == 401
    gone = client.delete(
        "/api/v1/push/subscriptions",
        params={"endpoint": device.endpoint},
        headers=bearer(eve.token),
    )
    assert gone.status_code == 204
    by_body = client.request(
        "DELETE",
        "/api/v1/push/subscriptions",
        json={"endpoint": other.endpoint},
        headers=bearer(eve.token),
    )
    assert by_body.status_code == 204
    assert client.get("/api/v1/push/subscriptions", headers=bearer(eve.token)).json() == []
    neither = client.delete("/api/v1/push/subscriptions", headers=bearer(eve.token))
    assert neither.status_code == 422


def test_a_device_that_changes_hands_gets_none_of_the_last_users_queued_pushes(
    client: TestClient, api: Api, service: PushService
) -> None:
    gus, hal = person(api), person(api)
    device = service.device()
    subscribe(client, gus, device)
    hub = hub_of(client)
    with session_scope(hub.sessions) as session:
        assert push.enqueue_push(session, gus.id, MESSAGE, key="handover") == 1
    assert subscribe(client, hal, device).status_code == 200  # Hal signs in on that browser
    build_worker(hub).drain()
    assert service.messages(device) == []
    assert client.get("/api/v1/push/subscriptions", headers=bearer(gus.token)).json() == []


def test_the_pages_subscribe_with_the_session_and_its_csrf_token(
    client: TestClient, api: Api, service: PushService
) -> None:
    jon = person(api)
    device = service.device()
    with TestClient(client.app) as browser:
        page_sign_in(browser, f"push{_count}@example.org")
        forged = browser.post("/push/subscriptions", json=device.subscription())
        assert forged.status_code == 403
        csrf = {"X-CSRF-Token": page_csrf(browser), "Accept": "application/json"}
        made = browser.post("/push/subscriptions", json=device.subscription(), headers=csrf)
        assert made.status_code == 201, made.text
        listed = client.get("/api/v1/push/subscriptions", headers=bearer(jon.token)).json()
        assert [d["endpoint"] for d in listed] == [device.endpoint]
        removed = browser.request(
            "DELETE", "/push/subscriptions", json={"endpoint": device.endpoint}, headers=csrf
        )
        assert removed.status_code == 204
        again = browser.request(
            "DELETE", "/push/subscriptions", json={"endpoint": device.endpoint}, headers=csrf
        )
        assert again.status_code == 404


def _bad(sub: dict[str, Any], **change: Any) -> dict[str, Any]:
    keys = {**sub["keys"], **change.pop("keys", {})}
    return {**sub, **change, "keys": keys}


def test_a_subscription_the_hub_cannot_encrypt_to_is_refused(
    client: TestClient, api: Api, service: PushService
) -> None:
    ivy = person(api)
    good = service.device().subscription()
    short_point = b64url(b"\x04" + os.urandom(32))
    compressed = b64url(b"\x02" + os.urandom(64))
    bad = [
        {},
        {"endpoint": good["endpoint"]},
        _bad(good, endpoint="ftp://push.example.org/x"),
        _bad(good, endpoint="not a url at all"),
        _bad(good, endpoint="https://user:pw@push.example.org/x"),
        _bad(good, keys={"p256dh": short_point}),
        _bad(good, keys={"p256dh": compressed}),
        _bad(good, keys={"p256dh": "!" * 87}),
        _bad(good, keys={"auth": b64url(os.urandom(15))}),
        _bad(good, keys={"auth": 12345}),
        _bad(good, endpoint="https://push.example.org/" + "x" * 2048),
    ]
    for body in bad:
        reply = client.post("/api/v1/push/subscriptions", json=body, headers=bearer(ivy.token))
        assert reply.status_code == 422, (body, reply.text)
        assert "detail" in reply.json()
    anonymous = client.post("/api/v1/push/subscriptions", json=good)
    assert anonymous.status_code == 401
    assert client.get("/api/v1/push/subscriptions", headers=bearer(ivy.token)).json() == []


def test_production_takes_only_https_endpoints_outside_private_networks(tmp_path: Path) -> None:
    production = Settings(environment="production", data_dir=tmp_path)
    check_endpoint(production, "https://fcm.googleapis.com/fcm/send/abc")
    for endpoint in (
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://127.0.0.1/x",
        "https://10.0.0.5/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest",
        "https://intranet.example.org/x",  # a named host that is no push service
        "https://fcm.googleapis.com.evil.example/x",
        "https://8.8.8.8/x",
    ):
        with pytest.raises(InvalidInput):
            check_endpoint(production, endpoint)
    check_endpoint(production, "https://wns2-par02p.notify.windows.com/w/?token=x")
    check_endpoint(production, "https://web.push.apple.com/QGx")
    anywhere = Settings(environment="production", data_dir=tmp_path, push_service_hosts="*")
    check_endpoint(anywhere, "https://push.example.org/x")
    with pytest.raises(InvalidInput):
        check_endpoint(anywhere, "https://10.0.0.5/x")  # still never a private address
    # The default applies in development too: anyone may sign up there.
    development = Settings(data_dir=tmp_path)
    for endpoint in (
        "http://127.0.0.1:8000/push/1",
        "https://192.168.1.1/x",
        "http://fcm.googleapis.com/x",
    ):
        with pytest.raises(InvalidInput):
            check_endpoint(development, endpoint)
    # A host named exactly (a test's stand-in, a deployment's own service) may be http.
    check_endpoint(
        Settings(data_dir=tmp_path, push_service_hosts=STAND_IN_HOSTS),
        "http://127.0.0.1:8000/push/1",
    )


def test_the_vapid_key_is_made_once_and_kept_across_restarts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'h.db'}")
    keys = []
    for _ in range(2):  # two starts of the hub on the same data dir
        with TestClient(create_app(settings)) as client:
            keys.append(client.get("/api/v1/push/vapid-public-key").json()["public_key"])
    assert keys[0] == keys[1]
    assert stat.S_IMODE(settings.vapid_key_path.stat().st_mode) == 0o600

    pem = settings.vapid_key_path.read_text()
    from_pem = push.load_or_create_vapid_key(
        Settings(data_dir=tmp_path / "other", vapid_private_key=pem)
    )
    from_path = push.load_or_create_vapid_key(
        Settings(data_dir=tmp_path / "other", vapid_private_key=str(settings.vapid_key_path))
    )
    raw = from_pem.private_key.private_numbers().private_value.to_bytes(32, "big")
    from_raw = push.load_or_create_vapid_key(
        Settings(data_dir=tmp_path / "other", vapid_private_key=b64url(raw))
    )
    assert from_pem.public_key == from_path.public_key == from_raw.public_key == keys[0]
    assert not (tmp_path / "other").exists()  # a configured key creates no file
    with pytest.raises(InvalidInput):
        push.load_or_create_vapid_key(Settings(data_dir=tmp_path, vapid_private_key="nonsense"))


def test_the_vapid_header_is_reused_per_push_service_for_minutes(tmp_path: Path) -> None:
    key = push.load_or_create_vapid_key(Settings(data_dir=tmp_path))
    a = key.authorization("https://fcm.googleapis.com/fcm/send/1", now=1000.0)
    assert key.authorization("https://fcm.googleapis.com/fcm/send/2", now=1100.0) == a
    assert key.authorization("https://updates.push.services.mozilla.com/x", now=1100.0) != a
    assert key.authorization("https://fcm.googleapis.com/fcm/send/1", now=1000.0 + 601) != a


def test_the_vapid_contact_is_one_a_push_service_accepts(tmp_path: Path) -> None:
    """Apple's service refuses a localhost contact: the default follows the deployment."""
    assert Settings(data_dir=tmp_path, vapid_subject="mailto:ops@x.org").vapid_contact == (
        "mailto:ops@x.org"
    )
    public = Settings(data_dir=tmp_path, public_url="https://doorstep.example.org/")
    assert public.vapid_contact == "https://doorstep.example.org"
    mail = Settings(data_dir=tmp_path, mail_from="Doorstep <hub@doorstep.example.org>")
    assert mail.vapid_contact == "mailto:hub@doorstep.example.org"
