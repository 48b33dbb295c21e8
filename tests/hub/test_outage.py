"""A database outage (issue 12, item 5): the real `doorstep serve` on PostgreSQL through a
TCP proxy that cuts the line for a few seconds and restores it.

One server and one outage; the module fixture records what every kind of request got
before, during and after the cut, and each test checks one behaviour: health names the
database as down, every path answers 503 with ``Retry-After`` (API, ingest, pages, the
live stream, clip downloads), requests caught mid-flight are answered rather than
dropped, nothing reaches the log as a traceback, and all recovers without a restart.
Storage health and the agent's reading of ``Retry-After`` are checked here too.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config
from fastapi.testclient import TestClient

from doorstep.agent.outbox import Outbox
from doorstep.agent.uploader import HubClient, Uploader
from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.errors import StorageError
from doorstep.hub.storage_local import LocalBlobStorage
from doorstep.hub.storage_s3 import S3BlobStorage
from tests.hub.conftest import Api, bearer, sha256_of
from tests.hub_fixtures import reset_pg_schema
from tests.server_process import ServerProcess, free_port
from tests.tcp_proxy import TcpProxy

CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
RETRY_AFTER = "5"  # what the hub tells a caller to wait while the database is down


@dataclass
class Outage:
    """What each request got while the database was cut, and after it came back."""

    during: dict[str, httpx.Response] = field(default_factory=dict)
    after: dict[str, httpx.Response] = field(default_factory=dict)
    in_flight: Counter[str] = field(default_factory=Counter)
    agent_delay: float = 0.0
    recovered_in: float = 0.0
    log: str = ""


def event_body() -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "start_time": "2026-11-29T10:00:00Z",
        "end_time": "2026-11-29T10:00:20Z",
        "label": "person",
        "score": 0.9,
        "box": [0.1, 0.2, 0.3, 0.4],
    }


def ask(call: Callable[[], httpx.Response]) -> httpx.Response:
    """The reply, or a 599 standing for a dropped connection (each test then says which)."""
    try:
        return call()
    except httpx.TransportError as exc:
        return httpx.Response(599, text=f"no reply: {exc!r}")


def live_stream(pages: httpx.Client) -> httpx.Response:
    """Open the live stream and keep only its status and headers (an open stream never ends),
    or the whole reply when it is an error."""
    with pages.stream("GET", "/live/stream", headers={"Accept": "text/html"}) as reply:
        if reply.status_code != 200:
            reply.read()
        return reply


def probe_every_path(
    client: httpx.Client, pages: httpx.Client, token: str, key: str, event_id: str
) -> dict[str, httpx.Response]:
    """One request of each kind the hub serves; ``pages`` carries the page session cookie."""
    snapshot = {**bearer(key), "X-Content-SHA256": sha256_of(CLIP)}
    sign_in = {"username": "ann@example.org", "password": "correct horse battery"}
    calls: dict[str, Callable[[], httpx.Response]] = {
        "health": lambda: client.get("/api/v1/health"),
        "ingest event": lambda: client.post(
            "/api/v1/ingest/events", json=event_body(), headers=bearer(key)
        ),
        "ingest clip": lambda: client.put(
            f"/api/v1/ingest/events/{event_id}/snapshot", content=CLIP, headers=snapshot
        ),
        "owner api": lambda: client.get("/api/v1/events", headers=bearer(token)),
        "clip download": lambda: client.get(
            f"/api/v1/events/{event_id}/clip", headers=bearer(token)
        ),
        "sign-in api": lambda: client.post("/api/v1/auth/token", data=sign_in),
        "page": lambda: pages.get("/timeline"),
        "missing page": lambda: pages.get("/no-such-page"),
        "live stream": lambda: live_stream(pages),
    }
    return {name: ask(call) for name, call in calls.items()}


def hammer(url: str, token: str, stop: threading.Event, seen: Counter[str]) -> None:
    """Owner API calls back to back: some are mid-request when the line is cut."""
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            try:
                seen[str(client.get("/api/v1/events", headers=bearer(token)).status_code)] += 1
            except httpx.HTTPError as exc:
                seen[type(exc).__name__] += 1


@pytest.fixture(scope="module")
def outage(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    reset_pg_schema(pg_database)
    record = Outage()
    agent_dir = tmp_path_factory.mktemp("agent")
    with TcpProxy("127.0.0.1", 5432) as proxy:
        server = ServerProcess(
            tmp_path_factory.mktemp("outage"),
            f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/{pg_database}",
            DOORSTEP_RETENTION_INTERVAL_SECONDS="1",  # the background job meets the outage
        )
        server.start()
        assert server.process is not None and server.process.stderr is not None
        stderr = server.process.stderr
        lines: list[bytes] = []
        drain = threading.Thread(target=lambda: lines.extend(iter(stderr.readline, b"")))
        drain.start()  # read as it comes: a full pipe would stall the hub's log calls
        try:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                api = Api(client)
                token = api.signup("ann@example.org")
                key = api.camera(token)["api_key"]
                event_id = api.event(key)["id"]
                assert api.upload(key, event_id, CLIP).status_code == 201
                pages = httpx.Client(
                    base_url=server.url, timeout=10, cookies={"doorstep_session": token}
                )

                stop = threading.Event()
                workers = [
                    threading.Thread(
                        target=hammer, args=(server.url, token, stop, record.in_flight)
                    )
                    for _ in range(3)
                ]
                for worker in workers:
                    worker.start()
                time.sleep(0.3)
                proxy.cut()
                record.during = probe_every_path(client, pages, token, key, event_id)
                record.agent_delay = agent_retry_delay(server.url, key, agent_dir)
                time.sleep(1.5)  # the retention job runs at least once against the cut line
                stop.set()
                for worker in workers:
                    worker.join()

                proxy.restore()
                restored = time.monotonic()
                while ask(lambda: client.get("/api/v1/health")).status_code != 200:
                    assert time.monotonic() - restored < 10, "the hub did not recover in 10 s"
                    time.sleep(0.1)
                record.recovered_in = time.monotonic() - restored
                record.after = probe_every_path(client, pages, token, key, event_id)
                pages.close()
        finally:
            server.stop()
            drain.join(timeout=10)
            record.log = b"".join(lines).decode(errors="replace")
    yield record


def agent_retry_delay(url: str, key: str, data_dir: Path) -> float:
    """Seconds until the agent retries an event the hub answered 503 to (-1: not queued)."""
    outbox = Outbox(data_dir)
    outbox.put_event(event_body())
    uploader = Uploader(outbox, HubClient(url, key), initial=0.1, maximum=60)
    try:
        uploader.step()
        return (outbox.next_due() or 0) - time.time() if outbox.pending() == 1 else -1.0
    finally:
        uploader.client.close()
        outbox.close()


@pytest.mark.postgres
def test_health_names_the_database_as_down_and_storage_as_ok(outage: Outage) -> None:
    reply = outage.during["health"]
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"] == RETRY_AFTER
    body = reply.json()
    assert body["status"] == "down"
    assert body["components"]["database"] == {
        "ok": False,
        "detail": "cannot be reached",
        "backend": "postgresql",
    }
    assert body["components"]["storage"]["ok"] is True
    assert "127.0.0.1" not in reply.text  # the reason goes to the log, not to the public


@pytest.mark.postgres
@pytest.mark.parametrize(
    "path", ["ingest event", "ingest clip", "owner api", "clip download", "sign-in api"]
)
def test_api_answers_503_with_retry_after(outage: Outage, path: str) -> None:
    reply = outage.during[path]
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"] == RETRY_AFTER
    assert reply.json()["retry_after"] == int(RETRY_AFTER)


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["page", "live stream"])
def test_pages_answer_a_503_page_with_retry_after(outage: Outage, path: str) -> None:
    reply = outage.during[path]
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"] == RETRY_AFTER
    assert reply.headers["content-type"].startswith("text/html")
    assert "Temporarily unavailable" in reply.text


@pytest.mark.postgres
def test_an_error_page_needing_the_user_still_shows(outage: Outage) -> None:
    """A 404 page names the signed-in user; with the database down it names no one."""
    assert outage.during["missing page"].status_code == 404


@pytest.mark.postgres
def test_requests_caught_mid_flight_are_answered_not_dropped(outage: Outage) -> None:
    assert set(outage.in_flight) <= {"200", "503"}, outage.in_flight
    assert outage.in_flight["503"] > 0  # the workers did run into the outage


@pytest.mark.postgres
def test_no_traceback_reaches_the_log(outage: Outage) -> None:
    assert "Exception in ASGI application" not in outage.log, outage.log[-3000:]
    assert "Traceback" not in outage.log, outage.log[-3000:]
    assert "database unavailable on GET /api/v1/events" in outage.log  # one line each
    assert "retention run skipped, the database is down" in outage.log
    assert "[SQL:" not in outage.log  # no statements (nor their parameters) in the log


@pytest.mark.postgres
def test_the_agent_waits_as_long_as_retry_after_says(outage: Outage) -> None:
    """Its own backoff would retry in 0.1 s; the hub asked for 5."""
    assert float(RETRY_AFTER) - 0.5 <= outage.agent_delay <= 60


@pytest.mark.postgres
def test_everything_recovers_without_a_restart(outage: Outage) -> None:
    after = outage.after
    assert outage.recovered_in < 3
    assert after["health"].status_code == 200
    assert after["health"].json()["status"] == "ok"
    assert after["ingest event"].status_code == 201
    assert after["ingest clip"].status_code == 201
    assert after["owner api"].status_code == 200 and len(after["owner api"].json()["items"]) == 2
    assert after["clip download"].status_code == 200 and after["clip download"].content == CLIP
    assert after["sign-in api"].status_code == 200
    assert after["page"].status_code == 200
    assert after["missing page"].status_code == 404
    assert after["live stream"].status_code == 200


# -- storage health: in-process, fast ------------------------------------------------------


def test_health_reports_storage_down_as_degraded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'h.db'}")
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/health").json()["components"]["storage"] == {
            "ok": True,
            "detail": "ok",
            "backend": "local",
        }
        shutil.rmtree(settings.data_dir / "clips" / "tmp")  # where uploads land: gone
        reply = client.get("/api/v1/health")
        assert reply.status_code == 503 and reply.headers["Retry-After"] == RETRY_AFTER
        body = reply.json()
        assert body["status"] == "degraded"
        assert body["components"]["database"] == {"ok": True, "detail": "ok", "backend": "sqlite"}
        assert body["components"]["storage"]["ok"] is False

        (settings.data_dir / "clips" / "tmp").mkdir()
        assert client.get("/api/v1/health").status_code == 200


def test_an_upload_the_disk_cannot_take_is_503_and_leaves_nothing(tmp_path: Path) -> None:
    """A clip store that cannot be written (here its upload folder is a file: a real
    OSError, as from a full or read-only disk) answers 503, not 500, and keeps nothing."""
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'h.db'}")
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        key = api.camera(api.signup("disk@example.org"))["api_key"]
        event = api.event(key)
        uploads = settings.data_dir / "clips" / "tmp"
        shutil.rmtree(uploads)
        uploads.write_bytes(b"")  # open(uploads / "x.part") now fails: NotADirectoryError
        reply = api.upload(key, event["id"], b"clip bytes")
        assert reply.status_code == 503, reply.text
        assert reply.headers["Retry-After"] == str(reply.json()["retry_after"])
        assert not list((settings.data_dir / "clips" / "blobs").rglob("*.*"))
        assert not [p for p in (settings.data_dir / "clips" / "blobs").rglob("*") if p.is_file()]

        uploads.unlink()
        uploads.mkdir()
        assert api.upload(key, event["id"], b"clip bytes").status_code == 201


def test_s3_check_fails_when_the_bucket_cannot_be_reached(tmp_path: Path) -> None:
    """A real connection refused, as when the S3 endpoint is down."""
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="doorstep-test",
        aws_secret_access_key="doorstep-test-secret",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    storage = S3BlobStorage(client, "clips", "", LocalBlobStorage(tmp_path / "cache"), 10**6)
    with pytest.raises(StorageError, match="cannot be reached"):
        storage.check()
