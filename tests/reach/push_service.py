"""A stand-in for the browser vendor's push service (RFC 8030), for the Web Push tests.

Why a stand-in: the real push services (FCM for Chrome, Mozilla autopush, Apple's,
Microsoft's) cannot be reached from this machine, and a test must not depend on them
anyway. This is a real HTTP server on a free local port that does with a request what
a push service does, checked independently of the libraries the hub sends with:

* the VAPID token (RFC 8292): ``Authorization: vapid t=<JWT>, k=<key>``, an ES256 JWT
  verified here with ``cryptography`` against ``k``; ``k`` must be the key the device
  subscribed with (``applicationServerKey``) when the test says which; ``aud`` must be
  this server's origin, ``exp`` in the future and at most 24 h away, ``sub`` a
  ``mailto:`` or ``https:`` contact;
* ``Content-Encoding: aes128gcm`` and a ``TTL`` header (RFC 8030 section 5.2);
* the body decrypts (RFC 8291) with the private key and auth secret of the device, which
  :class:`Device` generates as a browser would.

What arrives is kept in :attr:`PushService.received`; what it refused, with the reason,
in :attr:`PushService.refused`. ``answer(device, status)`` makes it answer a status
(410, 404, 429, 500 ...) for one device's endpoint instead of 201.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

STAND_IN_HOSTS = "127.0.0.1"
"""``DOORSTEP_PUSH_SERVICE_HOSTS`` for a hub that sends to the stand-in (it listens on
http://127.0.0.1:<port>, which a hub takes only for a host listed by its exact name)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A browser's side of a subscription: its P-256 key pair, auth secret and endpoint."""

    endpoint: str
    application_server_key: str | None = None  # what the browser subscribed with, if known
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def path(self) -> str:
        return "/" + self.endpoint.split("/", 3)[3]

    def subscription(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()`` as a browser sends it."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass
class Received:
    path: str
    message: dict[str, Any]
    headers: dict[str, str]
    claims: dict[str, Any]


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class PushService:
    """Run with ``with PushService() as service:``; ``service.device()`` makes a browser."""

    def __init__(self) -> None:
        self.devices: dict[str, Device] = {}
        self.answers: dict[str, int] = {}
        self.received: list[Received] = []
        self.refused: list[str] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PushService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def device(self, application_server_key: str | None = None) -> Device:
        device = Device(f"{self.origin}/push/{b64url(os.urandom(12))}", application_server_key)
        self.devices[device.path] = device
        return device

    def answer(self, device: Device, status: int | None) -> None:
        """Answer ``status`` for this device from now on (None: accept again)."""
        if status is None:
            self.answers.pop(device.path, None)
        else:
            self.answers[device.path] = status

    def messages(self, device: Device) -> list[dict[str, Any]]:
        return [r.message for r in self.received if r.path == device.path]

    # -- what a push service checks ------------------------------------------------

    def check_vapid(self, header: str, device: Device) -> dict[str, Any]:
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            raise Refused(401, f"not a vapid authorization: {header[:30]!r}")
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        token, key = parts.get("t", ""), parts.get("k", "")
        if device.application_server_key and key != device.application_server_key:
            raise Refused(403, "k is not the applicationServerKey the device subscribed with")
        signing_input, _, signature = token.rpartition(".")
        head_b64, _, claims_b64 = signing_input.partition(".")
        head = json.loads(unb64url(head_b64))
        if head.get("alg") != "ES256":
            raise Refused(401, f"JWT alg {head.get('alg')!r}, not ES256")
        raw = unb64url(signature)
        if len(raw) != 64:
            raise Refused(401, "ES256 signature is not 64 bytes (r || s)")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        try:
            public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise Refused(401, "bad VAPID signature") from None
        claims: dict[str, Any] = json.loads(unb64url(claims_b64))
        now = time.time()
        if claims.get("aud") != self.origin:
            raise Refused(401, f"aud {claims.get('aud')!r} is not {self.origin}")
        if not now < int(claims.get("exp", 0)) <= now + 24 * 3600:
            raise Refused(401, f"exp {claims.get('exp')} not within the next 24 h")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise Refused(401, f"sub {claims.get('sub')!r} is not mailto: or https:")
        return claims

    def accept(self, path: str, headers: dict[str, str], body: bytes) -> int:
        device = self.devices.get(path)
        if device is None:
            raise Refused(404, "no such subscription")
        claims = self.check_vapid(headers.get("authorization", ""), device)
        if headers.get("content-encoding") != "aes128gcm":
            raise Refused(415, f"content-encoding {headers.get('content-encoding')!r}")
        if not headers.get("ttl", "").isdigit():
            raise Refused(400, "missing or bad TTL header")
        if path in self.answers:
            return self.answers[path]
        try:
            plain = http_ece.decrypt(
                body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm"
            )
        except Exception as exc:
            raise Refused(400, f"body does not decrypt: {exc}") from None
        with self._lock:
            self.received.append(Received(path, json.loads(plain), headers, claims))
        return 201

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with service._lock:
                    service.requests += 1
                try:
                    status = service.accept(self.path, headers, body)
                except Refused as exc:
                    with service._lock:
                        service.refused.append(f"{exc.status} {exc}")
                    status = exc.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
