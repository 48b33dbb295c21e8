"""Schemathesis over every operation of the OpenAPI document, with all of its checks.

Each operation is driven with valid (positive) and invalid (negative) data, each case
sent as four callers: anonymous, an owner, an officer and a camera key. The operations are read
from the document the hub serves, so a route added later is covered without a change
here. One hub (SQLite) serves the whole module; it is seeded so the callers have real
objects: a camera with an event, its clip and snapshot, and a police request the owner
shared with. GET operations are given those objects' ids in every other example.

Schema-valid data may still break a rule no JSON Schema can state (a window that has
not ended, an area too large, an end before the start, a signature that does not
verify): the hub answers 422 naming that rule. So positive data may get 422, but only
such a refusal (``refused_by_a_rule_only``); a 422 for a type or a bound means the
schema and the server disagree, which fails.

Examples are bounded (EXAMPLES per operation and mode, derandomized so a run is
reproducible) to keep the suite fast; raise DOORSTEP_SCHEMATHESIS_EXAMPLES to dig.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.python import asgi

from doorstep.app import create_app
from doorstep.config import Settings
from doorstep.hub.context import Hub, build_hub
from doorstep.hub.db import session_scope
from doorstep.hub.models import Role, User
from doorstep.hub.models_requests import IncidentType
from doorstep.hub.schemas import CameraCreate, EventCreate
from doorstep.hub.schemas_requests import DecisionCreate, RequestCreate
from doorstep.hub.services import accounts, blobs, cameras, events, inbox, requests

EXAMPLES = int(os.environ.get("DOORSTEP_SCHEMATHESIS_EXAMPLES", "12"))
ROLES = ("anonymous", "owner", "officer", "camera")
PASSWORD = "correct horse battery"


@dataclass
class World:
    """The hub under test and what its callers own."""

    app: FastAPI
    hub: Hub
    user_ids: dict[str, str]
    camera_key: str
    ids: dict[str, str]  # path parameter name -> a seeded object's id

    def headers(self, role: str) -> dict[str, str]:
        """Fresh credentials for each call: an example may sign out or revoke a session."""
        if role == "anonymous":
            return {}
        if role == "camera":
            return {"Authorization": f"Bearer {self.camera_key}"}
        with session_scope(self.hub.sessions) as session:
            user = session.get(User, self.user_ids[role])
            assert user is not None
            token, _ = accounts.issue_token(session, user, timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _store(hub: Hub, key: str, event_id: str, kind: blobs.BlobKind, data: bytes) -> None:
    sha256 = hashlib.sha256(data).hexdigest()
    size = asyncio.run(hub.storage.put(_chunks(data), sha256, len(data)))
    blobs.attach(hub, key, event_id, kind, sha256, size)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("schemathesis")
    settings = Settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'hub.db'}",
        control_max_wait_seconds=0.2,  # the control long-poll holds 0.2 s here, not up to 55
    )
    hub = build_hub(settings)
    app = create_app(hub=hub)
    now = datetime.now(UTC)
    start = now - timedelta(hours=2)
    with session_scope(hub.sessions) as session:
        owner = accounts.create_user(
            session, email="owner@example.org", password=PASSWORD, name="Ann"
        )
        officer = accounts.create_user(
            session,
            email="officer@example.org",
            password=PASSWORD,
            name="Bob",
            role=Role.officer,
            agency_name="Metro Police",
        )
        camera, key = cameras.create_camera(
            session, owner, CameraCreate(name="Front door", latitude=51.5, longitude=-0.12)
        )
        event, _ = events.upsert_event(
            session,
            camera,
            EventCreate(id=uuid.uuid4(), start_time=start, end_time=start + timedelta(seconds=20)),
        )
        ids = {"camera_id": camera.id, "event_id": event.id}
        user_ids = {"owner": owner.id, "officer": officer.id}
    _store(hub, key, ids["event_id"], "clip", b"\x00\x00\x00\x18ftypmp42 not a real clip")
    _store(hub, key, ids["event_id"], "snapshot", b"\xff\xd8\xff\xe0 not a real picture")
    with session_scope(hub.sessions) as session:
        police = session.get(User, user_ids["officer"])
        resident = session.get(User, user_ids["owner"])
        assert police is not None and resident is not None
        request = requests.create_request(
            hub,
            session,
            police,
            RequestCreate(
                incident_type=IncidentType.theft,
                case_number="C-1",
                reason="a bicycle was stolen from this street",
                contact="bob@metro.example.org",
                area={"type": "Circle", "center": [-0.12, 51.5], "radius_m": 300},
                start_time=now - timedelta(hours=3),
                end_time=now - timedelta(hours=1),
            ),
            now,
        )
        ids["request_id"] = request.id
        session.flush()
        inbox.decide(hub, session, resident, request.id, DecisionCreate(action="share_all"), now)
    yield World(app=app, hub=hub, user_ids=user_ids, camera_key=key, ids=ids)
    asgi.shutdown_lifespans()


# schemathesis' default, with 422 for the rules a schema cannot state (see above)
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


@pytest.fixture(scope="module")
def api_schema(world: World) -> schemathesis.BaseSchema:
    config = SchemathesisConfig.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}
    )
    return schemathesis.openapi.from_asgi("/openapi.json", world.app, config=config)


def refused_by_a_rule_only(_ctx: object, response: Response, case: Case) -> None:
    """Schema-valid data fails no type or bound: a 422 names a rule of the hub's own (from
    a service, with no ``errors``, or from a validator: "Value error, ...")."""
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and response.status_code == 422:
        body = response.json()
        rules = all(e["reason"].startswith("Value error") for e in body["errors"])
        assert rules, f"schema-valid data failed validation: {body}"


def run_operation(world: World, operation: object, mode: GenerationMode) -> None:
    """Drive one operation with EXAMPLES cases, each sent as every caller; raise what
    schemathesis finds (generating a case costs more than sending it four times)."""
    turn = itertools.count()

    @given(case=operation.as_strategy(generation_mode=mode))  # type: ignore[attr-defined]
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case) -> None:
        if case.method == "GET" and mode is GenerationMode.POSITIVE and next(turn) % 2:
            for name in case.path_parameters or {}:
                if name in world.ids:
                    case.path_parameters[name] = world.ids[name]  # a real object
        for role in ROLES:
            headers = world.headers(role)
            if mode is GenerationMode.NEGATIVE and "Authorization" not in (case.headers or {}):
                headers = {}  # the credential is what this case leaves out
            try:
                case.call_and_validate(headers=headers, additional_checks=[refused_by_a_rule_only])
            except BaseException as exc:
                exc.add_note(f"(sent as {role})")
                raise

    check()


def test_every_operation_conforms(world: World, api_schema: schemathesis.BaseSchema) -> None:
    failures: list[str] = []
    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation of the document loads
        operations.append(result.ok())
    assert len(operations) > 40  # the document was read whole
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                run_operation(world, operation, mode)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no input
            except (Exception, BaseExceptionGroup) as exc:
                notes = " ".join(getattr(exc, "__notes__", []))
                failures.append(f"{operation.label} ({mode.value}) {notes}: {exc}")
    assert not failures, "\n\n".join(failures)
