"""Email: rendering a notification as a message, queueing it, and handing it to SMTP.

Why this shape (docs/reach.md, "Email"):

* A message is rendered when it is queued (:func:`enqueue_email`) and the job carries
  the finished text, so a retry sends the same words and the worker needs no database
  read to send. The sender (``DOORSTEP_MAIL_FROM``) and server (``DOORSTEP_SMTP_URL``)
  are read when it is sent, so fixing either fixes the jobs still queued.
* The ``Message-ID`` is derived from the job key: should a worker die between handing a
  message over and marking its job done, the copy sent on retry has the same id, and a
  mail store (or a person) can tell it is the same message.
* A 5xx answer about the message or its recipient is permanent (retrying cannot help);
  4xx answers and network errors raise, and the queue retries with backoff.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, localtime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from doorstep.config import Settings
from doorstep.hub.queue import PermanentFailure, enqueue, job
from doorstep.hub.services.notifications import url_for

if TYPE_CHECKING:
    from doorstep.hub.context import Hub
    from doorstep.hub.models import User

log = logging.getLogger(__name__)
EMAIL_KINDS = frozenset({"request", "request_reminder", "emergency_access", "clip_accessed"})
"""Notification kinds that go by email to a user with ``email_notifications`` on."""
SEND_JOB = "email.send"
TIMEOUT_SECONDS = 30.0
TEMPLATES_DIR = Path(__file__).with_name("mail_templates")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,  # a template naming a missing value fails loudly in tests
    keep_trailing_newline=True,
)


# -- the server ---------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand mail over, parsed from ``DOORSTEP_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool  # smtps://: TLS from the first byte; smtp://: STARTTLS when offered
    username: str | None = None
    password: str | None = None
    cafile: str | None = None  # ?cafile=/path: trust a private CA (or a self-signed server)

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://user:pass@host:port`` (default port 25) or ``smtps://...`` (465).

    User and password are percent-decoded, so a password may hold ``@`` or ``:`` as
    ``%40`` and ``%3A``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(
            f"DOORSTEP_SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465, "
            f"not {parts.scheme or '(no scheme)'}://..."
        )
    implicit = parts.scheme == "smtps"
    query = parse_qs(parts.query)
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        implicit_tls=implicit,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        cafile=query.get("cafile", [None])[0],
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(server: SmtpServer, timeout: float = TIMEOUT_SECONDS) -> smtplib.SMTP:
    """A connection ready to send: TLS (implicit, or STARTTLS when offered), logged in
    when a user is given. A password is never sent unencrypted, except to this machine."""
    smtp: smtplib.SMTP
    if server.implicit_tls:
        smtp = smtplib.SMTP_SSL(
            server.host, server.port, timeout=timeout, context=server.tls_context()
        )
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    try:
        smtp.ehlo()
        encrypted = server.implicit_tls
        if not encrypted and smtp.has_extn("starttls"):
            smtp.starttls(context=server.tls_context())
            smtp.ehlo()
            encrypted = True
        if server.username:
            if not encrypted and not _loopback(server.host):
                raise PermanentFailure(
                    f"{server.host} offers no STARTTLS: refusing to send the SMTP password "
                    "unencrypted; use smtps:// or a server with STARTTLS"
                )
            smtp.login(server.username, server.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


_open = threading.local()  # each worker thread keeps its connection to the mail server


def send(server: SmtpServer, message: EmailMessage, timeout: float = TIMEOUT_SECONDS) -> None:
    """Hand ``message`` to the server over this thread's open connection (a new one when
    there is none, the server changed, or it closed the old one). Raises what
    :mod:`smtplib` raises. Reusing the connection saves the greeting, TLS and login of
    every message after the first: a police request to thousands of owners is thousands
    of messages."""
    kept: tuple[SmtpServer, smtplib.SMTP] | None = getattr(_open, "smtp", None)
    if kept is not None and kept[0] == server:
        try:
            kept[1].send_message(message)
            return
        except (smtplib.SMTPServerDisconnected, OSError):
            pass  # closed or broken while idle: open a new one below
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code != 421:  # 421: the server is closing this connection
                raise
    if kept is not None:
        with contextlib.suppress(Exception):
            kept[1].close()
        _open.smtp = None
    smtp = connect(server, timeout)
    _open.smtp = (server, smtp)
    try:
        smtp.send_message(message)
    except (smtplib.SMTPServerDisconnected, OSError):
        _open.smtp = None
        smtp.close()
        raise


# -- composing ----------------------------------------------------------------------


def message_id(key: str, mail_from: str) -> str:
    """A ``Message-ID`` that depends only on the job key (and the sender's domain)."""
    addresses = getaddresses([mail_from])
    domain = addresses[0][1].rpartition("@")[2] if addresses and addresses[0][1] else ""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain or 'doorstep.invalid'}>"


