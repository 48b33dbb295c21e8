"""Hub fixtures shared by every test folder: a fresh hub on SQLite and PostgreSQL, an API helper."""

from __future__ import annotations

import hashlib
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from doorstep.app import create_app
from doorstep.config import MIN_PRODUCTION_HASH_MEMORY_KIB, Settings
from doorstep.hub import totp
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import User
from doorstep.hub.services import mfa
from doorstep.hub.services.accounts import normalise_email
from doorstep.web.session import SESSION_COOKIE
from tests.conftest import require_service

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One throw-away PostgreSQL database for the session; schemas are reset per test."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"doorstep_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def reset_pg_schema(name: str) -> None:
    with psycopg.connect(
        f"host=127.0.0.1 port=5432 user=postgres dbname={name}", autocommit=True
    ) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    name = request.getfixturevalue("pg_database")
    reset_pg_schema(name)
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


@pytest.fixture
def hub_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, max_clip_bytes=10 * 1024 * 1024
    )


PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "secret_key": "s" * 32,
    "password_hash_memory_kib": MIN_PRODUCTION_HASH_MEMORY_KIB,  # the suite's 1 MiB is refused
}
"""Settings a hub in production mode needs to start, for tests of what production changes."""


@contextmanager
def sqlite_hub(root: Path) -> Iterator[TestClient]:
    """A hub on SQLite under ``root``: for module-scoped fixtures that share one hub."""
    settings = Settings(data_dir=root / "data", database_url=f"sqlite:///{root / 'hub.db'}")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def client(hub_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(hub_settings)) as test_client:
        yield test_client


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Api:
    """Thin helpers over the real HTTP API, so tests read as user stories."""

    client: Any

    def signup(self, email: str, password: str = "correct horse battery") -> str:
        reply = self.client.post(
            "/api/v1/auth/signup", json={"email": email, "password": password, "name": email}
        )
        assert reply.status_code == 201, reply.text
        return self.login(email, password)

    def login(self, email: str, password: str = "correct horse battery") -> str:
        """A token; with a code when the account has a TOTP secret (``enrol_totp``)."""
        data = {"username": email, "password": password}
        if email in TOTP_SECRETS:
            data["totp_code"] = totp_code(TOTP_SECRETS[email])
        reply = self.client.post("/api/v1/auth/token", data=data)
        assert reply.status_code == 200, reply.text
        return str(reply.json()["access_token"])

    def camera(
        self, token: str, lat: float = 51.5, lon: float = -0.12, name: str = "Front door"
    ) -> dict[str, Any]:
        reply = self.client.post(
            "/api/v1/cameras",
            json={"name": name, "latitude": lat, "longitude": lon},
            headers=bearer(token),
        )
        assert reply.status_code == 201, reply.text
        return dict(reply.json())

    def event(
        self, key: str, *, start: datetime | None = None, event_id: str | None = None
    ) -> dict[str, Any]:
        start = start or datetime.now(UTC) - timedelta(minutes=5)
        body = {
            "id": event_id or str(uuid.uuid4()),
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(seconds=20)).isoformat(),
            "label": "person",
            "score": 0.8,
            "box": [0.1, 0.2, 0.3, 0.4],
        }
        reply = self.client.post("/api/v1/ingest/events", json=body, headers=bearer(key))
        assert reply.status_code in (200, 201), reply.text
        return dict(reply.json())

    def upload(
        self, key: str, event_id: str, data: bytes, kind: str = "clip", sha: str | None = None
    ) -> Any:
        return self.client.put(
            f"/api/v1/ingest/events/{event_id}/{kind}",
            content=data,
            headers={**bearer(key), "X-Content-SHA256": sha or sha256_of(data)},
        )


# --- multi-factor sign-in -----------------------------------------------------------
# Police, auditor and admin accounts sign in with a TOTP code. Tests give them a secret
# with enrol_totp (what `doorstep user add --totp-secret` does) and every sign-in helper
# here computes the code with doorstep.hub.totp.current_code, the hub's own helper.

TOTP_SECRETS: dict[str, str] = {}  # email -> secret of the accounts this test process enrolled
_LAST_STEP: dict[str, int] = {}  # secret -> time step of the last code handed out


def remember_totp(email: str, secret: str) -> str:
    TOTP_SECRETS[normalise_email(email)] = secret
    return secret


def enrol_totp(hub: Hub, email: str) -> str:
    """Give an account an authenticator secret and remember it for the sign-in helpers."""
    with session_scope(hub.sessions) as session:
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        assert user is not None, email
        secret = totp.new_secret()
        mfa.set_secret(session, user, secret, utcnow())
    return remember_totp(email, secret)


def totp_code(secret: str) -> str:
    """A code for ``secret`` the hub has not seen used (it refuses a replayed time step).

    The first is the code of now; another sign-in of the same account within the same
    30 s gets the next step's (the hub allows one step of clock drift); a third waits
    for the clock. Page helpers reuse a session instead of signing in again.
    """
    step = max(totp.step_of(), _LAST_STEP.get(secret, -1) + 1)
    while step > totp.step_of() + totp.DRIFT_STEPS:
        time.sleep(0.2)
    _LAST_STEP[secret] = step
    return totp.current_code(secret, at=step * totp.STEP_SECONDS)


_PAGE_SESSIONS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def page_sign_in(client: Any, email: str, password: str = "correct horse battery") -> Any:
    """Sign in through the login page (with a code where the account has a secret).

    The client's current session is set aside, not signed out: coming back to an
    account with a secret reuses its session while it lives, as a person with a browser
    each would, rather than typing a code the hub saw a moment ago.
    """
    kept = _PAGE_SESSIONS.setdefault(client, {})
    client.cookies.delete(SESSION_COOKIE)
    email = normalise_email(email)
    secret = TOTP_SECRETS.get(email)
    token = kept.get(email)
    if secret and token and client.get("/api/v1/auth/me", headers=bearer(token)).is_success:
        client.cookies.set(SESSION_COOKIE, token)
        return None
    data = {"csrf_token": page_csrf(client), "email": email, "password": password}
    if secret:
        data["totp_code"] = totp_code(secret)
    reply = client.post("/login", data=data, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    kept[email] = client.cookies.get(SESSION_COOKIE)
    return reply


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def page_csrf(client: TestClient) -> str:
    """The CSRF token a page gives this client now (it is bound to the session cookie)."""
    page = client.get("/login")
    return page.text.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
