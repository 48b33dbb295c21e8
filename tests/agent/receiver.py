"""A small real HTTP server speaking the ingest contract (docs/ingest-api.md) and
receiving webhooks, so delivery can be tested end to end without the full hub."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEY = "dsk_test_key"
FILE_PATH = re.compile(r"^/api/v1/ingest/events/([0-9a-f-]{36})/(clip|snapshot)$")


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.lock = threading.Lock()
        self.events: dict[str, dict[str, Any]] = {}
        self.created: Counter[str] = Counter()
        self.files: dict[tuple[str, str], bytes] = {}
        self.stored: Counter[tuple[str, str]] = Counter()
        self.hooks: list[tuple[bytes, dict[str, str]]] = []
        self.older = False  # answer as a hub from before issue 15: only person and motion
        self.refused: list[dict[str, Any]] = []  # events answered 422 for their label
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_POST(self) -> None:
        body = self._body()
        srv = self.server
        if self.path == "/hook":
            with srv.lock:
                srv.hooks.append((body, dict(self.headers)))
            return self._reply(204)
        if self.path != "/api/v1/ingest/events":
            return self._reply(404)
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._reply(401)
        payload = json.loads(body)
        if not payload.get("start_time"):  # the hub validates events as strictly
            return self._reply(422, {"detail": "start_time is required"})
        if srv.older and payload.get("label") not in ("person", "motion"):
            with srv.lock:
                srv.refused.append(payload)
            return self._reply(422, {"detail": "label: Input should be 'person' or 'motion'"})
        with srv.lock:
            known = srv.events.get(payload["id"])
            if known is None:
                srv.events[payload["id"]] = payload
                srv.created[payload["id"]] += 1
                return self._reply(201, payload)
            known.update({k: v for k, v in payload.items() if v is not None})
            return self._reply(200, known)

    def do_PUT(self) -> None:
        body = self._body()
        srv = self.server
        match = FILE_PATH.match(self.path)
        if not match:
            return self._reply(404)
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._reply(401)
        key = (match.group(1), match.group(2))
        if hashlib.sha256(body).hexdigest() != self.headers.get("X-Content-SHA256"):
            return self._reply(422, {"detail": "hash mismatch"})
        with srv.lock:
            if key[0] not in srv.events:
                return self._reply(404)
            if key in srv.files and srv.files[key] == body:
                return self._reply(200)
            srv.files[key] = body
            srv.stored[key] += 1
        return self._reply(201)
