"""Email (issue 13, item 3): police requests, reminders, emergency access and an officer's
first look at shared footage reach owners by email, through a real SMTP server.

The server is aiosmtpd in a thread (tests/reach/smtp_server.py); the hub's own job worker
sends to it over TCP. Each test gets a fresh hub on SQLite (the queue's behaviour on
PostgreSQL is tested with the queue; nothing here differs by database) with the embedded
worker off, so the test decides when jobs run (``drain``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.hub import mail
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import Event, Role, User
from doorstep.hub.models_reach import Job
from doorstep.hub.models_requests import Notification
from doorstep.hub.services import digest, reminders
from doorstep.hub.workers import build_worker
from tests.hub_fixtures import Api, bearer, page_csrf, page_sign_in
from tests.reach.smtp_server import (
    Handler,
    SmtpServer,
    free_port,
    smtp_server,
    starttls_server,
)
from tests.requests.conftest import Owner, World, add_user, hub_of

PUBLIC_URL = "https://doorstep.example.org"
JUSTIFICATION = "Child missing since 2 pm, last seen walking north on Elm Street."


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def outbox(smtp: SmtpServer) -> Handler:
    smtp.handler.clear()
    smtp.handler.refuse.clear()
    return smtp.handler


@pytest.fixture
def client(tmp_path: Path, smtp: SmtpServer) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'hub.db'}",
        smtp_url=smtp.url,
        mail_from="Doorstep <doorstep@example.org>",
        public_url=PUBLIC_URL,
        embedded_worker=False,  # the test runs the jobs (drain), so nothing races it
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def world(client: TestClient) -> World:
    api = Api(client)
    now = datetime.now(UTC).replace(microsecond=0)
    return World(
        api=api,
        start=now - timedelta(hours=3),
        end=now - timedelta(hours=1),
        officer=add_user(client, "smith@pd.example", Role.officer, "City PD"),
        supervisor=add_user(client, "chief@pd.example", Role.supervisor, "City PD"),
        auditor=add_user(client, "audit@gov.example", Role.auditor),
    )


def drain(world_or_hub: World | Hub) -> int:
    hub = world_or_hub if isinstance(world_or_hub, Hub) else hub_of(world_or_hub.client)
    return build_worker(hub).drain()


def jobs(hub: Hub, kind: str) -> list[Job]:
    with session_scope(hub.sessions) as session:
        rows = list(session.scalars(select(Job).where(Job.kind == kind)))
        session.expunge_all()
        return rows


def notes(world: World, owner: Owner) -> list[dict[str, Any]]:
    """The owner's notifications about police requests (their events make entries too)."""
    reply = world.client.get("/api/v1/notifications", headers=bearer(owner.token))
    assert reply.status_code == 200, reply.text
    return [n for n in reply.json()["items"] if n["kind"] != "event"]


def inbox_link(rid: str) -> str:
    return f"{PUBLIC_URL}/inbox#request-{rid}"


def two_owners(world: World) -> tuple[Owner, Owner]:
    return world.owner("ann", east_m=10), world.owner("bob", east_m=-50, events_in_window=2)


def test_a_request_emails_each_owner_once_with_their_link_and_nothing_of_the_other(
    world: World, outbox: Handler
) -> None:
    ann, bob = two_owners(world)
    reply = world.request()
    assert reply.status_code == 201, reply.text
    rid = reply.json()["id"]
    assert outbox.messages == []  # the officer's reply did not wait for the mail
    drain(world)

    for me, other in ((ann, bob), (bob, ann)):
        (email,) = outbox.to(me.email)
        assert email.rcpt_tos == [me.email]
        assert email.message["To"].addresses[0].addr_spec == me.email
        assert email.message["From"].addresses[0].addr_spec == "doorstep@example.org"
        assert "police request" in email.message["Subject"].lower()
        assert email.message["Message-ID"].startswith("<")
        text, html = email.part("plain"), email.part("html")
        assert inbox_link(rid) in text and f'href="{inbox_link(rid)}"' in html
        clips = len(me.events)
        assert f"matches {clips} clip" in text
        everything = email.everything
        for secret in (other.email, other.email.split("@")[0], other.cameras[0]["name"]):
            assert secret not in everything, secret
        assert other.user_id not in everything
    assert len(outbox.messages) == 2

    drain(world)  # nothing is sent twice
    assert len(outbox.messages) == 2


