"""Acceptance 4: `doorstep audit verify` passes on a real history and names tampered rows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from doorstep.cli.main import cli
from doorstep.config import Settings
from doorstep.hub.db import session_scope
from doorstep.hub.models_requests import AuditRow
from doorstep.hub.services.audit import record
from doorstep.hub.services.log_verify import verify_database
from tests.requests.conftest import World, audit_rows, bearer, hub_of, one_shares_one_declines


def _history(world: World) -> None:
    rid, sharer = one_shares_one_declines(world)
    world.client.get(
        f"/api/v1/requests/{rid}/clips/{sharer.events[0]['id']}", headers=bearer(world.officer)
    )
    world.client.post("/api/v1/auth/token", data={"username": "x@y.z", "password": "wrong!"})


def _verify(settings: Settings) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "verify",
            "--data-dir",
            str(settings.data_dir),
            "--database-url",
            settings.resolved_database_url,
        ],
    )
    return result.exit_code, result.output


def _sql(client: TestClient, *statements: str) -> None:
    with session_scope(hub_of(client).sessions) as session:
        for statement in statements:
            session.execute(text(statement))


def test_real_history_verifies_and_every_action_is_logged(
    world: World, hub_settings: Settings
) -> None:
    _history(world)
    code, output = _verify(hub_settings)
    assert code == 0, output
    rows = audit_rows(world.client, world.auditor)
    assert output.startswith(f"OK: {len(rows)} entries, root ")
    actions = {r["action"] for r in rows}
    assert {
        "login",
        "login.failure",
        "request.create",
        "request.match",
        "request.share",
        "request.decline",
        "clip.view",
    } <= actions


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_tampering_is_named(world: World, hub_settings: Settings, tamper: str) -> None:
    _history(world)
    rows = audit_rows(world.client, world.auditor)
    target = rows[len(rows) // 2]["seq"]
    if tamper == "edit":
        _sql(world.client, f"UPDATE audit_log SET actor = actor || 'x' WHERE seq = {target}")
        expected = f"FAILED at index {target - 1}: entry {target - 1} no longer matches its leaf"
    elif tamper == "delete":
        _sql(world.client, f"DELETE FROM audit_log WHERE seq = {target}")
        expected = f"FAILED at index {target - 1}: entry {target - 1} is missing"
    else:
        _sql(
            world.client,
            f"UPDATE audit_log SET seq = -1 WHERE seq = {target}",
            f"UPDATE audit_log SET seq = {target} WHERE seq = {target + 1}",
            f"UPDATE audit_log SET seq = {target + 1} WHERE seq = -1",
        )
        expected = f"FAILED at index {target - 1}:"
    code, output = _verify(hub_settings)
    assert code == 1
    assert output.startswith(expected), output


def test_signed_checkpoints_catch_a_truncated_tail(world: World, hub_settings: Settings) -> None:
    _history(world)
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "checkpoint",
            "--data-dir",
            str(hub_settings.data_dir),
            "--database-url",
            hub_settings.resolved_database_url,
        ],
    )
    assert result.exit_code == 0 and "the head is signed already" in result.output
    last = audit_rows(world.client, world.auditor)[-1]["seq"]
    _sql(
        world.client,
        f"DELETE FROM audit_log WHERE seq = {last}",
        f"UPDATE audit_head SET seq = {last - 1}, size = {last - 1}",
    )
    code, output = _verify(hub_settings)
    assert code == 1 and f"truncated from index {last - 1}" in output, output


def test_nobody_writes_the_log_through_the_api(world: World) -> None:
    _history(world)
    for method in ("post", "put", "patch", "delete"):
        reply = getattr(world.client, method)("/api/v1/audit", headers=bearer(world.auditor))
        assert reply.status_code == 405
    assert world.client.get("/api/v1/audit", headers=bearer(world.officer)).status_code == 403
    verdict = world.client.get("/api/v1/audit/verify", headers=bearer(world.auditor)).json()
    assert verdict["ok"] is True


def test_concurrent_appends_keep_one_chain(client: TestClient) -> None:
    """Writers racing on the head (clip views arrive in parallel) queue; none fails, none forks.

    Each append runs in its own transaction that reads nothing first, as a view does:
    on SQLite that transaction only takes the write lock when it writes, so the head
    must be read after the lock is taken, not before.
    """
    sessions = hub_of(client).sessions
    writers, appends = 6, 15
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        start.wait()
        for i in range(appends):
            with session_scope(sessions) as session:
                record(session, hub_of(client).log_key, None, "test.concurrent", f"writer-{n}-{i}")

    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(write, n) for n in range(writers)]:
            future.result()  # re-raises a writer's error (a lost race, "database is locked")
    with session_scope(sessions) as session:
        result = verify_database(session, None)
        subjects = session.scalars(
            select(AuditRow.subject).where(AuditRow.action == "test.concurrent")
        ).all()
    assert result.ok, result
    assert sorted(subjects) == sorted(
        f"writer-{n}-{i}" for n in range(writers) for i in range(appends)
    )


def test_a_seq_beyond_any_integer_is_a_clear_422(world: World) -> None:
    reply = world.client.get(
        "/api/v1/audit", params={"after_seq": str(10**20)}, headers=bearer(world.auditor)
    )
    assert reply.status_code == 422, reply.text
