"""Rewrite the audit log as its operator could: full database access and the hub's key.

The attack the Merkle log and its witnesses exist for (issue 11): change history, then
recompute every hash the database holds (chain hashes, leaf hashes, tree nodes, head)
and re-sign a checkpoint for every size with the hub's own key. Against anchors inside
the database alone, such a rewrite verifies; only a checkpoint kept outside (a
witness's, a receipt's, one saved from the public API) exposes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from doorstep import merkle
from doorstep.audit_chain import AuditEntry, canonical_json, format_time, leaf_data, next_entry
from doorstep.hub.context import Hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models_log import Cosignature, LogCheckpoint, TreeNode
from doorstep.hub.models_requests import AuditCheckpoint, AuditHead, AuditRow
from doorstep.hub.services import audit, tlog

Edit = Callable[[list[AuditEntry]], list[AuditEntry]]


def change_entry(index: int, **fields: object) -> Edit:
    """Turn entry ``index`` into something else (a decline into a share, say)."""

    def edit(entries: list[AuditEntry]) -> list[AuditEntry]:
        return [replace(e, **fields) if e.index == index else e for e in entries]  # type: ignore[arg-type]

    return edit


def truncate(size: int) -> Edit:
    return lambda entries: entries[:size]


def delete_everything(entries: list[AuditEntry]) -> list[AuditEntry]:
    return []


def rewrite_log(hub: Hub, edit: Edit) -> None:
    """Apply ``edit`` to the entries and make every hash and signature agree again."""
    with session_scope(hub.sessions) as session:
        entries = edit([audit.to_entry(r) for r in session.scalars(select(AuditRow))])
        for table in (AuditRow, TreeNode, Cosignature, LogCheckpoint, AuditCheckpoint):
            session.execute(delete(table))
        _write(session, hub, entries)


def _write(session: Session, hub: Hub, entries: list[AuditEntry]) -> None:
    tree = merkle.MemoryTree()
    head: AuditEntry | None = None
    tlog_checkpoint = tlog._sign  # the hub's own signing path, as the operator would use it
    tlog_checkpoint(session, hub.log_key, 0, merkle.EMPTY_ROOT, utcnow())
    for entry in entries:
        rechained = next_entry(
            head,
            time=entry.time,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=dict(entry.details),
        )
        entry = replace(rechained, salt=entry.salt)
        leaf = merkle.leaf_hash(leaf_data(entry))
        session.add(
            AuditRow(
                seq=entry.seq,
                time=format_time(entry.time),
                actor=entry.actor,
                action=entry.action,
                subject=entry.subject,
                details=canonical_json(entry.details).decode("utf-8"),
                prev_hash=entry.prev_hash,
                hash=entry.hash,
                salt=entry.salt,
                leaf_hash=leaf.hex(),
            )
        )
        for level, index, node in merkle.new_perfect_nodes(tree.size, leaf, tree.perfect):
            session.add(TreeNode(level=level, idx=index, hash=node.hex()))
        tree.append(leaf)
        tlog_checkpoint(session, hub.log_key, tree.size, tree.root(), utcnow())
        head = entry
    row = session.get(AuditHead, 1)
    assert row is not None
    row.seq = head.seq if head else 0
    row.hash = head.hash if head else "0" * 64
    row.size, row.root = tree.size, tree.root().hex()
