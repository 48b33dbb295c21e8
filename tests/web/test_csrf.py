"""The CSRF token is bound to the session: a pair the attacker picks, or another session's
token, is refused; the CSRF cookie is Secure in production like the session cookie."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doorstep.app import create_app
from doorstep.config import Settings
from tests.hub_fixtures import PRODUCTION, page_csrf
from tests.web.test_pages import web_signup

CAMERA = {"name": "Front", "latitude": "51.5", "longitude": "-0.1"}


def settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'hub.db'}",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path))) as client:
        yield client


def test_a_matching_cookie_and_field_of_the_attackers_choosing_is_refused(
    app: TestClient,
) -> None:
    web_signup(app, "ann@example.org")
    app.cookies.set("doorstep_csrf", "x")
    forged = app.post("/cameras", data={"csrf_token": "x", **CAMERA})
    assert forged.status_code == 403
    by_header = app.post(
        "/cameras/00000000-0000-0000-0000-000000000000/zones",
        json={"zones": []},
        headers={"X-CSRF-Token": "x"},
    )
    assert by_header.status_code == 403
    assert app.post("/cameras", data={"csrf_token": page_csrf(app), **CAMERA}).status_code == 201


def test_a_token_from_another_session_is_refused(app: TestClient, tmp_path: Path) -> None:
    web_signup(app, "ann@example.org")
    anns_token = page_csrf(app)
    anns_cookie = app.cookies.get("doorstep_csrf")
    with TestClient(app.app) as bob:
        web_signup(bob, "bob@example.org")
        assert page_csrf(bob) != anns_token
        bob.cookies.set("doorstep_csrf", str(anns_cookie))  # even with Ann's cookie too
        assert bob.post("/cameras", data={"csrf_token": anns_token, **CAMERA}).status_code == 403
        assert bob.post("/logout", data={"csrf_token": anns_token}).status_code == 403
        assert (
            bob.post("/cameras", data={"csrf_token": page_csrf(bob), **CAMERA}).status_code == 201
        )


def test_signing_in_changes_the_token_and_the_old_one_stops_working(app: TestClient) -> None:
    before = page_csrf(app)  # the sign-up form's token, bound to the pre-session id
    web_signup(app, "ann@example.org")
    after = page_csrf(app)
    assert after != before
    assert app.post("/cameras", data={"csrf_token": before, **CAMERA}).status_code == 403
    assert app.post("/cameras", data={"csrf_token": after, **CAMERA}).status_code == 201


def test_the_csrf_cookie_is_secure_in_production(tmp_path: Path) -> None:
    prod = settings(tmp_path, **PRODUCTION)
    with TestClient(create_app(prod), base_url="https://testserver") as client:
        cookie = client.get("/login").headers["set-cookie"]
    assert cookie.startswith("doorstep_csrf=") and "secure" in cookie.lower()
    assert "httponly" in cookie.lower()
