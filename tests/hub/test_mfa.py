"""Multi-factor authentication and sessions through the API (issue 12, item 9).

Police, auditor and admin accounts enrol a TOTP app before anything else; then every
sign-in needs a code (or a single-use recovery code); wrong codes are throttled in the
database; a user lists and ends their own sessions. Codes come from
doorstep.hub.totp.current_code, the helper every test and benchmark uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from doorstep.app import create_app
from doorstep.cli.main import cli
from doorstep.config import Settings
from doorstep.hub import totp
from doorstep.hub.context import Hub
from doorstep.hub.db import make_engine, session_scope, utcnow
from doorstep.hub.migrate import upgrade
from doorstep.hub.models import Role
from doorstep.hub.models_mfa import TotpCredential
from doorstep.hub.models_requests import AuditRow
from doorstep.hub.services import mfa
from doorstep.hub.services.accounts import create_user
from tests.hub_fixtures import Api, bearer
from tests.web.test_security_headers import fill, walk

PASSWORD = "correct horse battery"
ENROL_ONLY = {
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/auth/mfa"),
    ("POST", "/api/v1/auth/mfa/enrol"),
    ("POST", "/api/v1/auth/mfa/confirm"),
}


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[TestClient]:
    """One hub on SQLite, for behaviour where the database does not matter."""
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/h.db")
    with TestClient(create_app(settings)) as client:
        yield client


def hub_of(client: TestClient) -> Hub:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    return hub


def add(client: TestClient, email: str, role: Role = Role.officer) -> None:
    with session_scope(hub_of(client).sessions) as session:
        agency = "City PD" if role in (Role.officer, Role.supervisor) else None
        create_user(
            session, email=email, password=PASSWORD, name="x", role=role, agency_name=agency
        )


def token_reply(client: TestClient, email: str, code: str | None = None) -> object:
    data = {"username": email, "password": PASSWORD}
    if code is not None:
        data["totp_code"] = code
    return client.post("/api/v1/auth/token", data=data)


def password_only_token(client: TestClient, email: str) -> str:
    reply = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def actions(client: TestClient) -> list[str]:
    with session_scope(hub_of(client).sessions) as session:
        return list(session.scalars(select(AuditRow.action).order_by(AuditRow.seq)))


def enrol(client: TestClient, token: str) -> tuple[str, list[str]]:
    """Enrol through the API as a person would: start, 'scan', type the code."""
    started = client.post("/api/v1/auth/mfa/enrol", headers=bearer(token))
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Doorstep:")
    confirmed = client.post(
        "/api/v1/auth/mfa/confirm", json={"code": totp.current_code(secret)}, headers=bearer(token)
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


def test_enrol_then_sign_in_with_and_without_the_code(client: TestClient) -> None:
    add(client, "cop@pd.example")
    token = password_only_token(client, "cop@pd.example")
    refused = client.get("/api/v1/requests", headers=bearer(token))
    assert refused.status_code == 403
    assert "enrolment required" in refused.json()["detail"]
    assert "/api/v1/auth/mfa/enrol" in refused.json()["detail"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).json()["role"] == "officer"
    status = client.get("/api/v1/auth/mfa", headers=bearer(token)).json()
    assert status == {"enrolled": False, "required": True, "recovery_codes_left": 0}

    started = client.post("/api/v1/auth/mfa/enrol", headers=bearer(token)).json()
    again = client.post("/api/v1/auth/mfa/enrol", headers=bearer(token)).json()
    assert again["secret"] == started["secret"]  # one secret until confirmed
    wrong = client.post("/api/v1/auth/mfa/confirm", json={"code": "000000"}, headers=bearer(token))
    right_code = totp.current_code(started["secret"])
    if right_code == "000000":  # one chance in a million
        right_code = totp.current_code(started["secret"], at=utcnow() + timedelta(seconds=30))
    assert wrong.status_code == 422 and wrong.json()["field"] == "code"
    confirmed = client.post(
        "/api/v1/auth/mfa/confirm", json={"code": right_code}, headers=bearer(token)
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/api/v1/requests", headers=bearer(token)).status_code == 200  # now full
    assert client.post("/api/v1/auth/mfa/enrol", headers=bearer(token)).status_code == 409

    without = token_reply(client, "cop@pd.example")
    assert without.status_code == 401 and without.json()["field"] == "totp_code"  # type: ignore[attr-defined]
    replayed = token_reply(client, "cop@pd.example", right_code)  # the code just used
    assert replayed.status_code == 401  # type: ignore[attr-defined]
    next_code = totp.current_code(started["secret"], at=utcnow() + timedelta(seconds=30))
    signed_in = token_reply(client, "cop@pd.example", next_code)
    assert signed_in.status_code == 200, signed_in.text  # type: ignore[attr-defined]
    full = signed_in.json()["access_token"]  # type: ignore[attr-defined]
    assert client.get("/api/v1/requests", headers=bearer(full)).status_code == 200
    assert token_reply(client, "cop@pd.example", next_code).status_code == 401  # type: ignore[attr-defined]
    logged = actions(client)
    assert logged.count("mfa.enrol") == 1 and logged.count("login.mfa_failure") == 3


def test_a_recovery_code_signs_in_once(sqlite_client: TestClient) -> None:
    client = sqlite_client
    add(client, "audit@gov.example", Role.auditor)
    _secret, codes = enrol(client, password_only_token(client, "audit@gov.example"))
    first = token_reply(client, "audit@gov.example", codes[3].upper())  # typed in capitals
    assert first.status_code == 200, first.text  # type: ignore[attr-defined]
    token = first.json()["access_token"]  # type: ignore[attr-defined]
    assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/auth/mfa", headers=bearer(token)).json()["recovery_codes_left"] == 9
    second = token_reply(client, "audit@gov.example", codes[3])
    assert second.status_code == 401  # type: ignore[attr-defined]
    assert token_reply(client, "audit@gov.example", codes[4]).status_code == 200  # type: ignore[attr-defined]
    logged = actions(client)
    assert logged.count("mfa.recovery_used") == 2 and logged.count("login.mfa_failure") == 1


def test_wrong_codes_are_throttled_per_account_in_the_database(
    sqlite_client: TestClient, tmp_path: Path
) -> None:
    client = sqlite_client
    add(client, "cop@pd.example")
    secret, _ = enrol(client, password_only_token(client, "cop@pd.example"))
    wrong = "999999" if totp.current_code(secret) != "999999" else "999998"
    replies = [token_reply(client, "cop@pd.example", wrong) for _ in range(mfa.FREE_FAILURES)]
    assert [r.status_code for r in replies] == [401] * mfa.FREE_FAILURES  # type: ignore[attr-defined]
    blocked = token_reply(client, "cop@pd.example", wrong)
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    body = blocked.json()  # type: ignore[attr-defined]
    assert 0 < body["retry_after"] <= mfa.FIRST_DELAY_SECONDS
    assert blocked.headers["Retry-After"] == str(body["retry_after"])  # type: ignore[attr-defined]
    right = totp.current_code(secret, at=utcnow() + timedelta(seconds=30))
    assert token_reply(client, "cop@pd.example", right).status_code == 429  # type: ignore[attr-defined]

    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/h.db")
    with TestClient(create_app(settings)) as restarted:  # a restart forgets nothing
        assert token_reply(restarted, "cop@pd.example", right).status_code == 429  # type: ignore[attr-defined]
        with session_scope(hub_of(restarted).sessions) as session:
            row = session.scalars(select(TotpCredential)).one()
            assert row.failures == mfa.FREE_FAILURES
            row.blocked_until = utcnow() - timedelta(seconds=1)  # the wait is over
        assert token_reply(restarted, "cop@pd.example", wrong).status_code == 401  # type: ignore[attr-defined]
        with session_scope(hub_of(restarted).sessions) as session:
            row = session.scalars(select(TotpCredential)).one()
            grown = (row.blocked_until - utcnow()).total_seconds()  # type: ignore[operator]
            assert mfa.FIRST_DELAY_SECONDS < grown <= 2 * mfa.FIRST_DELAY_SECONDS  # it doubled
            row.blocked_until = None
        assert token_reply(restarted, "cop@pd.example", right).status_code == 200  # type: ignore[attr-defined]
        with session_scope(hub_of(restarted).sessions) as session:
            assert session.scalars(select(TotpCredential)).one().failures == 0
    assert [mfa.delay_after(n) for n in (4, 5, 6, 7, 30)] == [0, 30, 60, 120, 3600]


def test_a_password_alone_reaches_nothing_but_enrolment(sqlite_client: TestClient) -> None:
    """Every API route: an enrolment-only token gets 403 naming the enrolment route, or
    exactly what a caller with no token gets (public routes); camera-key routes refuse it."""
    client = sqlite_client
    add(client, "sarge@pd.example", Role.supervisor)
    token = password_only_token(client, "sarge@pd.example")
    walked = 0
    for method, route_path in walk(client.app):  # type: ignore[arg-type]
        if not route_path.startswith("/api/") or (method, route_path) == (
            "POST",
            "/api/v1/auth/logout",
        ):
            continue  # logout is allowed: walked last, since it ends the session
        path = fill(route_path)
        kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        mine = client.request(method, path, headers=bearer(token), **kwargs)
        walked += 1
        if (method, route_path) in ENROL_ONLY:
            assert mine.status_code in (200, 422), (method, path, mine.text)  # {} is no code
            continue
        if route_path.startswith("/api/v1/ingest/"):  # camera-key routes: no user gets in
            assert mine.status_code in (401, 422), (method, path, mine.text)
            continue
        anonymous = client.request(method, path, **kwargs)
        enrolment = mine.status_code == 403 and "enrolment required" in mine.text
        assert enrolment or mine.status_code == anonymous.status_code, (method, path, mine.text)
        if anonymous.status_code == 401:
            assert enrolment, (method, path, mine.text)  # a user route: refused, named
    assert walked > 40
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_sessions_are_listed_and_only_your_own_revoked(client: TestClient, api: Api) -> None:
    first = api.signup("ann@example.org")
    second = api.login("ann@example.org")
    bob = api.signup("bob@example.org")
    listed = client.get("/api/v1/auth/sessions", headers=bearer(first)).json()
    assert len(listed) == 2 and [s["current"] for s in listed].count(True) == 1
    assert all(s["client"] == "testclient" and s["last_used_at"] for s in listed)
    other = next(s for s in listed if not s["current"])
    bobs = client.get("/api/v1/auth/sessions", headers=bearer(bob)).json()
    assert len(bobs) == 1
    stolen = client.delete(f"/api/v1/auth/sessions/{bobs[0]['id']}", headers=bearer(first))
    assert stolen.status_code == 404
    assert client.get("/api/v1/auth/me", headers=bearer(bob)).status_code == 200
    ended = client.delete(f"/api/v1/auth/sessions/{other['id']}", headers=bearer(first))
    assert ended.status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(second)).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(first)).status_code == 200
    assert actions(client).count("session.revoke") == 1


def test_owners_are_unaffected_unless_the_deployment_says_so(
    sqlite_client: TestClient, tmp_path: Path
) -> None:
    api = Api(sqlite_client)
    owner = api.signup("ann@example.org")
    assert sqlite_client.get("/api/v1/cameras", headers=bearer(owner)).status_code == 200
    status = sqlite_client.get("/api/v1/auth/mfa", headers=bearer(owner)).json()
    assert status["required"] is False

    settings = Settings(
        data_dir=tmp_path / "strict",
        database_url=f"sqlite:///{tmp_path}/strict.db",
        mfa_required_roles="owner,officer,supervisor,auditor,admin",
    )
    with TestClient(create_app(settings)) as strict:
        token = Api(strict).signup("ann@example.org")
        refused = strict.get("/api/v1/cameras", headers=bearer(token))
        assert refused.status_code == 403 and "enrolment required" in refused.json()["detail"]


def test_cli_sets_a_secret_and_prints_codes(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["user", "add", "cop@pd.example", "--role", "officer", "--agency", "City PD"]
        + ["--password-stdin", "--new-totp-secret", "--data-dir", data],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    secret = added.output.split("TOTP secret: ", 1)[1].split()[0]
    code = runner.invoke(cli, ["user", "totp-code", "--secret", secret])
    assert code.exit_code == 0 and code.output.strip() == totp.current_code(secret)
    bad = runner.invoke(cli, ["user", "totp-code", "--secret", "not-base32!"])
    assert bad.exit_code == 2 and "base32" in bad.output
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:
        assert token_reply(client, "cop@pd.example").status_code == 401  # type: ignore[attr-defined]
        reply = token_reply(client, "cop@pd.example", totp.current_code(secret))
        assert reply.status_code == 200, reply.text  # type: ignore[attr-defined]


def test_migration_names_existing_sessions_and_restricts_police_ones(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine, "0004")
    with engine.begin() as conn:
        for user_id, role in (("u-owner", "owner"), ("u-cop", "officer")):
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, is_active, "
                    "opt_out_requests, created_at) VALUES (:id, :email, 'x', 'h', :role, "
                    "1, 0, '2026-01-01 00:00:00')"
                ),
                {"id": user_id, "email": f"{role}@example.org", "role": role},
            )
            for n in range(2):
                conn.execute(
                    text(
                        "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) "
                        "VALUES (:h, :u, '2026-01-01 00:00:00', '2999-01-01 00:00:00')"
                    ),
                    {"h": f"{role}{n}", "u": user_id},
                )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.id, u.role, t.enrolment_only FROM api_tokens t "
                "JOIN users u ON u.id = t.user_id"
            )
        ).all()
    engine.dispose()
    assert len({r[0] for r in rows}) == 4 and all(len(r[0]) == 36 for r in rows)
    assert {(r[1], bool(r[2])) for r in rows} == {("owner", False), ("officer", True)}
