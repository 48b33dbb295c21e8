"""Every route of the app, signed out and signed in, answers with the security headers.

The walk reads the app's own routes, so a route added later is checked without
editing this file; path parameters get dummy ids (404, 401, 422 or a redirect), because
the headers must be on errors and redirects as much as on pages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.hub.security_headers import tile_origin
from tests.hub_fixtures import PRODUCTION, Api, page_csrf

PASSWORD = "correct horse battery"

# An endless event stream: signed in, the test client would wait for its end forever
# (signed out it redirects to sign-in and is checked).
SKIP_SIGNED_IN = {"/live/stream"}
COMMON = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def walk(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) for every route, included routers flattened."""
    stack = list(app.routes)
    while stack:
        route = stack.pop(0)
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            stack[:0] = list(contexts())
            continue
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or {"GET"}
        for method in sorted(methods - {"HEAD"}):
            yield method, path


def fill(path: str) -> str:
    return re.sub(
        r"{([^}:]+)(:[^}]+)?}",
        lambda m: "1" if m.group(1) in ("seq", "index") else str(uuid.uuid4()),
        path,
    )


def check(reply, *, signed_in: bool, production: bool) -> None:  # type: ignore[no-untyped-def]
    where = f"{reply.request.method} {reply.request.url.path} -> {reply.status_code}"
    for name, value in COMMON.items():
        assert reply.headers.get(name) == value, (where, name)
    csp = reply.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, where
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0], where
    assert "camera=()" in reply.headers.get("permissions-policy", ""), where
    assert "microphone=()" in reply.headers["permissions-policy"], where
    assert "geolocation=()" in reply.headers["permissions-policy"], where
    assert ("strict-transport-security" in reply.headers) is production, where
    is_page = reply.headers.get("content-type", "").startswith("text/html")
    if signed_in and is_page:
        assert reply.headers.get("cache-control") == "no-store", where


def settings_for(tmp_path: Path, production: bool) -> Settings:
    extra = PRODUCTION if production else {}
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'hub.db'}",
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_every_route_has_the_security_headers(tmp_path: Path, production: bool) -> None:
    app = create_app(settings_for(tmp_path, production))
    routes = list(walk(app))
    paths = {path for _, path in routes}
    assert {"/docs", "/login", "/cameras/{camera_id}", "/static"} <= paths
    assert any(p.startswith("/api/v1/") and "{" in p for p in paths)
    with TestClient(app, base_url="https://testserver") as client:
        api = Api(client)
        token = api.signup("ann@example.org")
        for signed_in in (False, True):
            client.cookies.clear()
            headers = {}
            if signed_in:
                client.cookies.set("doorstep_session", token)
                headers = {"Authorization": f"Bearer {token}"}
            for method, path in routes:
                if signed_in and path in SKIP_SIGNED_IN:
                    continue
                if path == "/static":
                    for url in ("/static/css/doorstep.css", "/static/missing.js"):
                        check(client.get(url), signed_in=signed_in, production=production)
                    continue
                reply = client.request(method, fill(path), headers=headers, follow_redirects=False)
                check(reply, signed_in=signed_in, production=production)
        # The pages a signed-in user sees are not kept by the browser's cache.
        page = client.get("/cameras")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert client.get("/nowhere").status_code == 404


def test_sign_in_reply_is_not_cached_and_static_files_are(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, False))) as client:
        Api(client).signup("ann@example.org")
        token = page_csrf(client)
        reply = client.post(
            "/login",
            data={"csrf_token": token, "email": "ann@example.org", "password": PASSWORD},
            follow_redirects=False,
        )
        assert reply.status_code == 303
        assert reply.headers["cache-control"] == "no-store"
        assert "cache-control" not in client.get("/static/css/doorstep.css").headers


def test_a_server_error_has_the_headers(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, False))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        reply = client.get("/boom")
    assert reply.status_code == 500
    check(reply, signed_in=False, production=False)


def test_docs_get_their_own_policy_and_pages_allow_the_tile_origin(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, False))) as client:
        docs = client.get("/docs")
        page = client.get("/login")
    docs_csp = docs.headers["content-security-policy"]
    script_src = docs_csp.split("script-src ", 1)[1].split(";")[0].split()
    assert "https://cdn.jsdelivr.net" in script_src and "'unsafe-inline'" not in script_src
    assert any(s.startswith("'sha256-") for s in script_src)
    site = page.headers["content-security-policy"]
    assert "cdn.jsdelivr.net" not in site and "script-src 'self';" in site
    assert "https://tile.openstreetmap.org" in site.split("img-src", 1)[1].split(";")[0]
    assert tile_origin("https://{s}.tile.example/{z}/{x}/{y}.png") == "https://*.tile.example"
    assert tile_origin("") is None
