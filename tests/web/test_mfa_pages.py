"""Multi-factor enrolment, sign-in with a code and sessions, through the pages (issue 12,
item 9). The API side is tests/hub/test_mfa.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.hub import totp
from doorstep.hub.db import session_scope
from doorstep.hub.models import Role
from doorstep.hub.services.accounts import create_user
from tests.hub_fixtures import page_csrf
from tests.web.test_security_headers import fill, walk

PASSWORD = "correct horse battery"
ENROL = "/account/mfa"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/h.db")
    with TestClient(create_app(settings)) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with session_scope(hub.sessions) as session:
            create_user(
                session,
                email="cop@pd.example",
                password=PASSWORD,
                name="Cop",
                role=Role.officer,
                agency_name="City PD",
            )
        yield client


def sign_in(web: TestClient, code: str | None = None) -> object:
    data = {"csrf_token": page_csrf(web), "email": "cop@pd.example", "password": PASSWORD}
    if code is not None:
        data["totp_code"] = code
    return web.post("/login", data=data, follow_redirects=False)


def test_an_officer_enrols_from_the_page_then_signs_in_with_a_code(web: TestClient) -> None:
    first = sign_in(web)
    assert first.status_code == 303 and first.headers["location"] == ENROL  # type: ignore[attr-defined]
    assert web.get("/officer/requests", follow_redirects=False).headers["location"] == ENROL
    page = web.get(ENROL)
    assert page.status_code == 200
    assert re.search(r'<img src="data:image/svg\+xml[^"]+" alt="QR code', page.text)
    assert " style=" not in page.text and "<script>" not in page.text  # strict CSP
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", page.text).group(1)  # type: ignore[union-attr]

    wrong = web.post(ENROL, data={"csrf_token": page_csrf(web), "code": "12"})
    assert wrong.status_code == 422 and "does not match" in wrong.text
    done = web.post(ENROL, data={"csrf_token": page_csrf(web), "code": totp.current_code(secret)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", done.text)
    assert len(codes) == 10
    assert web.get("/officer/requests").status_code == 200  # this session is a full one now

    web.cookies.clear()
    without = sign_in(web)
    assert without.status_code == 401 and "authenticator" in without.text  # type: ignore[attr-defined]
    with_code = sign_in(web, codes[0])
    assert with_code.headers["location"] == "/officer/requests"  # type: ignore[attr-defined]
    assert (
        web.get(ENROL).status_code == 200
        and "Recovery codes left: <strong>9" in web.get(ENROL).text
    )


def test_a_password_alone_opens_no_other_page(web: TestClient) -> None:
    sign_in(web)
    csrf = page_csrf(web)
    walked = 0
    for method, path in walk(web.app):  # type: ignore[arg-type]
        if path.startswith(("/api/", "/docs", "/openapi", "/redoc", "/static")):
            continue
        if path in ("/manifest.webmanifest", "/sw.js", "/favicon.ico"):
            continue  # the installable app's files: public, like /static, and hold no data
        if path == ENROL or (method, path) == ("POST", "/logout"):
            continue
        if (method, path) in (("POST", "/login"), ("POST", "/signup")):
            continue  # forms of the signed out: they read no session
        reply = web.request(
            method,
            fill(path),
            data={"csrf_token": csrf} if method == "POST" else None,
            headers={"X-CSRF-Token": csrf},  # as the pages' scripts send it
            follow_redirects=False,
        )
        walked += 1
        assert reply.status_code == 303, (method, path, reply.status_code)
        assert reply.headers["location"] == ENROL, (method, path)
    assert walked > 20
    assert web.get(ENROL).status_code == 200
    out = web.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert web.get(ENROL, follow_redirects=False).headers["location"].startswith("/login")


def test_the_sessions_page_lists_and_ends_sessions(web: TestClient) -> None:
    from tests.hub_fixtures import Api

    Api(web).signup("ann@example.org")  # an API session
    page_csrf(web)
    web.post(
        "/login",
        data={"csrf_token": page_csrf(web), "email": "ann@example.org", "password": PASSWORD},
    )
    page = web.get("/account/sessions")
    assert page.status_code == 200 and page.text.count("<tr>") == 3  # head + 2 sessions
    assert "this session" in page.text
    other = re.search(r'action="/account/sessions/([0-9a-f-]{36})/revoke"', page.text).group(1)  # type: ignore[union-attr]
    ended = web.post(
        f"/account/sessions/{other}/revoke",
        data={"csrf_token": page_csrf(web)},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert web.get("/account/sessions").text.count("<tr>") == 2