def test_an_owner_who_turned_email_off_gets_the_inbox_entry_but_no_email(
    world: World, outbox: Handler
) -> None:
    ann, bob = two_owners(world)
    off = world.client.patch(
        "/api/v1/me/preferences", json={"email_notifications": False}, headers=bearer(bob.token)
    )
    assert off.status_code == 200 and off.json()["email_notifications"] is False
    rid = world.request().json()["id"]
    drain(world)
    assert len(outbox.to(ann.email)) == 1
    assert outbox.to(bob.email) == []
    assert [n["kind"] for n in notes(world, bob)] == ["request"]
    (item,) = world.client.get("/api/v1/inbox", headers=bearer(bob.token)).json()
    assert item["request_id"] == rid


def test_the_reminder_reaches_an_owner_who_has_not_answered_and_not_one_who_has(
    world: World, outbox: Handler
) -> None:
    ann, bob = two_owners(world)
    cat = world.owner("cat", east_m=30)  # opts out of every request after this one came
    hub = hub_of(world.client)
    rid = world.request().json()["id"]
    world.client.patch(
        "/api/v1/me/preferences", json={"timezone": "America/New_York"}, headers=bearer(ann.token)
    )
    opted = world.client.patch(
        "/api/v1/users/me", json={"opt_out_requests": True}, headers=bearer(cat.token)
    )
    assert opted.status_code == 200, opted.text
    decided = world.client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "decline"}, headers=bearer(bob.token)
    )
    assert decided.status_code == 200, decided.text
    drain(world)
    outbox.clear()

    (queued,) = jobs(hub, reminders.JOB)  # one per request, however many owners
    assert queued.state == "queued" and queued.key == reminders.job_key(rid)
    with session_scope(hub.sessions) as session:
        deadline = session.scalar(
            select(Notification.payload).where(Notification.user_id == ann.user_id)
        )["deadline"]
    due_at = datetime.fromisoformat(deadline) - timedelta(days=1)
    assert abs(queued.run_at - due_at) < timedelta(seconds=1)
    assert drain(world) == 0  # not due for six days

    # A day before the deadline: make the delayed jobs due, as the clock would.
    with session_scope(hub.sessions) as session:
        session.execute(
            update(Job)
            .where(Job.kind == reminders.JOB)
            .values(run_at=utcnow() - timedelta(seconds=1))
        )
    drain(world)
    (email,) = outbox.to(ann.email)
    assert outbox.to(bob.email) == [] and outbox.to(cat.email) == []
    assert len(outbox.messages) == 1
    assert "reminder" in email.message["Subject"].lower()
    text = email.part("plain")
    assert inbox_link(rid) in text and "(America/New_York)" in text
    assert [n["kind"] for n in notes(world, ann)] == ["request_reminder", "request"]
    assert [n["kind"] for n in notes(world, bob)] == ["request"]
    assert {j.state for j in jobs(hub, reminders.JOB)} == {"done"}
    with session_scope(hub.sessions) as session:  # a job run twice reminds nobody twice
        assert reminders.remind(session, rid, utcnow()) == 0


def test_no_reminder_once_the_request_is_closed(world: World, outbox: Handler) -> None:
    ann = world.owner("ann", east_m=10)
    rid = world.request().json()["id"]
    closed = world.client.post(f"/api/v1/requests/{rid}/close", headers=bearer(world.officer))
    assert closed.status_code == 200, closed.text
    hub = hub_of(world.client)
    with session_scope(hub.sessions) as session:
        session.execute(update(Job).where(Job.kind == reminders.JOB).values(run_at=utcnow()))
    drain(world)
    assert [n["kind"] for n in notes(world, ann)] == ["request"]


