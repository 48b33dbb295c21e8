"""Delivery end to end (docs/reach.md): what a police request and a camera event become on
each channel, and the queue's promise across processes: a hub killed with deliveries
queued sends each exactly once after a restart, and two worker processes sharing
PostgreSQL send each exactly once.

Push goes to the stand-in push service of tests/reach/push_service.py (it says why it is
one), email to a real SMTP server (aiosmtpd, tests/reach/smtp_server.py).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.hub.context import Hub, build_hub
from doorstep.hub.db import session_scope
from doorstep.hub.models import Role
from doorstep.hub.models_reach import Job, PushSubscription
from doorstep.hub.models_requests import Notification
from doorstep.hub.services.accounts import create_user
from doorstep.hub.services.notifications import notify
from doorstep.hub.workers import build_worker
from tests.hub_fixtures import Api, bearer, pg_database, reset_pg_schema  # noqa: F401
from tests.reach.push_service import STAND_IN_HOSTS, Device, PushService
from tests.reach.smtp_server import Handler, SmtpServer, free_port, smtp_server
from tests.requests.conftest import World, add_user, hub_of
from tests.server_process import ServerProcess

PUBLIC_URL = "https://doorstep.example.org"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def pushes() -> Iterator[PushService]:
    with PushService() as service:
        yield service


def make_world(settings: Settings) -> Iterator[World]:
    with TestClient(create_app(settings)) as client:
        now = datetime.now(UTC).replace(microsecond=0)
        officer = add_user(client, "smith@pd.example", Role.officer, "City PD")
        yield World(
            api=Api(client),
            start=now - timedelta(hours=3),
            end=now - timedelta(hours=1),
            officer=officer,
            supervisor=officer,
            auditor=officer,
        )


@pytest.fixture
def world(tmp_path: Path, smtp: SmtpServer) -> Iterator[World]:
    smtp.handler.clear()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'hub.db'}",
        smtp_url=smtp.url,
        public_url=PUBLIC_URL,
        push_service_hosts=STAND_IN_HOSTS,
        embedded_worker=False,  # the test decides when jobs run
    )
    yield from make_world(settings)


def subscribe(world: World, token: str, device: Device) -> None:
    reply = world.client.post(
        "/api/v1/push/subscriptions", json=device.subscription(), headers=bearer(token)
    )
    assert reply.status_code in (200, 201), reply.text


def drain(world: World) -> int:
    return build_worker(hub_of(world.client)).drain()


def test_a_police_request_reaches_each_owner_by_push_and_email_once(
    world: World, smtp: SmtpServer, pushes: PushService
) -> None:
    ann = world.owner("ann", east_m=10)
    bob = world.owner("bob", east_m=-40, events_in_window=2)
    phones = {ann.email: pushes.device(), bob.email: pushes.device()}
    subscribe(world, ann.token, phones[ann.email])
    subscribe(world, bob.token, phones[bob.email])
    drain(world)  # the events' own deliveries
    before = {e: len(pushes.messages(d)) for e, d in phones.items()}

    reply = world.request()
    assert reply.status_code == 201, reply.text
    rid = reply.json()["id"]
    assert len(smtp.handler.messages) == 0  # the officer's reply did not wait for delivery
    drain(world)
    drain(world)  # a second pass sends nothing again

    for me, other in ((ann, bob), (bob, ann)):
        new = pushes.messages(phones[me.email])[before[me.email] :]
        assert len(new) == 1, new
        (message,) = new
        assert message["type"] == "request"
        assert message["url"] == f"/inbox#request-{rid}"  # on the hub the worker is from
        assert message["title"] and message["body"] and message["id"]
        assert f"{len(me.events)} of your clips" in message["body"]
        for secret in (other.email, other.user_id, other.cameras[0]["name"]):
            assert secret not in str(message)
        (email,) = smtp.handler.to(me.email)
        assert f"{PUBLIC_URL}/inbox#request-{rid}" in email.part("plain")


def test_an_event_reaches_the_owner_with_its_snapshot_and_one_entry(
    world: World, pushes: PushService
) -> None:
    ann = world.owner("ann", east_m=10, events_in_window=0)
    phone = pushes.device()
    subscribe(world, ann.token, phone)
    camera = ann.cameras[0]
    event = world.api.event(camera["api_key"])
    hub = hub_of(world.client)
    build_worker(hub).drain()
    # The delivery job runs again (a retry, or a lease that ran out): nothing doubles.
    with session_scope(hub.sessions) as session:
        job = session.scalars(select(Job).where(Job.kind == "deliver.event")).one()
        job.state = "queued"
    build_worker(hub).drain()

    (message,) = pushes.messages(phone)
    assert message["type"] == "event"
    assert message["title"] == f"Someone at {camera['name']}"
    assert message["url"] == f"/events/{event['id']}"
    assert message["image"] == f"/media/events/{event['id']}/snapshot"
    assert message["tag"] == f"camera-{camera['id']}"  # a burst collapses on the phone
    with session_scope(hub.sessions) as session:
        kinds = list(
            session.scalars(select(Notification.kind).where(Notification.user_id == ann.user_id))
        )
    assert kinds == ["event"]


# -- across processes ---------------------------------------------------------------


def wait_for(what: Callable[[], bool], seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.1)


def email_jobs(hub: Hub, *states: str) -> int:
    with session_scope(hub.sessions) as session:
        query = select(func.count()).where(Job.kind == "email.send")
        if states:
            query = query.where(Job.state.in_(states))
        return int(session.scalar(query) or 0)


def request_to_owners(settings: Settings, owners: int) -> list[str]:
    """Owners with a camera in the area, and a police request to them, queued, not sent."""
    world_iter = make_world(settings)
    world = next(world_iter)
    emails = [world.owner(f"o{i}", east_m=5 * i, clip=False).email for i in range(owners)]
    assert world.request().status_code == 201
    world_iter.close()
    return emails


def assert_each_once(handler: Handler, emails: list[str]) -> None:
    got = Counter(rcpt for m in handler.messages for rcpt in m.rcpt_tos)
    assert got == Counter(emails), got


def test_a_killed_hub_sends_each_queued_email_exactly_once_after_restart(
    tmp_path: Path,
) -> None:
    port = free_port()  # the mail server is down at first: nothing listens here
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        smtp_url=f"smtp://127.0.0.1:{port}",
        embedded_worker=False,
        signup_limit_per_hour=1000,
    )
    emails = request_to_owners(settings, 6)
    hub = build_hub(settings)  # for reading the jobs table
    env = {"DOORSTEP_SMTP_URL": settings.smtp_url}
    server = ServerProcess(tmp_path / "data", url, **env)
    server.start()
    try:  # the embedded worker tries, fails (connection refused) and backs off
        wait_for(lambda: email_jobs(hub) == 6 and email_jobs(hub, "done") == 0, 90, "no tries")
        wait_for(lambda: email_jobs(hub, "queued") == 6, 90, "not backing off")
    finally:
        server.kill()  # SIGKILL: no shutdown, jobs as they stand
    with smtp_server(port=port) as mail:
        server.start()
        try:
            wait_for(lambda: len(mail.handler.messages) >= 6, 60, "not delivered after restart")
            time.sleep(2)  # time for a duplicate to show up, if there were one
        finally:
            server.stop()
        assert_each_once(mail.handler, emails)
    assert email_jobs(hub, "done") == 6
    hub.engine.dispose()


@pytest.mark.postgres
def test_two_worker_processes_on_postgresql_send_each_email_exactly_once(
    tmp_path: Path,
    smtp: SmtpServer,
    pg_database: str,  # noqa: F811
) -> None:
    reset_pg_schema(pg_database)
    with smtp_server(handler=SlowHandler()) as smtp:
        two_workers_share(tmp_path, pg_database, smtp)


class SlowHandler(Handler):
    """A mail server taking 50 ms a message, so that one worker cannot finish the queue
    before the other's first look (each looks every second)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


