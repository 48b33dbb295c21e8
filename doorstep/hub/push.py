"""Web Push (docs/reach.md, "Web Push"): the hub's VAPID key, queueing pushes, sending them.

* The VAPID key (RFC 8292) is the hub's identity towards push services: a browser
  subscribes with its public half (``applicationServerKey``) and the push service then
  accepts only messages signed by it. It comes from ``DOORSTEP_VAPID_PRIVATE_KEY`` (PEM,
  a path to a PEM file, or the raw 32-byte key in base64url as other Web Push tools
  print it) or is created once in ``data_dir/vapid_private.pem`` (0600); losing it would
  orphan every subscription, so it is never regenerated.
* :func:`enqueue_push` queues one ``push.send`` job per device of a user, in the
  caller's transaction, so a push exists exactly when what it announces does.
* The ``push.send`` job encrypts the payload to the device (RFC 8291, aes128gcm),
  signs a VAPID token and POSTs it to the push service (RFC 8030). 404/410: the device
  unsubscribed, its row is dropped. 429/5xx/network errors raise, and the queue retries
  with backoff. Each worker thread keeps one HTTP session (connection reuse) and the
  VAPID header per push service origin is reused for minutes (one ECDSA signature per
  service, not per message).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from doorstep.config import Settings
from doorstep.errors import InvalidInput
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models_reach import PushSubscription
from doorstep.hub.queue import PermanentFailure, enqueue_many, job
from doorstep.signing import create_secret_file

if TYPE_CHECKING:
    from doorstep.hub.context import Hub

EXTRAS_KEY = "vapid"
SEND_TIMEOUT = 10.0  # seconds; well inside the queue's 5-minute lease
TOKEN_LIFETIME = 12 * 3600  # the VAPID ``exp``: RFC 8292 allows at most 24 h
TOKEN_REUSE = 600  # a signed header is reused this long per push service origin
MAX_PAYLOAD = 3800  # bytes of JSON; push services take 4096 encrypted (RFC 8291: 4078 plain)
POLICE_KINDS = frozenset({"request", "request_reminder", "emergency_access", "clip_accessed"})
URGENT_KINDS = frozenset({"event", "emergency_access"})
EVENT_TTL = 300  # a doorbell ring older than 5 minutes is no longer news
POLICE_TTL = 86400  # a request stays news for a day while the phone is off


# -- the VAPID key ------------------------------------------------------------------


@dataclass
class VapidKey:
    """The hub's VAPID key and what is derived from it, cached on the hub."""

    private_key: ec.EllipticCurvePrivateKey
    subject: str
    vapid: Vapid02 = field(init=False)
    public_key: str = field(init=False)  # base64url uncompressed point, no padding
    _headers: dict[str, tuple[float, str]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.vapid = Vapid02(private_key=self.private_key)
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = b64url(point)

    def authorization(self, endpoint: str, now: float | None = None) -> str:
        """The ``Authorization: vapid t=..., k=...`` header for ``endpoint``'s origin."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time() if now is None else now
        with self._lock:
            cached = self._headers.get(audience)
            if cached and cached[0] > now:
                return cached[1]
        claims = {"aud": audience, "exp": int(now) + TOKEN_LIFETIME, "sub": self.subject}
        header = str(self.vapid.sign(claims)["Authorization"])
        with self._lock:
            self._headers[audience] = (now + TOKEN_REUSE, header)
        return header


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding; raises ``ValueError`` on anything else."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url text") from exc


def _parse_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM text, a PEM file's path, or raw base64url."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    elif Path(text).is_file():
        key = serialization.load_pem_private_key(Path(text).read_bytes(), password=None)
    else:
        try:
            raw = b64url_decode(text)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise InvalidInput(
                "DOORSTEP_VAPID_PRIVATE_KEY is neither PEM text, a PEM file, nor a base64url "
                "P-256 private key",
                field="vapid_private_key",
            )
        key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise InvalidInput("the VAPID key must be a P-256 (prime256v1) EC private key")
    return key


def _create_key_file(path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    create_secret_file(path, pem)  # another process may win the race: its key is used


def load_or_create_vapid_key(settings: Settings) -> VapidKey:
    """The configured VAPID key, or the one in the data dir (created on first use)."""
    if settings.vapid_private_key.strip():
        key = _parse_key(settings.vapid_private_key)
    else:
        path = settings.vapid_key_path
        if not path.exists():
            _create_key_file(path)
        key = _parse_key(path.read_text())
    return VapidKey(key, settings.vapid_contact)


_KEY_LOCK = threading.Lock()


def vapid_key(hub: Hub) -> VapidKey:
    """The hub's VAPID key, loaded once per process."""
    cached = hub.extras.get(EXTRAS_KEY)
    if isinstance(cached, VapidKey):
        return cached
    with _KEY_LOCK:
        cached = hub.extras.get(EXTRAS_KEY)
        if not isinstance(cached, VapidKey):
            cached = load_or_create_vapid_key(hub.settings)
            hub.extras[EXTRAS_KEY] = cached
        return cached


# -- queueing -----------------------------------------------------------------------


def enqueue_push(session: Session, user_id: str, message: dict[str, Any], *, key: str) -> int:
    """Queue ``message`` to every device of ``user_id``; returns how many pushes.

    ``message`` is the payload the service worker shows: ``type``, ``title``, ``body``,
    ``url``, ``image``, ``id`` and ``tag``. Job keys are ``f"{key}:{subscription id}"``,
    so queueing the same announcement twice sends it once.
    """
    ids = session.scalars(
        select(PushSubscription.id).where(PushSubscription.user_id == user_id)
    ).all()
    enqueue_many(
        session,
        [
            {
                "kind": "push.send",
                "payload": {"subscription_id": sid, "user_id": user_id, "message": message},
                "key": f"{key}:{sid}"[:200],
            }
            for sid in ids
        ],
    )
    return len(ids)


# -- sending ------------------------------------------------------------------------


class PushServiceError(Exception):
    """The push service could not take the message now (429, 5xx): try again later."""


_local = threading.local()


class _NoRedirects(requests.Session):
    """A push service answers; it never redirects. Following one would let an allowed
    host send the worker anywhere."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def _http() -> requests.Session:
    """One HTTP session per worker thread: connections to a push service are reused."""
    http: requests.Session | None = getattr(_local, "http", None)
    if http is None:
        http = _NoRedirects()
        _local.http = http
    return http


def encode_message(message: dict[str, Any]) -> bytes:
    """The JSON a service worker receives, cut to fit what push services accept."""
    data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_PAYLOAD:
        trimmed = {**message, "body": str(message.get("body", ""))[:200], "image": None}
        data = json.dumps(trimmed, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_PAYLOAD:
        raise PermanentFailure(f"push payload of {len(data)} bytes is over {MAX_PAYLOAD}")
    return data


def delivery_headers(message: dict[str, Any]) -> dict[str, str]:
    """TTL, Urgency and Topic (RFC 8030 section 5) for a message of this type."""
    kind = str(message.get("type", ""))
    headers = {
        "TTL": str(POLICE_TTL if kind in POLICE_KINDS else EVENT_TTL),
        "Urgency": "high" if kind in URGENT_KINDS else "normal",
    }
    tag = message.get("tag")
    if tag:  # a newer message of the same tag replaces one the device has not fetched yet
        headers["Topic"] = b64url(hashlib.sha256(str(tag).encode()).digest())[:32]
    return headers


def send(key: VapidKey, subscription: PushSubscription, message: dict[str, Any]) -> int:
    """Encrypt, sign and POST one message; returns the push service's status code."""
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    headers = {
        **delivery_headers(message),
        "Authorization": key.authorization(subscription.endpoint),
    }
    pusher = WebPusher(info, requests_session=_http())
    try:
        reply = pusher.send(
            encode_message(message),
            headers,
            ttl=int(headers["TTL"]),
            content_encoding="aes128gcm",
            timeout=SEND_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise PushServiceError(f"push service unreachable: {type(exc).__name__}") from exc
    assert isinstance(reply, requests.Response)
    return reply.status_code


@job("push.send")
def send_job(hub: Hub, payload: dict[str, Any]) -> None:
    """Deliver one queued push; see the module docstring for what each answer means."""
    key = vapid_key(hub)
    with session_scope(hub.sessions) as session:
        sub = session.get(PushSubscription, str(payload["subscription_id"]))
        # Gone (unsubscribed) or moved to another account since: nothing to send.
        if sub is None or sub.user_id != payload.get("user_id", sub.user_id):
            return
        session.expunge(sub)
    status = send(key, sub, dict(payload["message"]))
    with session_scope(hub.sessions) as session:
        if 200 <= status < 300:
            session.execute(
                update(PushSubscription)
                .where(PushSubscription.id == sub.id)
                .values(last_success_at=utcnow())
            )
            return
        if status in (404, 410):  # the device unsubscribed or the subscription expired
            session.execute(delete(PushSubscription).where(PushSubscription.id == sub.id))
            return
    if status == 429 or status >= 500:
        raise PushServiceError(f"push service answered {status}")
    raise PermanentFailure(f"push service refused the message: {status}")