def test_emergency_access_emails_each_affected_owner(world: World, outbox: Handler) -> None:
    ann, bob = two_owners(world)
    created = world.request(
        emergency=True, justification=JUSTIFICATION, incident_type="missing_person"
    )
    rid = created.json()["id"]
    drain(world)
    assert outbox.messages == []  # pending: no owner is told before a supervisor approves
    approved = world.client.post(
        f"/api/v1/requests/{rid}/approve", headers=bearer(world.supervisor)
    )
    assert approved.status_code == 200, approved.text
    drain(world)
    for me, other in ((ann, bob), (bob, ann)):
        (email,) = outbox.to(me.email)
        assert email.message["Subject"].startswith("Emergency")
        assert inbox_link(rid) in email.part("plain")
        assert other.email not in email.everything
    assert len(outbox.messages) == 2
    assert jobs(hub_of(world.client), reminders.JOB) == []  # an emergency has no deadline


def test_an_officers_first_access_to_a_shared_clip_emails_its_owner_once(
    world: World, outbox: Handler
) -> None:
    ann, bob = two_owners(world)
    rid = world.request().json()["id"]
    for owner in (ann, bob):
        shared = world.client.post(
            f"/api/v1/inbox/{rid}/decision",
            json={"action": "share_all"},
            headers=bearer(owner.token),
        )
        assert shared.status_code == 200, shared.text
    drain(world)
    outbox.clear()
    officer_notes = world.client.get("/api/v1/notifications", headers=bearer(world.officer))
    received = [n for n in officer_notes.json()["items"] if n["kind"] == "share_received"]
    assert len(received) == 2  # one per share, by push and inbox, never naming the owner
    for note in received:
        assert set(note["payload"]) == {"request_id", "clips"}

    clip_url = f"/api/v1/requests/{rid}/clips/{ann.events[0]['id']}"
    assert world.client.get(clip_url, headers=bearer(world.officer)).status_code == 200
    drain(world)
    (email,) = outbox.to(ann.email)
    assert "opened" in email.message["Subject"].lower()
    assert inbox_link(rid) in email.part("plain")
    assert outbox.to(bob.email) == []
    assert outbox.to("smith@pd.example") == []  # the officer is told in the app, not by email

    assert world.client.get(clip_url, headers=bearer(world.officer)).status_code == 200
    drain(world)
    assert len(outbox.messages) == 1  # the second access sends nothing
    assert [n["kind"] for n in notes(world, ann)].count("clip_accessed") == 1


def test_without_smtp_nothing_is_queued_and_nothing_fails(world: World, outbox: Handler) -> None:
    hub = hub_of(world.client)
    hub.settings.smtp_url = ""
    ann = world.owner("ann", east_m=10)
    world.request()
    drain(world)
    assert jobs(hub, mail.SEND_JOB) == []
    with session_scope(hub.sessions) as session:
        dead = session.scalars(select(Job).where(Job.state == "dead"))
        assert [(j.kind, j.last_error) for j in dead] == []
        user = session.get(User, ann.user_id)
        assert user is not None
        assert not mail.enqueue_email(session, hub.settings, user, "request", {}, key="x")
    assert [n["kind"] for n in notes(world, ann)] == ["request"]
    assert outbox.messages == []


def test_a_mail_server_down_is_retried_then_the_email_delivered(world: World) -> None:
    hub = hub_of(world.client)
    port = free_port()  # nothing listens here yet
    hub.settings.smtp_url = f"smtp://127.0.0.1:{port}"
    ann = world.owner("ann", east_m=10)
    world.request()
    drain(world)
    (job,) = jobs(hub, mail.SEND_JOB)
    assert job.state == "queued" and job.attempts == 1
    assert job.last_error and "Connection" in job.last_error
    assert job.run_at > utcnow()  # backoff: it waits before the next try

    with smtp_server(port) as server:
        with session_scope(hub.sessions) as session:
            session.execute(update(Job).where(Job.id == job.id).values(run_at=utcnow()))
        drain(world)
        (email,) = server.handler.to(ann.email)
    (job,) = jobs(hub, mail.SEND_JOB)
    assert job.state == "done" and job.attempts == 2
    assert email.message["Message-ID"] == mail.message_id(job.key or "", hub.settings.mail_from)