def two_workers_share(tmp_path: Path, database: str, smtp: SmtpServer) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        smtp_url=smtp.url,
        embedded_worker=False,
        signup_limit_per_hour=1000,
    )
    emails = request_to_owners(settings, 24)
    env = {
        **os.environ,
        "DOORSTEP_DATA_DIR": str(tmp_path / "data"),
        "DOORSTEP_DATABASE_URL": url,
        "DOORSTEP_SMTP_URL": smtp.url,
        "DOORSTEP_WORKER_CONCURRENCY": "1",  # small batches, so both get a share
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "doorstep", "worker", "--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    hub = build_hub(settings)
    try:
        wait_for(lambda: len(smtp.handler.messages) >= 24, 60, "not all delivered")
        time.sleep(2)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=15)
    assert_each_once(smtp.handler, emails)
    with session_scope(hub.sessions) as session:
        takers = set(session.scalars(select(Job.locked_by).where(Job.kind == "email.send")))
    assert len(takers) == 2, takers  # both processes sent some
    hub.engine.dispose()


def test_open_pages_toast_an_event_only_when_the_mode_notifies(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live message still goes (the timeline shows every event); it says whether to
    toast, so an Off camera or a Home-mode camera set to stay quiet makes no pop-up."""
    ann = world.owner("ann", east_m=10, events_in_window=0)
    seen: list[dict[str, Any]] = []
    hub = hub_of(world.client)
    monkeypatch.setattr(hub.live, "publish", lambda _user, message: seen.append(message) or 1)
    key = ann.cameras[0]["api_key"]
    world.api.event(key)
    assert [m["notify"] for m in seen if m["type"] == "event"] == [True]
    off = world.client.put("/api/v1/mode", json={"mode": "off"}, headers=bearer(ann.token))
    assert off.status_code == 200, off.text
    world.api.event(key)
    assert [m["notify"] for m in seen if m["type"] == "event"] == [True, False]


def test_a_worker_fans_out_batches_in_parallel_on_sqlite_without_losing_one(
    tmp_path: Path,
) -> None:
    """Three batches of a 450-owner request, run by the worker's thread pool at once on
    SQLite: every owner's push is queued. (With a savepoint per owner, SQLite's driver
    lost two batches to "database is locked" and hung the rest.)"""
    hub = build_hub(
        Settings(
            data_dir=tmp_path / "data",
            database_url=f"sqlite:///{tmp_path / 'hub.db'}",
            push_service_hosts=STAND_IN_HOSTS,
        )
    )
    with session_scope(hub.sessions) as session:
        users = [
            create_user(
                session, email=f"o{i}@x.org", password="pw-pw-pw-pw", name="o", role=Role.owner
            )
            for i in range(450)
        ]
        for n, user in enumerate(users):
            session.add(
                PushSubscription(
                    user_id=user.id, endpoint=f"http://127.0.0.1:9/push/{n}", p256dh="k", auth="a"
                )
            )
        ids = [user.id for user in users]
    with session_scope(hub.sessions) as session:
        for user_id in ids:
            notify(session, user_id, "request", {"request_id": "r", "clips": 1})
    worker = build_worker(hub)
    with ThreadPoolExecutor(8) as pool:
        assert worker.run_batch(pool) == 3
    with session_scope(hub.sessions) as session:
        states = dict(
            session.execute(
                select(Job.kind + ":" + Job.state, func.count()).group_by(Job.kind, Job.state)
            ).all()
        )
    assert states == {"deliver.notifications:done": 3, "push.send:queued": 450}
    hub.engine.dispose()
