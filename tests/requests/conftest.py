"""Fixtures for police requests: a neighbourhood of owners and cameras, police accounts.

Uses the shared hub fixtures of tests/hub_fixtures.py (fresh hub per test, on SQLite
and on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from doorstep.geo import GEOD
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope
from doorstep.hub.models import Role
from doorstep.hub.services import mfa
from doorstep.hub.services.accounts import create_user
from tests.hub_fixtures import Api, bearer, enrol_totp

CENTER = (-0.12, 51.5)  # lon, lat
HALF_SIDE_M = 400.0  # an 800 m square: 0.247 sq mi
PASSWORD = "correct horse battery"


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """A point moved on the ground by metres east and north (geodesic)."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90.0, east_m)
    lon3, lat3, _ = GEOD.fwd(lon2, lat2, 0.0, north_m)
    return float(lon3), float(lat3)


def square(center: tuple[float, float] = CENTER, half: float = HALF_SIDE_M) -> dict[str, Any]:
    """An axis-aligned lon/lat square whose east edge lies ``half`` metres east of centre."""
    west, _ = offset(*center, -half, 0)
    east, _ = offset(*center, half, 0)
    _, south = offset(*center, 0, -half)
    _, north = offset(*center, 0, half)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def hub_of(test_client: TestClient) -> Hub:
    hub: Hub = test_client.app.state.hub  # type: ignore[attr-defined]
    return hub


def add_user(test_client: TestClient, email: str, role: Role, agency: str | None = None) -> str:
    """Create a police/auditor account directly (as `doorstep user add --new-totp-secret`
    does: with an authenticator secret where the role needs one); log in with its code."""
    hub = hub_of(test_client)
    with session_scope(hub.sessions) as session:
        user = create_user(
            session,
            email=email,
            password=PASSWORD,
            name=email.split("@")[0],
            role=role,
            agency_name=agency,
        )
        needs_code = mfa.required_for(hub.settings, user)
    if needs_code:
        enrol_totp(hub, email)
    return Api(test_client).login(email, PASSWORD)


@dataclass
class Owner:
    email: str
    token: str
    user_id: str
    cameras: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class World:
    """Window, area, police accounts and owners around CENTER."""

    api: Api
    start: datetime
    end: datetime
    officer: str
    supervisor: str
    auditor: str
    owners: dict[str, Owner] = field(default_factory=dict)

    @property
    def client(self) -> TestClient:
        return self.api.client

    def owner(
        self,
        name: str,
        *,
        east_m: float,
        north_m: float = 0.0,
        events_in_window: int = 1,
        events_outside: int = 0,
        clip: bool = True,
    ) -> Owner:
        token = self.api.signup(f"{name}@example.org")
        me = self.client.get("/api/v1/auth/me", headers=bearer(token)).json()
        owner = Owner(f"{name}@example.org", token, me["id"])
        lon, lat = offset(*CENTER, east_m, north_m)
        camera = self.api.camera(token, lat=lat, lon=lon, name=f"{name}'s porch")
        owner.cameras.append(camera)
        for i in range(events_in_window):
            event = self.api.event(camera["api_key"], start=self.start + timedelta(minutes=5 + i))
            if clip:
                data = f"{name} clip {i}".encode() * 50
                assert self.api.upload(camera["api_key"], event["id"], data).status_code == 201
            owner.events.append(event)
        for i in range(events_outside):
            self.api.event(camera["api_key"], start=self.start - timedelta(hours=3, minutes=i))
        self.owners[name] = owner
        return owner

    def request(self, *, case: str = "CASE-1", token: str | None = None, **overrides: Any) -> Any:
        body = {
            "incident_type": "burglary",
            "case_number": case,
            "reason": "Break-in at number 12 between 2 and 3 pm.",
            "contact": "det.smith@pd.example, 555-0100",
            "area": square(),
            "start_time": self.start.isoformat(),
            "end_time": self.end.isoformat(),
            **overrides,
        }
        return self.client.post(
            "/api/v1/requests", json=body, headers=bearer(token or self.officer)
        )


@pytest.fixture
def world(api: Api) -> World:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(hours=3), now - timedelta(hours=1)
    test_client = api.client
    return World(
        api=api,
        start=start,
        end=end,
        officer=add_user(test_client, "smith@pd.example", Role.officer, "City PD"),
        supervisor=add_user(test_client, "chief@pd.example", Role.supervisor, "City PD"),
        auditor=add_user(test_client, "audit@gov.example", Role.auditor),
    )


def audit_rows(test_client: TestClient, token: str) -> list[dict[str, Any]]:
    """The whole audit log, read the way an auditor reads it: through the API."""
    rows: list[dict[str, Any]] = []
    while True:
        page = test_client.get(
            "/api/v1/audit",
            params={"after_seq": rows[-1]["seq"] if rows else 0, "limit": 1000},
            headers=bearer(token),
        )
        assert page.status_code == 200, page.text
        if not page.json():
            return rows
        rows += page.json()


def one_shares_one_declines(world: World) -> tuple[str, Owner]:
    """A request answered by a sharer (all clips) and a decliner; returns its id and the sharer."""
    sharer = world.owner("sharer", east_m=10, events_in_window=2)
    world.owner("decliner", east_m=-10)
    rid = str(world.request().json()["id"])
    world.client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=bearer(sharer.token)
    )
    world.client.post(
        f"/api/v1/inbox/{rid}/decision",
        json={"action": "decline"},
        headers=bearer(world.owners["decliner"].token),
    )
    return rid, sharer