def _queue_one(hub: Hub, email: str, key: str) -> None:
    with session_scope(hub.sessions) as session:
        user = session.scalar(select(User).where(User.email == email))
        assert user is not None
        context = {"request_id": "r1", "incident_type": "theft", "clips": 1, "deadline": None}
        assert mail.enqueue_email(session, hub.settings, user, "request", context, key=key)


def test_a_permanent_refusal_gives_up_and_a_temporary_one_retries(
    world: World, outbox: Handler
) -> None:
    hub = hub_of(world.client)
    ann = world.owner("ann", east_m=10)
    outbox.refuse[ann.email] = "550 5.1.1 No such mailbox"
    _queue_one(hub, ann.email, "refused-550")
    drain(world)
    (job,) = jobs(hub, mail.SEND_JOB)
    assert job.state == "dead" and job.attempts == 1 and "550" in (job.last_error or "")

    outbox.refuse[ann.email] = "451 4.3.0 Try again later"
    _queue_one(hub, ann.email, "refused-451")
    drain(world)
    retried = [j for j in jobs(hub, mail.SEND_JOB) if j.key == "email:refused-451"]
    assert retried[0].state == "queued" and "451" in (retried[0].last_error or "")
    assert outbox.messages == []


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "smtps"])
def test_tls_and_login_when_the_server_asks_for_them(
    world: World, tmp_path: Path, implicit: bool
) -> None:
    hub = hub_of(world.client)
    ann = world.owner("ann", east_m=10)
    with starttls_server(tmp_path, implicit=implicit) as server:
        hub.settings.smtp_url = server.url  # smtp(s)://hub:p%40ss%3Aword@...?cafile=...
        _queue_one(hub, ann.email, "tls")
        drain(world)
        (email,) = server.handler.to(ann.email)
    assert email.part("plain") and server.handler.logins == ["hub"]
    (job,) = jobs(hub, mail.SEND_JOB)
    assert job.state == "done"


def test_smtp_urls_message_ids_and_recipients() -> None:
    plain = mail.parse_smtp_url("smtp://u%40x:p%3Aw@mail.example:587")
    assert (plain.host, plain.port, plain.implicit_tls) == ("mail.example", 587, False)
    assert (plain.username, plain.password) == ("u@x", "p:w")
    tls = mail.parse_smtp_url("smtps://mail.example")
    assert (tls.port, tls.implicit_tls, tls.username) == (465, True, None)
    with pytest.raises(ValueError, match="smtp://"):
        mail.parse_smtp_url("http://mail.example")
    one = mail.message_id("email:k", "Doorstep <hub@example.net>")
    assert one == mail.message_id("email:k", "Doorstep <hub@example.net>")
    assert one.endswith("@example.net>") and one != mail.message_id("email:k2", "hub@example.net")
    # A name never adds a header; an address that cannot be one sends nothing.
    sneaky = User(id="u", name="Ann\r\nBcc: all@example.org", email="ann@example.org")
    assert mail.recipient(sneaky) == '"Ann  Bcc: all@example.org" <ann@example.org>'
    assert mail.recipient(User(id="u", name="Ann", email="ann\n@example.org")) is None


