"""Sign-in throttling and the sign-up limit through the real API and pages.

An attacker slows only themselves: the account's owner, from another address, signs in
whatever the attack; the attacker's waits grow; a client failing across many accounts
is throttled as a whole; every 429 says the same seconds in `Retry-After` and the body.
The throttle's clock is a stand-in the tests move (no sleeping); the database does not
matter here, so these run on SQLite alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.hub.ratelimit import wait_in_words
from tests.clock import Clock
from tests.hub_fixtures import Api, page_csrf

PASSWORD = "correct horse battery"
WRONG = "not the password at all"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def clock(client: TestClient) -> Clock:
    clock = Clock()
    client.app.state.hub.login_limiter.clock = clock  # type: ignore[attr-defined]
    return clock


def client_at(app: Any, address: str) -> TestClient:
    """Another caller of the same hub, from its own address."""
    return TestClient(app, client=(address, 50000))


def login(client: TestClient, email: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": email, "password": password})


def refused_for(reply: httpx.Response) -> int:
    """The seconds a 429 asks for, checked to agree between header, body and words."""
    assert reply.status_code == 429, reply.text
    body = reply.json()
    seconds = int(reply.headers["Retry-After"])
    assert body["retry_after"] == seconds
    assert body["detail"].endswith(f"try again in {wait_in_words(seconds)}"), body["detail"]
    return seconds


def test_an_attack_on_an_account_never_refuses_its_owner_elsewhere(
    api: Api, client: TestClient, clock: Clock
) -> None:
    api.signup("ann@example.org")
    attacker = client_at(client.app, "198.51.100.7")
    failures = 0
    for _ in range(40):  # 12 failures, more than any limit, each wait waited out
        reply = login(attacker, "ann@example.org", WRONG)
        if reply.status_code == 429:
            clock.now += refused_for(reply)
        else:
            assert reply.status_code == 401
            failures += 1
            if failures == 12:
                break
    owner = client_at(client.app, "203.0.113.5")
    assert login(owner, "ann@example.org", PASSWORD).status_code == 200
    assert failures == 12  # the attacker was slowed, not shut out for good
    assert login(attacker, "ann@example.org", PASSWORD).status_code == 429  # still waiting


def test_the_attackers_waits_grow(api: Api, client: TestClient, clock: Clock) -> None:
    api.signup("ann@example.org")
    free = client.app.state.hub.settings.login_free_failures_per_account  # type: ignore[attr-defined]
    assert [login(client, "ann@example.org", WRONG).status_code for _ in range(free)] == [401] * 3
    waits = []
    for _ in range(4):
        waits.append(refused_for(login(client, "ann@example.org", WRONG)))
        clock.now += waits[-1]
        assert login(client, "ann@example.org", WRONG).status_code == 401
    assert waits == [1, 2, 4, 8]
    right = login(client, "ann@example.org", PASSWORD)  # the right password waits too
    assert refused_for(right) == 16


def test_a_client_failing_across_many_accounts_is_throttled_as_a_whole(
    client: TestClient, clock: Clock
) -> None:
    settings = client.app.state.hub.settings  # type: ignore[attr-defined]
    per_account, per_client = (
        settings.login_free_failures_per_account,
        settings.login_free_failures_per_client,
    )
    assert per_account < per_client  # one account's throttle comes first ...
    for n in range(per_client):  # ... so every one of these stays under it
        assert login(client, f"user{n // per_account}@example.org", WRONG).status_code == 401
    fresh = "never-tried@example.org"
    refused = login(client, fresh, WRONG)
    assert refused_for(refused) == 1
    assert "from your address" in refused.json()["detail"]
    assert login(client_at(client.app, "203.0.113.5"), fresh, WRONG).status_code == 401
    clock.now += 1
    assert login(client, fresh, WRONG).status_code == 401
    assert refused_for(login(client, "another@example.org", WRONG)) == 2


def test_the_login_page_says_how_long_to_wait(client: TestClient, clock: Clock) -> None:
    def page_login() -> httpx.Response:
        form = {"email": "ann@example.org", "password": WRONG, "csrf_token": page_csrf(client)}
        return client.post("/login", data=form)

    assert [page_login().status_code for _ in range(3)] == [401] * 3
    page = page_login()
    assert page.status_code == 429 and page.headers["Retry-After"] == "1"
    assert "try again in 1 second" in page.text


@pytest.fixture
def tight_signup(tmp_path: Path) -> Iterator[FastAPI]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'hub.db'}",
        signup_limit_per_hour=2,
    )
    app = create_app(settings)
    with TestClient(app):
        yield app


def test_sign_ups_are_limited_per_client(tight_signup: FastAPI) -> None:
    first, other = client_at(tight_signup, "198.51.100.7"), client_at(tight_signup, "203.0.113.5")

    def signup(client: TestClient, email: str) -> httpx.Response:
        body = {"email": email, "password": PASSWORD, "name": "Ann"}
        return client.post("/api/v1/auth/signup", json=body)

    assert signup(first, "a@example.org").status_code == 201
    assert signup(first, "a@example.org").status_code == 409  # a taken email counts too
    refused = signup(first, "b@example.org")
    assert refused.status_code == 429
    seconds = int(refused.headers["Retry-After"])
    assert refused.json()["retry_after"] == seconds and 3590 <= seconds <= 3600
    detail = "too many sign-ups from your address; try again in 60 minutes"
    assert refused.json()["detail"] == detail
    form = {"email": "c@example.org", "name": "C", "password": PASSWORD}
    page = first.post("/signup", data={**form, "csrf_token": page_csrf(first)})
    assert page.status_code == 429 and page.headers["Retry-After"] == str(seconds)
    assert "try again in 60 minutes" in page.text  # the page shares the API's limit
    assert signup(other, "b@example.org").status_code == 201
