"""Bad values in a page's address get the page's own HTML error view, not the API's JSON
(issue 14, item 12); the favicon is served (item 13).

The walk finds every page route (GET, not /api) with a typed query or path parameter in
the app itself, so a page added later is walked without editing this file.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from annotated_types import Ge, Le
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from doorstep.hub.db import session_scope
from doorstep.hub.models import Role
from doorstep.hub.services.accounts import create_user
from tests.hub_fixtures import enrol_totp, page_sign_in, sqlite_hub

PASSWORD = "correct horse battery"
STAFF = {
    "officer": ("officer@example.org", Role.officer, "Harbourside Police"),
    "supervisor": ("supervisor@example.org", Role.supervisor, "Harbourside Police"),
    "auditor": ("auditor@example.org", Role.auditor, None),
    "admin": ("admin@example.org", Role.admin, None),
}
OWNER = "ann@example.org"
# Who may open a page, by the start of its path (first match); everyone else's are the owner's.
ROLE_BY_PREFIX = [
    ("/officer/approvals", "supervisor"),
    ("/officer", "officer"),
    ("/audit", "auditor"),
    ("/auditor", "auditor"),
    ("/admin", "admin"),
]
UNTYPED = {str, str | None}


@dataclass(frozen=True)
class BadValue:
    path: str  # the route's path template
    name: str
    where: str  # "query" or "path"
    value: str


def _params(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    for param in dependant.query_params:
        yield "query", param
    for param in dependant.path_params:
        yield "path", param
    for sub in dependant.dependencies:
        yield from _params(sub)


def _bad_values(field_info: Any) -> list[str]:
    """A value of the wrong type, and one past each bound the parameter declares."""
    values = ["abc"]
    for rule in field_info.metadata:
        if isinstance(rule, Ge):
            values.append(str(int(rule.ge) - 5))
        if isinstance(rule, Le):
            values.append(str(int(rule.le) + 1))
    return values


def bad_values(app: FastAPI) -> list[BadValue]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        if (
            not isinstance(route, APIRoute)
            or path.startswith("/api/")
            or "GET" not in route.methods
        ):
            continue
        for where, param in _params(route.dependant):
            if param.field_info.annotation in UNTYPED:
                continue
            for value in _bad_values(param.field_info):
                found.append(BadValue(path, param.alias, where, value))
    return found


def role_for(path: str) -> str:
    return next((role for prefix, role in ROLE_BY_PREFIX if path.startswith(prefix)), "owner")


def address(bad: BadValue) -> str:
    """The route's path with ``bad`` in its place, other path parameters filled in."""
    filled = re.sub(
        r"{([^}:]+)(:[^}]+)?}",
        lambda m: (
            bad.value
            if (bad.where, m.group(1)) == ("path", bad.name)
            else (str(uuid.uuid4()) if m.group(1).endswith("_id") else "1")
        ),
        bad.path,
    )
    return f"{filled}?{bad.name}={bad.value}" if bad.where == "query" else filled


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sqlite_hub(tmp_path_factory.mktemp("page-errors")) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with session_scope(hub.sessions) as session:
            create_user(session, email=OWNER, password=PASSWORD, name="Ann")
            for email, role, agency in STAFF.values():
                create_user(
                    session, email=email, password=PASSWORD, name=role.value, role=role,
                    agency_name=agency,
                )  # fmt: skip
        for email, _role, _agency in STAFF.values():
            enrol_totp(hub, email)
        yield client


def sign_in_as(web: TestClient, role: str) -> str:
    email = OWNER if role == "owner" else STAFF[role][0]
    page_sign_in(web, email, PASSWORD)
    return email


def test_the_walk_finds_the_typed_page_parameters(web: TestClient) -> None:
    found = {(b.path, b.name, b.value) for b in bad_values(web.app)}  # type: ignore[arg-type]
    assert ("/timeline", "page", "abc") in found
    assert ("/audit", "after_seq", "-5") in found
    assert ("/receipts/{seq}", "seq", "abc") in found


def test_every_bad_address_value_gets_the_html_error_page(web: TestClient) -> None:
    for bad in sorted(bad_values(web.app), key=lambda b: role_for(b.path)):  # type: ignore[arg-type]
        email = sign_in_as(web, role_for(bad.path))
        url = address(bad)
        reply = web.get(url, follow_redirects=False)
        assert reply.status_code == 422, (url, reply.status_code, reply.text[:300])
        assert reply.headers["content-type"].startswith("text/html"), url
        html = reply.text
        assert "<h1>This address has a value the page cannot use</h1>" in html, url
        problems = html.split('id="problems"', 1)[1].split("</ul>", 1)[0]
        assert f"<code>{bad.name}</code> = <code>{bad.value}</code>" in problems, (url, problems)
        # The same layout as every page: the header names who is signed in, and the footer.
        assert 'class="top"' in html and email in html and 'class="foot"' in html, url
        assert "Traceback" not in html and '"detail"' not in html, url

        as_json = web.get(url, headers={"Accept": "application/json"}, follow_redirects=False)
        assert as_json.status_code == 422 and as_json.json()["field"] == bad.name, url


def test_the_error_page_offers_the_page_without_the_bad_values(web: TestClient) -> None:
    sign_in_as(web, "auditor")
    reply = web.get("/audit?after_seq=-5&action=request.share")
    assert reply.status_code == 422
    assert 'href="/audit" id="retry"' in reply.text
    assert "“after_seq”" in reply.text
    assert web.get("/audit").status_code == 200


def test_the_api_still_answers_bad_values_in_json(web: TestClient) -> None:
    sign_in_as(web, "auditor")
    reply = web.get("/api/v1/audit?limit=abc", headers={"Accept": "text/html"})
    assert reply.status_code in (401, 422)  # the API takes bearer tokens, not the cookie
    assert reply.headers["content-type"] == "application/json"
    token = web.post("/api/v1/auth/token", data={"username": OWNER, "password": PASSWORD}).json()[
        "access_token"
    ]
    reply = web.get(
        "/api/v1/events?limit=abc",
        headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
    )
    assert reply.status_code == 422 and reply.json()["field"] == "limit"


def test_signed_out_a_bad_value_still_asks_to_sign_in_first(web: TestClient) -> None:
    web.cookies.clear()  # signed out (the sessions page_sign_in keeps stay valid)
    reply = web.get("/timeline?page=abc", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"].startswith("/login?next=")


def test_favicon_is_served(web: TestClient) -> None:
    reply = web.get("/favicon.ico")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/x-icon"
    body = reply.content
    assert body[:4] == b"\x00\x00\x01\x00"  # ICONDIR: reserved 0, type 1 (icon)
    count = int.from_bytes(body[4:6], "little")
    sizes = {body[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32, 48} <= sizes
    icon = Path(__file__).resolve().parents[2] / "doorstep/web/static/icons/favicon.ico"
    assert body == icon.read_bytes()


def test_a_mistyped_address_gets_a_page_in_a_browser_and_json_elsewhere(tmp_path: Path) -> None:
    with sqlite_hub(tmp_path) as client:
        page = client.get("/nope", headers={"Accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "Not found" in page.text
        api = client.get("/api/v1/nope", headers={"Accept": "text/html"})
        assert api.status_code == 404 and api.json()["detail"] == "nothing is at this address"
        assert client.get("/nope").json()["detail"] == "nothing is at this address"
