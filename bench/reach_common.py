"""Shared parts of the reach benchmarks (``bench/reach_*.py``): sinks that stand in for
push services and a mail server, and bulk set-up of push subscriptions and camera keys.

Not a benchmark itself. The stand-ins count and timestamp; they do not decrypt or check
(the tests do: ``tests/reach/push_service.py``), because here they must not be what
limits the measured rate. Timestamps are ``time.perf_counter()`` of this process, the
same clock the benchmark's clients use.
"""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hub_common import Loader, free_port
from sqlalchemy import Engine

from doorstep.hub.security import CAMERA_KEY_PREFIX, secret_hash


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class PushSink:
    """A local HTTP endpoint in place of the push services: 201 to every POST, and the
    time each path was first hit (paths are ``/push/<n>``, one per device)."""

    server: ThreadingHTTPServer
    first: dict[str, float] = field(default_factory=dict)
    hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self) -> int:
        with self.lock:
            return len(self.first)


def _push_handler(sink: PushSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as push services do

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            now = time.perf_counter()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with sink.lock:
                sink.hits += 1
                sink.first.setdefault(self.path, now)
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def push_sink() -> Iterator[PushSink]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    sink = PushSink(server)
    server.RequestHandlerClass = _push_handler(sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class MailSink:
    """An aiosmtpd server that takes every message: the time each recipient's first
    message arrived, and how many messages in all."""

    port: int = 0
    first: dict[str, float] = field(default_factory=dict)
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        now = time.perf_counter()
        with self.lock:
            self.messages += 1
            for rcpt in envelope.rcpt_tos:
                self.first.setdefault(rcpt.lower(), now)
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.first)


@contextmanager
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def device_keys() -> tuple[str, str]:
    """A browser-like subscription's keys (P-256 public key, 16-byte auth secret),
    base64url; one pair serves every device of the bench (the hub encrypts per send)."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(public), b64url(os.urandom(16))


def add_subscriptions(engine: Engine, owner_ids: list[str], sink_url: str) -> list[str]:
    """One push subscription per owner, endpoint ``<sink>/push/<index>``; the paths."""
    p256dh, auth = device_keys()
    now = datetime.now(UTC)
    paths = [f"/push/{i}" for i in range(len(owner_ids))]
    Loader(engine).insert(
        "push_subscriptions",
        ["id", "user_id", "endpoint", "p256dh", "auth", "user_agent", "created_at"],
        (
            (str(uuid.uuid4()), owner, f"{sink_url}{path}", p256dh, auth, "bench", now)
            for owner, path in zip(owner_ids, paths, strict=True)
        ),
    )
    return paths


def set_camera_keys(engine: Engine, camera_ids: list[str]) -> list[str]:
    """Give each bulk-loaded camera a key the benchmark knows (they are stored hashed)."""
    keys = [f"{CAMERA_KEY_PREFIX}bench_{uuid.uuid4().hex}" for _ in camera_ids]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        cursor.executemany(
            f"UPDATE cameras SET key_hash = {mark} WHERE id = {mark}",
            [(secret_hash(k), c) for k, c in zip(keys, camera_ids, strict=True)],
        )
        raw.commit()
    finally:
        raw.close()
    return keys


def summary(values: list[float]) -> str:
    """p50 / p99 / max in milliseconds."""
    from hub_common import percentile

    if not values:
        return "none"
    ms = [v * 1000 for v in values]
    return f"{percentile(ms, 0.5):.0f} / {percentile(ms, 0.99):.0f} / {max(ms):.0f}"