def test_the_event_digest_goes_once_an_hour_to_owners_who_asked(
    world: World, outbox: Handler
) -> None:
    hub = hub_of(world.client)
    ann = world.owner("ann", east_m=10, events_in_window=0)
    bob = world.owner("bob", east_m=20, events_in_window=0)
    cy = world.owner("cy", east_m=30, events_in_window=0)  # asked, but her mode is Off
    dee = world.owner("dee", east_m=40, events_in_window=0)  # asked, but her rules say push
    since, until = digest.last_full_hour(utcnow())
    for owner in (ann, bob, cy, dee):
        for minute in (5, 10, 20):
            world.api.event(owner.cameras[0]["api_key"], start=since + timedelta(minutes=minute))
    world.api.event(ann.cameras[0]["api_key"], start=until + timedelta(seconds=1))
    for owner in (ann, cy, dee):
        on = world.client.patch(
            "/api/v1/me/preferences", json={"event_email_digest": True}, headers=bearer(owner.token)
        )
        assert on.status_code == 200, on.text
    off = world.client.put("/api/v1/mode", json={"mode": "off"}, headers=bearer(cy.token))
    assert off.status_code == 200, off.text
    rule = world.client.post(
        "/api/v1/notification-rules", json={"channels": ["push"]}, headers=bearer(dee.token)
    )
    assert rule.status_code == 201, rule.text
    for _ in range(2):  # the task runs in each worker and more than once an hour
        digest.digest_task(hub)
        drain(world)
    (email,) = outbox.messages
    assert email.rcpt_tos == [ann.email]
    assert "3 events" in email.message["Subject"]
    assert "ann's porch: 3 (3 person)" in email.part("plain")
    assert f"{PUBLIC_URL}/timeline" in email.part("html")
    with session_scope(hub.sessions) as session:
        assert session.scalar(select(Event).where(Event.start_time >= until)) is not None


def test_preferences_are_the_callers_own_and_checked(world: World) -> None:
    ann, bob = two_owners(world)
    url = "/api/v1/me/preferences"
    got = world.client.get(url, headers=bearer(ann.token))
    assert got.status_code == 200
    assert got.json() == {
        "email_notifications": True,
        "event_email_digest": False,
        "timezone": "UTC",
    }
    changed = world.client.patch(
        url,
        json={"timezone": "Europe/Paris", "event_email_digest": True},
        headers=bearer(ann.token),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "email_notifications": True,
        "event_email_digest": True,
        "timezone": "Europe/Paris",
    }
    assert world.client.get(url, headers=bearer(bob.token)).json()["timezone"] == "UTC"
    assert world.client.get(url, headers=bearer(world.officer)).status_code == 200
    assert world.client.get(url).status_code == 401

    for bad in (
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "../../etc/passwd"},
        {"email_notifications": "no"},
        {"user_id": bob.user_id},
    ):
        refused = world.client.patch(url, json=bad, headers=bearer(ann.token))
        assert refused.status_code == 422, (bad, refused.text)
        assert "detail" in refused.json() or "message" in refused.json()
    assert world.client.get(url, headers=bearer(ann.token)).json()["timezone"] == "Europe/Paris"


def test_the_settings_page_sets_the_same_preferences(world: World) -> None:
    ann = world.owner("ann", east_m=10)
    client = world.client
    page_sign_in(client, ann.email)
    page = client.get("/settings")
    assert page.status_code == 200 and 'action="/settings/email"' in page.text
    assert '<option value="Europe/Berlin">' in page.text
    form = {"csrf_token": page_csrf(client), "timezone": "Europe/Berlin"}
    saved = client.post("/settings/email", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    prefs = client.get("/api/v1/me/preferences", headers=bearer(ann.token)).json()
    assert prefs == {
        "email_notifications": False,  # an unticked box
        "event_email_digest": False,
        "timezone": "Europe/Berlin",
    }
    form = {
        "csrf_token": page_csrf(client),
        "timezone": "Nowhere/Land",
        "email_notifications": "on",
    }
    assert client.post("/settings/email", data=form).status_code == 422
    no_csrf = client.post("/settings/email", data={"timezone": "UTC"}, follow_redirects=False)
    assert no_csrf.status_code in (400, 403)
    assert client.get("/api/v1/me/preferences", headers=bearer(ann.token)).json()["timezone"] == (
        "Europe/Berlin"
    )


def test_a_worker_process_knows_the_reminder_and_digest_jobs() -> None:
    """``doorstep worker`` imports doorstep.hub.workers and nothing of the API: a reminder
    queued by the API must find its handler there (else it goes ``dead``). A fresh
    interpreter, since this test process imports the modules itself."""
    code = (
        "import doorstep.hub.workers\n"
        "from doorstep.hub.queue import HANDLERS, PERIODIC\n"
        "assert 'request.reminder' in HANDLERS, 'workers.py must import services.reminders'\n"
        "assert any(f.__name__ == 'digest_task' for _, f in PERIODIC), "
        "'workers.py must import services.digest'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