def compose(mail_from: str, payload: dict[str, Any], now: datetime | None = None) -> EmailMessage:
    """The MIME message of an ``email.send`` job: plain text, with HTML as the alternative."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Message-ID"] = payload["message_id"]
    message["Date"] = format_datetime(now or localtime())
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    return message


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: str | datetime | None, zone: str) -> str:
    """An instant as a person reads it in their zone: ``Tue 3 Mar 2026, 14:05 (Europe/Paris)``."""
    if value is None or value == "":
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = when.astimezone(_zone(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({zone})"


_env.filters["local_time"] = local_time


def absolute(settings: Settings, url: str) -> str:
    return url if "://" in url else settings.base_url + "/" + url.lstrip("/")


def render(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject, text and HTML of ``kind`` from ``mail_templates/<kind>.txt|.html``.

    The text template's first line is ``Subject: ...``; the body starts after the
    blank line below it.
    """
    text = _env.get_template(f"{kind}.txt").render(context)
    head, _, body = text.partition("\n\n")
    if not head.startswith("Subject: "):
        raise ValueError(f"mail_templates/{kind}.txt must start with a 'Subject: ' line")
    html = _env.get_template(f"{kind}.html").render(context)
    return head.removeprefix("Subject: ").strip(), body.lstrip("\n"), html


def recipient(user: User) -> str | None:
    """``Name <address>`` for the To header; None when the address cannot be one (a name
    never breaks a header: control characters become spaces)."""
    name = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in user.name or "")
    try:
        return str(Address(display_name=name.strip(), addr_spec=user.email))
    except (ValueError, IndexError) as exc:
        log.warning("user %s has no usable email address (%s): no email", user.id, exc)
        return None


def enqueue_email(
    session: Session,
    settings: Settings,
    user: User,
    kind: str,
    context: dict[str, Any],
    *,
    key: str,
) -> bool:
    """Render ``kind`` for ``user`` and queue its sending in the caller's transaction.

    ``context`` is the notification's payload; ``url`` (made absolute here), ``name``,
    ``timezone`` and ``base_url`` are added unless given. ``key`` identifies the message
    (queueing the same key twice is one email). Returns False, queueing nothing, when no
    SMTP server is configured or the user has no address.
    """
    to = recipient(user)
    if not settings.smtp_url or to is None:
        return False
    full = {
        "name": user.name,
        "timezone": user.timezone or "UTC",
        "base_url": settings.base_url,
        "kind": kind,
        **context,
    }
    full["url"] = absolute(settings, str(context.get("url") or url_for(kind, context)))
    subject, text, html = render(kind, full)
    job_key = key if key.startswith("email:") else f"email:{key}"
    payload = {
        "to": to,
        "subject": subject,
        "text": text,
        "html": html,
        "message_id": message_id(job_key, settings.mail_from),
    }
    enqueue(session, SEND_JOB, payload, key=job_key)
    return True


# -- the job ------------------------------------------------------------------------


def _permanent(exc: smtplib.SMTPException) -> bool:
    """A 5xx about the recipient or the message: the same message will never be taken."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


@job(SEND_JOB)
def send_job(hub: Hub, payload: dict[str, Any]) -> None:
    """Send one rendered message; 5xx refusals give up, anything else is retried."""
    settings = hub.settings
    if not settings.smtp_url:
        raise PermanentFailure("DOORSTEP_SMTP_URL was emptied after this email was queued")
    try:
        server = parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        raise PermanentFailure(str(exc)) from None
    message = compose(settings.mail_from, payload)
    try:
        send(server, message)
    except smtplib.SMTPException as exc:
        if _permanent(exc):
            raise PermanentFailure(f"the mail server refused the message: {exc}") from None
        raise
