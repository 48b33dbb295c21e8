"""Retention purges what a camera no longer keeps; migrations run on a fresh database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from doorstep.hub import tables  # noqa: F401  (registers every model on Base.metadata)
from doorstep.hub.db import Base, make_engine
from doorstep.hub.jobs import run_retention
from doorstep.hub.migrate import current_revision, upgrade
from tests.hub.conftest import Api, bearer


def test_retention_deletes_expired_events_and_their_clips(
    api: Api, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = api.signup("ann@example.org")
    camera = api.camera(token)
    client.patch(
        f"/api/v1/cameras/{camera['id']}", json={"retention_days": 1}, headers=bearer(token)
    )
    key = camera["api_key"]
    now = datetime.now(UTC)
    old = api.event(key, start=now - timedelta(days=2))
    fresh = api.event(key, start=now - timedelta(hours=1))
    assert api.upload(key, old["id"], b"old clip" * 100).status_code == 201
    assert api.upload(key, fresh["id"], b"new clip" * 100).status_code == 201
    hub = client.app.state.hub  # type: ignore[attr-defined]
    blobs_before = set(hub.storage.stored())

    with caplog.at_level(logging.INFO, logger="doorstep.hub.services.retention"):
        run_retention(hub)

    assert client.get(f"/api/v1/events/{old['id']}", headers=bearer(token)).status_code == 404
    assert (
        client.get(f"/api/v1/events/{fresh['id']}/clip", headers=bearer(token)).status_code == 200
    )
    assert len(set(hub.storage.stored())) == len(blobs_before) - 1
    assert any("deleted 1 events and 1 files" in message for message in caplog.messages)


def test_shared_blob_survives_until_its_last_event(api: Api, client: TestClient) -> None:
    token = api.signup("ann@example.org")
    camera = api.camera(token)
    client.patch(
        f"/api/v1/cameras/{camera['id']}", json={"retention_days": 1}, headers=bearer(token)
    )
    key = camera["api_key"]
    now = datetime.now(UTC)
    old = api.event(key, start=now - timedelta(days=3))
    fresh = api.event(key, start=now)
    same = b"identical bytes" * 50
    api.upload(key, old["id"], same)
    api.upload(key, fresh["id"], same)
    run_retention(client.app.state.hub)  # type: ignore[attr-defined]
    assert client.get(f"/api/v1/events/{fresh['id']}/clip", headers=bearer(token)).content == same


def test_deleting_a_camera_removes_its_clips(api: Api, client: TestClient) -> None:
    token = api.signup("ann@example.org")
    camera = api.camera(token)
    event = api.event(camera["api_key"])
    api.upload(camera["api_key"], event["id"], b"clip" * 100)
    hub = client.app.state.hub  # type: ignore[attr-defined]
    assert list(hub.storage.stored())
    assert (
        client.delete(f"/api/v1/cameras/{camera['id']}", headers=bearer(token)).status_code == 200
    )
    assert list(hub.storage.stored()) == []
    assert client.get(f"/api/v1/events/{event['id']}", headers=bearer(token)).status_code == 404


def test_migration_chain_on_a_fresh_database(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert current_revision(engine) is not None
    names = set(inspect(engine).get_table_names())
    assert {"users", "agencies", "api_tokens", "cameras", "events"} <= names
    upgrade(engine)  # idempotent on every start
    with engine.connect() as connection:  # the revisions build exactly what the models say
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_upgrading_an_existing_sqlite_hub_keeps_every_row(tmp_path: Path) -> None:
    """SQLite alters a table by recreating it; dropping the old ``users`` with foreign keys
    on deleted every camera, event and session that cascades from it (0006 did)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0005")
    rows = {
        "users": "INSERT INTO users (id, email, name, password_hash, role, is_active, "
        "opt_out_requests, created_at) VALUES ('u', 'o@example.org', 'o', 'h', 'owner', 1, 0, "
        "'2026-01-01 00:00:00')",
        "api_tokens": "INSERT INTO api_tokens (token_hash, id, user_id, created_at, expires_at, "
        "client, enrolment_only) VALUES ('t', 'i', 'u', '2026-01-01', '2999-01-01', '', 0)",
        "cameras": "INSERT INTO cameras (id, owner_id, name, latitude, longitude, "
        "retention_days, opt_out_requests, key_hash, agent_config, created_at) VALUES "
        "('c', 'u', 'porch', 51.5, -0.1, 30, 0, 'k', '{}', '2026-01-01 00:00:00')",
        "events": "INSERT INTO events (id, camera_id, start_time, label, score, created_at) "
        "VALUES ('e', 'c', '2026-01-01 00:00:00', 'motion', 0.5, '2026-01-01 00:00:00')",
    }
    with engine.begin() as conn:
        for statement in rows.values():
            conn.execute(text(statement))
    upgrade(engine)
    with engine.connect() as conn:
        for table in rows:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # back on
    engine.dispose()
