"""Migration 0004 turns an existing hash-chained log into the Merkle tree, re-verified.

A hub upgraded from before issue 11 keeps every entry: each is salted, the tree is built
and its root checked two ways, the next start signs it, and `audit verify` agrees. A
chain that was already broken is not sealed into a tree: the migration stops with the
first bad row. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from doorstep import merkle
from doorstep.audit_chain import AuditEntry, canonical_json, format_time, leaf_data, next_entry
from doorstep.hub.context import LogKey
from doorstep.hub.db import make_engine, make_session_factory, session_scope
from doorstep.hub.migrate import current_revision, upgrade
from doorstep.hub.services import audit, tlog
from doorstep.hub.services.log_verify import verify_log
from doorstep.signing import Ed25519PrivateKey

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _old_log(database_url: str, n: int, *, break_at: int | None = None) -> list[AuditEntry]:
    """A log written by revision 0003 (a hash chain, no tree), straight into the tables."""
    engine = make_engine(database_url)
    upgrade(engine, "0003")
    entries: list[AuditEntry] = []
    head = None
    with engine.begin() as conn:
        for i in range(n):
            head = next_entry(
                head,
                time=T0 + timedelta(minutes=i),
                actor="system",
                action="login.failure",
                subject=f"login:person{i}@example.org",
                details={"client": "203.0.113.7"},
            )
            entries.append(head)
            hashed = head.hash if head.seq != break_at else "f" * 64
            conn.execute(
                text(
                    "INSERT INTO audit_log (seq, time, actor, action, subject, details, "
                    "prev_hash, hash) VALUES (:seq, :time, :actor, :action, :subject, "
                    ":details, :prev, :hash)"
                ),
                {
                    "seq": head.seq,
                    "time": format_time(head.time),
                    "actor": head.actor,
                    "action": head.action,
                    "subject": head.subject,
                    "details": canonical_json(head.details).decode(),
                    "prev": head.prev_hash,
                    "hash": hashed,
                },
            )
        conn.execute(
            text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"),
            {"seq": n, "hash": entries[-1].hash},
        )
    engine.dispose()
    return entries


def test_an_existing_log_is_converted_and_reverified(database_url: str) -> None:
    old = _old_log(database_url, 37)
    engine = make_engine(database_url)
    upgrade(engine)
    assert (current_revision(engine) or "") >= "0004"  # at or past the revision that converts
    sessions = make_session_factory(engine)
    key = LogKey.for_key(Ed25519PrivateKey.generate())
    with session_scope(sessions) as session:
        checkpoint = tlog.ensure_checkpoint(session, key)  # what the next start does
        assert checkpoint is not None and checkpoint.size == 37
        converted = audit.entries(session, limit=1000)
        assert [e.hash for e in converted] == [e.hash for e in old]  # the chain is intact
        assert all(len(e.salt) == 64 for e in converted) and len({e.salt for e in converted}) == 37
        tree = merkle.MemoryTree(merkle.leaf_hash(leaf_data(e)) for e in converted)
        assert bytes.fromhex(checkpoint.root) == tree.root()
        audit.record(session, key, None, "after.migration", "x")  # the log grows on from it
    with session_scope(sessions) as session:
        verdict = verify_log(session, key.key.public_key())
        assert verdict.ok and verdict.size == 38, verdict.problems
    engine.dispose()


def test_a_broken_chain_is_not_sealed_into_a_tree(database_url: str) -> None:
    _old_log(database_url, 12, break_at=5)
    engine = make_engine(database_url)
    with pytest.raises(RuntimeError, match="broken at row 5"):
        upgrade(engine)
    assert current_revision(engine) == "0003"  # nothing half-converted
    engine.dispose()
