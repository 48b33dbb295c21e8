"""One path per state change: the API and the pages write the same audit rows and state.

Issue 10 B: every state change is one service function that the API route and the web
view both call. Each row of the table drives one change once through the API (subject
A) and once through the page (subject B, a second but equal subject), asserts exactly
the audit actions it names for each, and that both subjects end in the same stored
state. Runs on SQLite and PostgreSQL (the ``world`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import ApiToken, Camera, User
from doorstep.hub.models_requests import AuditRow, PoliceRequest, RequestClip, RequestRecipient
from doorstep.hub.services import accounts
from tests.hub_fixtures import bearer, page_csrf, page_sign_in
from tests.requests.conftest import PASSWORD, World, hub_of

Subject = dict[str, Any]
Prepare = Callable[[World, TestClient], tuple[Subject, Subject]]
Act = Callable[[World, TestClient, Subject], httpx.Response]
State = Callable[[World, Subject], dict[str, Any]]


@dataclass(frozen=True)
class Change:
    name: str
    actions: tuple[str, ...]
    prepare: Prepare
    via_api: Act
    via_page: Act
    state: State


# --- reading the hub ---------------------------------------------------------------


def _db(world: World) -> Any:
    return session_scope(hub_of(world.client).sessions)


def _head(world: World) -> int:
    with _db(world) as session:
        return int(session.scalar(select(func.max(AuditRow.seq))) or 0)


def _actions_since(world: World, seq: int) -> tuple[str, ...]:
    with _db(world) as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.seq > seq).order_by(AuditRow.seq))
        return tuple(row.action for row in rows)


def _user_id(world: World, email: str) -> str:
    with _db(world) as session:
        return str(session.scalar(select(User.id).where(User.email == email)))


def _live_tokens(world: World, email: str) -> int:
    with _db(world) as session:
        query = select(func.count()).where(
            ApiToken.user_id == _user_id(world, email), ApiToken.expires_at > utcnow()
        )
        return int(session.scalar(query) or 0)


# --- the page side -------------------------------------------------------------------


def _csrf(web: TestClient) -> str:
    return page_csrf(web)


def _page_sign_in(web: TestClient, email: str) -> None:
    page_sign_in(web, email, PASSWORD)


def _post(web: TestClient, path: str, **fields: Any) -> httpx.Response:
    return web.post(path, data={"csrf_token": _csrf(web), **fields}, follow_redirects=False)


# --- subjects ------------------------------------------------------------------------


def _two_owners(world: World, web: TestClient, *, signed_in: bool = True) -> tuple[Subject, ...]:
    ann = world.owner("ann", east_m=20, events_in_window=2)
    bob = world.owner("bob", east_m=-20, events_in_window=2)
    if signed_in:
        _page_sign_in(web, bob.email)
    return (
        {"email": ann.email, "token": ann.token, "camera": ann.cameras[0], "events": ann.events},
        {"email": bob.email, "token": bob.token, "camera": bob.cameras[0], "events": bob.events},
    )


def owners(world: World, web: TestClient) -> tuple[Subject, Subject]:
    a, b = _two_owners(world, web)
    return a, b


def owners_signed_out(world: World, web: TestClient) -> tuple[Subject, Subject]:
    a, b = _two_owners(world, web, signed_in=False)
    return a, b


def owners_opted_out(world: World, web: TestClient) -> tuple[Subject, Subject]:
    a, b = _two_owners(world, web)
    hub = hub_of(world.client)
    with _db(world) as session:
        for subject in (a, b):
            user = session.scalar(select(User).where(User.email == subject["email"]))
            assert user is not None
            accounts.set_opt_out(hub, session, user, True, utcnow())
    return a, b


def cameras_opted_out(world: World, web: TestClient) -> tuple[Subject, Subject]:
    a, b = _two_owners(world, web)
    for subject in (a, b):
        reply = world.client.patch(
            f"/api/v1/cameras/{subject['camera']['id']}",
            json={"opt_out_requests": True},
            headers=bearer(subject["token"]),
        )
        assert reply.status_code == 200, reply.text
    return a, b


def asked(world: World, web: TestClient) -> tuple[Subject, Subject]:
    """Ann and Bob are both asked by one request."""
    a, b = _two_owners(world, web)
    rid = world.request().json()["id"]
    return {**a, "request": rid}, {**b, "request": rid}


def shared(world: World, web: TestClient) -> tuple[Subject, Subject]:
    a, b = asked(world, web)
    for subject in (a, b):
        reply = world.client.post(
            f"/api/v1/inbox/{subject['request']}/decision",
            json={"action": "share_all"},
            headers=bearer(subject["token"]),
        )
        assert reply.status_code == 200, reply.text
    return a, b


def two_requests_shared(world: World, web: TestClient) -> tuple[Subject, Subject]:
    """Two requests (A and B), each answered by Ann sharing everything; an officer signed in."""
    ann = world.owner("ann", east_m=20, events_in_window=2)
    rids = [world.request(case=f"CASE-{n}").json()["id"] for n in (1, 2)]
    for rid in rids:
        reply = world.client.post(
            f"/api/v1/inbox/{rid}/decision",
            json={"action": "share_all"},
            headers=bearer(ann.token),
        )
        assert reply.status_code == 200, reply.text
    _page_sign_in(web, "smith@pd.example")
    return {"request": rids[0]}, {"request": rids[1]}


def two_emergencies(world: World, web: TestClient) -> tuple[Subject, Subject]:
    """Two emergency requests awaiting approval; the supervisor signed in."""
    world.owner("ann", east_m=20, events_in_window=2)
    justification = "A child is missing and was last seen on this street."
    rids = [
        world.request(case=f"EM-{n}", emergency=True, justification=justification).json()["id"]
        for n in (1, 2)
    ]
    _page_sign_in(web, "chief@pd.example")
    return {"request": rids[0]}, {"request": rids[1]}


# --- stored state --------------------------------------------------------------------


def account_state(world: World, subject: Subject) -> dict[str, Any]:
    with _db(world) as session:
        user = session.scalar(select(User).where(User.email == subject["email"]))
        assert user is not None
        return {"opt_out_requests": user.opt_out_requests}


def token_state(world: World, subject: Subject) -> dict[str, Any]:
    return {"live_tokens": _live_tokens(world, subject["email"])}


def token_ended(world: World, subject: Subject) -> dict[str, Any]:
    with _db(world) as session:
        row = session.get(ApiToken, subject["ended_token_hash"])
        return {"token_ended": row is None}


def camera_state(world: World, subject: Subject) -> dict[str, Any]:
    with _db(world) as session:
        camera = session.get(Camera, subject["camera"]["id"])
        assert camera is not None
        config = camera.agent_config or {}
        return {
            "renamed": camera.name == RENAMED,  # owners' camera names differ to begin with
            "retention_days": camera.retention_days,
            "opt_out_requests": camera.opt_out_requests,
            "webhook_urls": config.get("webhook_urls") or [],
            "has_webhook_secret": bool(config.get("webhook_secret")),
        }


def answer_state(world: World, subject: Subject) -> dict[str, Any]:
    with _db(world) as session:
        recipient = session.scalar(
            select(RequestRecipient).where(
                RequestRecipient.request_id == subject["request"],
                RequestRecipient.owner_id == _user_id(world, subject["email"]),
            )
        )
        assert recipient is not None
        clips = list(
            session.scalars(select(RequestClip).where(RequestClip.recipient_id == recipient.id))
        )
        user = session.scalar(select(User).where(User.email == subject["email"]))
        assert user is not None
        return {
            "decision": recipient.decision,
            "shared": sum(c.shared and c.revoked_at is None for c in clips),
            "revoked": sum(c.revoked_at is not None for c in clips),
            "opt_out_requests": user.opt_out_requests,
        }


def request_state(world: World, subject: Subject) -> dict[str, Any]:
    with _db(world) as session:
        request = session.get(PoliceRequest, subject["request"])
        assert request is not None
        clips = list(
            session.scalars(select(RequestClip).where(RequestClip.request_id == request.id))
        )
        return {
            "status": request.status,
            "emergency_status": request.emergency_status,
            "clips_shared": request.clips_shared,
            "exported": sum(c.exported_at is not None for c in clips),
        }


# --- the changes ---------------------------------------------------------------------


def api_login(world: World, _web: TestClient, s: Subject, password: str = PASSWORD) -> Any:
    return world.client.post(
        "/api/v1/auth/token", data={"username": s["email"], "password": password}
    )


def page_login(_world: World, web: TestClient, s: Subject, password: str = PASSWORD) -> Any:
    return _post(web, "/login", email=s["email"], password=password)


def api_logout(world: World, _web: TestClient, s: Subject) -> Any:
    s["ended_token_hash"] = _hash(s["token"])
    return world.client.post("/api/v1/auth/logout", headers=bearer(s["token"]))


def page_logout(_world: World, web: TestClient, s: Subject) -> Any:
    s["ended_token_hash"] = _hash(str(web.cookies.get("doorstep_session")))
    return _post(web, "/logout")


def _hash(token: str) -> str:
    from doorstep.hub.security import secret_hash

    return secret_hash(token)


def api_me(opt_out: bool) -> Act:
    def act(world: World, _web: TestClient, s: Subject) -> Any:
        body = {"opt_out_requests": opt_out}
        return world.client.patch("/api/v1/users/me", json=body, headers=bearer(s["token"]))

    return act


def page_settings(opt_out: bool) -> Act:
    def act(_world: World, web: TestClient, _s: Subject) -> Any:
        return _post(web, "/settings", **({"opt_out_requests": "on"} if opt_out else {}))

    return act


def api_camera(**body: Any) -> Act:
    def act(world: World, _web: TestClient, s: Subject) -> Any:
        path = f"/api/v1/cameras/{s['camera']['id']}"
        return world.client.patch(path, json=body, headers=bearer(s["token"]))

    return act


def page_camera(**fields: Any) -> Act:
    def act(_world: World, web: TestClient, s: Subject) -> Any:
        form = {
            "name": s["camera"]["name"],
            "retention_days": "30",
            "webhook_urls": "",
            **fields,
        }
        return _post(web, f"/cameras/{s['camera']['id']}", **form)

    return act


def api_decide(action: str) -> Act:
    def act(world: World, _web: TestClient, s: Subject) -> Any:
        body: dict[str, Any] = {"action": action}
        if action == "share":
            body["event_ids"] = [s["events"][0]["id"]]
        path = f"/api/v1/inbox/{s['request']}/decision"
        return world.client.post(path, json=body, headers=bearer(s["token"]))

    return act


def page_decide(action: str) -> Act:
    def act(_world: World, web: TestClient, s: Subject) -> Any:
        form: dict[str, Any] = {"action": action}
        if action == "share":
            form["event_ids"] = s["events"][0]["id"]
        if action == "opt_out":
            form["confirm_opt_out"] = "on"
        return _post(web, f"/inbox/{s['request']}/decision", **form)

    return act


def api_revoke(world: World, _web: TestClient, s: Subject) -> Any:
    path = f"/api/v1/inbox/{s['request']}/revoke"
    return world.client.post(path, headers=bearer(s["token"]))


def page_revoke(_world: World, web: TestClient, s: Subject) -> Any:
    return _post(web, f"/inbox/{s['request']}/revoke")


def api_police(verb: str, role: str = "officer") -> Act:
    def act(world: World, _web: TestClient, s: Subject) -> Any:
        token = world.officer if role == "officer" else world.supervisor
        return world.client.post(f"/api/v1/requests/{s['request']}/{verb}", headers=bearer(token))

    return act


def page_police(verb: str, **fields: Any) -> Act:
    def act(_world: World, web: TestClient, s: Subject) -> Any:
        return _post(web, f"/officer/requests/{s['request']}/{verb}", **fields)

    return act


def wrong_password(act: Callable[..., Any]) -> Act:
    def wrapped(world: World, web: TestClient, s: Subject) -> Any:
        return act(world, web, s, password="not the password at all")

    return wrapped


WEBHOOK = "https://hooks.example.org/doorstep"
RENAMED = "Porch"
CHANGES = [
    Change("login", ("login",), owners_signed_out, api_login, page_login, token_state),
    Change(
        "failed login",
        ("login.failure",),
        owners_signed_out,
        wrong_password(api_login),
        wrong_password(page_login),
        token_state,
    ),
    Change("logout", ("logout",), owners, api_logout, page_logout, token_ended),
    Change(
        "account opt-out",
        ("owner.opt_out",),
        owners,
        api_me(True),
        page_settings(True),
        account_state,
    ),
    Change(
        "account opt-in",
        ("owner.opt_in",),
        owners_opted_out,
        api_me(False),
        page_settings(False),
        account_state,
    ),
    Change(
        "camera opt-out",
        ("camera.opt_out",),
        owners,
        api_camera(opt_out_requests=True),
        page_camera(opt_out_requests="on"),
        camera_state,
    ),
    Change(
        "camera opt-in",
        ("camera.opt_in",),
        cameras_opted_out,
        api_camera(opt_out_requests=False),
        page_camera(),
        camera_state,
    ),
    Change(
        "camera settings",
        ("camera.update",),
        owners,
        api_camera(name=RENAMED, retention_days=14, agent_config={"webhook_urls": [WEBHOOK]}),
        page_camera(name=RENAMED, retention_days="14", webhook_urls=WEBHOOK),
        camera_state,
    ),
    Change(
        "share", ("request.share",), asked, api_decide("share"), page_decide("share"), answer_state
    ),
    Change(
        "decline",
        ("request.decline",),
        asked,
        api_decide("decline"),
        page_decide("decline"),
        answer_state,
    ),
    Change(
        "decline and opt out",
        ("request.decline", "owner.opt_out"),
        asked,
        api_decide("opt_out"),
        page_decide("opt_out"),
        answer_state,
    ),
    Change("revoke", ("request.revoke",), shared, api_revoke, page_revoke, answer_state),
    Change(
        "approve",
        ("request.emergency_approve",),
        two_emergencies,
        api_police("approve", role="supervisor"),
        page_police("approve", confirm="on"),
        request_state,
    ),
    Change(
        "reject",
        ("request.emergency_reject",),
        two_emergencies,
        api_police("reject", role="supervisor"),
        page_police("reject"),
        request_state,
    ),
    Change(
        "close",
        ("request.close",),
        two_requests_shared,
        api_police("close"),
        page_police("close"),
        request_state,
    ),
    Change(
        "export",
        ("evidence.export",),
        two_requests_shared,
        api_police("evidence"),
        page_police("evidence"),
        request_state,
    ),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c.name for c in CHANGES])
def test_a_state_change_is_the_same_through_the_api_and_the_page(
    world: World, change: Change
) -> None:
    web = TestClient(world.client.app)  # a browser of its own: cookies, no bearer token
    a, b = change.prepare(world, web)

    before = _head(world)
    reply = change.via_api(world, web, a)
    assert reply.status_code < 500, reply.text
    assert _actions_since(world, before) == change.actions, "through the API"

    before = _head(world)
    reply = change.via_page(world, web, b)
    assert reply.status_code < 500, reply.text
    assert _actions_since(world, before) == change.actions, "through the page"

    assert change.state(world, a) == change.state(world, b)


@pytest.mark.parametrize(
    "agent_config",
    [
        {"zones": [[[0, 0], [1, 0]]]},  # two points are no polygon
        {"masks": [[[0, 0], [2, 0], [0, 1]]]},  # outside the picture
        {"webhook_urls": ["ftp://example.org/hook"]},
        {"webhook_secret": "chosen-by-the-client"},  # the hub makes it
        {"anything": "else"},
    ],
)
def test_the_api_validates_agent_settings_as_the_page_does(
    world: World, agent_config: dict[str, Any]
) -> None:
    """Issue 10 B: PATCH accepted any agent_config dict; the camera page checked it."""
    ann = world.owner("ann", east_m=20)
    path = f"/api/v1/cameras/{ann.cameras[0]['id']}"
    reply = world.client.patch(path, json={"agent_config": agent_config}, headers=bearer(ann.token))
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"].startswith("agent_config")


def test_webhooks_set_through_the_api_get_a_secret_to_sign_with(world: World) -> None:
    ann = world.owner("ann", east_m=20)
    path = f"/api/v1/cameras/{ann.cameras[0]['id']}"
    body = {"agent_config": {"webhook_urls": [WEBHOOK]}}
    config = world.client.patch(path, json=body, headers=bearer(ann.token)).json()["agent_config"]
    assert config["webhook_urls"] == [WEBHOOK] and len(config["webhook_secret"]) >= 32
    zones = {"agent_config": {"zones": [[[0, 0], [1, 0], [1, 1]]]}}
    again = world.client.patch(path, json=zones, headers=bearer(ann.token)).json()["agent_config"]
    assert again["webhook_secret"] == config["webhook_secret"]  # kept, not remade
    assert again["webhook_urls"] == [WEBHOOK]  # settings not sent are left as they were
