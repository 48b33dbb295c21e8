"""A real SMTP server for the email tests: aiosmtpd in a thread, keeping what it receives.

Not a mock: the hub's smtplib client speaks SMTP over TCP to it (EHLO, STARTTLS, AUTH,
MAIL, RCPT, DATA), and the tests read the messages as a mail store would get them. The
STARTTLS variant uses a self-signed certificate made here with ``cryptography``; the hub
is told to trust it with ``?cafile=`` in its SMTP URL, as it would a private CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    """One message as the server took it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        """The ``text/<subtype>`` body (``plain`` or ``html``)."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_subtype() == subtype, f"no text/{subtype}"
        return str(body.get_content())  # type: ignore[attr-defined]

    @property
    def everything(self) -> str:
        """Headers and every decoded part, for "nothing about X appears" checks."""
        headers = "\n".join(f"{k}: {v}" for k, v in self.message.items())
        return "\n".join([headers, self.part("plain"), self.part("html")])


@dataclass
class Handler:
    """Keeps each message; answers RCPT for addresses in ``refuse`` with their reply."""

    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)  # users that logged in (AUTH)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


@dataclass
class SmtpServer:
    handler: Handler
    host: str
    port: int
    url: str  # what DOORSTEP_SMTP_URL is set to for this server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(port: int | None = None, handler: Handler | None = None) -> Iterator[SmtpServer]:
    """A plain SMTP server on 127.0.0.1 (no TLS, no AUTH): the hub sends without login."""
    handler = handler or Handler()
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(handler, "127.0.0.1", port, f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (P-256, a day long): cheap to make per run."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def starttls_server(
    directory: Path, user: str = "hub", password: str = "p@ss:word", *, implicit: bool = False
) -> Iterator[SmtpServer]:
    """A server that requires STARTTLS (``implicit``: TLS from the first byte, smtps://)
    and then AUTH with ``user``/``password``."""
    cert, key = self_signed(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == user.encode()
            and data.password == password.encode()
        )
        if ok:
            handler.logins.append(user)
        return AuthResult(success=ok)

    handler = Handler()
    port = free_port()
    # aiosmtpd counts only STARTTLS as TLS for AUTH, and warns when AUTH is required
    # without it; with smtps:// the connection is TLS throughout, so AUTH is offered and
    # checked (``Handler.logins``) but not demanded.
    tls: dict[str, Any] = (
        {"ssl_context": context, "auth_require_tls": False, "auth_required": False}
        if implicit
        else {"tls_context": context, "require_starttls": True}
    )
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        **{"auth_required": True, **tls},
    )
    controller.start()
    try:
        scheme = "smtps" if implicit else "smtp"
        credentials = f"{quote(user)}:{quote(password, safe='')}"
        url = f"{scheme}://{credentials}@127.0.0.1:{port}?cafile={cert}"
        yield SmtpServer(handler, "127.0.0.1", port, url)
    finally:
        controller.stop()
