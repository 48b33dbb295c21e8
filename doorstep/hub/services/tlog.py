"""The audit log's Merkle tree in the database: appends, signed checkpoints, proofs.

Every append stores the perfect subtrees it completes and signs a checkpoint of the
new tree (a C2SP ``tlog-checkpoint`` signed note), in the transaction of the action it
records: no entry is ever unsigned, whatever the action. Proofs are built by
:mod:`doorstep.merkle` from stored perfect subtrees; the nodes a proof needs are found
first (a dry run with placeholder hashes, which cannot change which nodes the RFC 9162
recursion visits) and read in one query, so a proof costs O(log n) rows and one
round trip.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import TextClause, insert, select, text
from sqlalchemy.orm import Session

from doorstep import merkle, signed_note
from doorstep.errors import InvalidInput, NotFound
from doorstep.hub.context import LogKey
from doorstep.hub.db import utcnow
from doorstep.hub.models_log import Cosignature, LogCheckpoint, TreeNode, Witness
from doorstep.hub.models_requests import AuditHead, AuditRow

T = TypeVar("T")
Coordinate = tuple[int, int]
MAX_LEAVES_PER_CALL = 1000


@functools.cache
def _nodes_query(terms: int) -> TextClause:
    """``SELECT`` of ``terms`` (level, idx) pairs, each an equality on the primary key.

    Plain SQL text, cached per size: building the same condition as SQLAlchemy
    expressions costs more than the query on a proof's path, and a row-value ``IN``
    list is a full scan on SQLite. Only the parameters vary.
    """
    condition = " OR ".join(f"(level = :l{n} AND idx = :i{n})" for n in range(terms))
    return text(f"SELECT level, idx, hash FROM audit_tree_nodes WHERE {condition}")


def _read_nodes(session: Session, wanted: Iterable[Coordinate]) -> dict[Coordinate, bytes]:
    coordinates = sorted(set(wanted))
    if not coordinates:
        return {}
    params: dict[str, int] = {}
    for n, (level, index) in enumerate(coordinates):
        params[f"l{n}"], params[f"i{n}"] = level, index
    rows = session.execute(_nodes_query(len(coordinates)), params).all()
    return {(level, idx): bytes.fromhex(digest) for level, idx, digest in rows}


def with_stored_nodes(
    session: Session,
    compute: Callable[[merkle.PerfectNode], T],
    extra: dict[Coordinate, bytes] | None = None,
) -> T:
    """Run ``compute`` over the stored perfect subtrees, reading them in one query."""
    wanted: set[Coordinate] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return b"\0" * 32

    compute(record)
    nodes = {**_read_nodes(session, wanted - set(extra or {})), **(extra or {})}

    def stored(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise NotFound(f"the log has no subtree at level {level}, index {index}") from None

    return compute(stored)


def append(
    session: Session, log_key: LogKey, size: int, compact: str, leaf: bytes, now: datetime
) -> merkle.StreamingRoot:
    """Add leaf number ``size`` to the tree whose compact range (JSON, from the head) is
    given: store the perfect subtrees it completes, sign the new tree, return it.

    The head keeps the compact range (the perfect subtree roots that cover the tree), so
    an append reads no node: it merges in memory and writes the completed nodes and the
    signed checkpoint, one statement each. The caller holds the head's lock, moves the
    head (``audit.record``) and commits with its action.
    """
    tree = merkle.StreamingRoot(size, [bytes.fromhex(h) for h in json.loads(compact or "[]")])
    created = tree.append(leaf)
    session.connection().execute(  # batched by SQLAlchemy into one multi-row INSERT
        insert(TreeNode),
        [{"level": lv, "idx": ix, "hash": digest.hex()} for lv, ix, digest in created],
    )
    _sign(session, log_key, tree.size, tree.root(), now)
    return tree


def _sign(session: Session, log_key: LogKey, size: int, root: bytes, now: datetime) -> str:
    """Sign the tree of ``size`` leaves and store the note; returns the note."""
    body = signed_note.Checkpoint(origin=log_key.origin, size=size, root=root).body()
    note = signed_note.sign_note(body, log_key.origin, log_key.key)
    session.connection().execute(
        insert(LogCheckpoint),
        {"size": size, "root": root.hex(), "note": note, "created_at": now},
    )
    return note


def ensure_checkpoint(session: Session, log_key: LogKey) -> LogCheckpoint | None:
    """Sign the head if no checkpoint has its size yet (a log converted by a migration,
    or an empty one); ``None`` when it is signed already."""
    head = session.get(AuditHead, 1)
    if head is None or session.get(LogCheckpoint, head.size) is not None:
        return None
    root = bytes.fromhex(head.root) if head.root else merkle.EMPTY_ROOT
    _sign(session, log_key, head.size, root, utcnow())
    return session.get(LogCheckpoint, head.size)


def latest(session: Session) -> LogCheckpoint:
    checkpoint = session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()))
    if checkpoint is None:
        raise NotFound("the log has no signed checkpoint yet")
    return checkpoint


def at_size(session: Session, size: int) -> LogCheckpoint:
    checkpoint = session.get(LogCheckpoint, size)
    if checkpoint is None:
        raise NotFound(f"no signed checkpoint of size {size}")
    return checkpoint


def with_cosignatures(session: Session, checkpoint: LogCheckpoint) -> str:
    """The checkpoint's note with the cosignature lines its witnesses posted."""
    lines = session.scalars(
        select(Cosignature.line)
        .where(Cosignature.size == checkpoint.size)
        .order_by(Cosignature.created_at)
    )
    note = checkpoint.note
    for line in lines:
        if line not in note:
            note += line if line.endswith("\n") else line + "\n"
    return note


def _size(session: Session) -> int:
    head = session.get(AuditHead, 1)
    return head.size if head else 0


def _check_size(session: Session, size: int) -> None:
    if not 0 < size <= _size(session):
        raise InvalidInput(
            f"size must be between 1 and the log's size ({_size(session)})", field="size"
        )


def inclusion(session: Session, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    _check_size(session, size)
    if not 0 <= index < size:
        raise InvalidInput(f"index must be between 0 and {size - 1}", field="index")
    return with_stored_nodes(session, lambda p: merkle.inclusion_proof(index, size, p))


def consistency(session: Session, old: int, new: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of ``old`` leaves to that of ``new``."""
    _check_size(session, new)
    if not 0 < old <= new:
        raise InvalidInput(f"old must be between 1 and new ({new})", field="old")
    return with_stored_nodes(session, lambda p: merkle.consistency_proof(old, new, p))


def leaf_hashes(session: Session, start: int, end: int) -> list[str]:
    """Leaf hashes ``[start, end)`` (hex), public: with salted leaves they reveal nothing."""
    if not 0 <= start < end or end - start > MAX_LEAVES_PER_CALL:
        raise InvalidInput(
            f"ask for 1 to {MAX_LEAVES_PER_CALL} leaves with 0 <= start < end", field="end"
        )
    rows = session.scalars(
        select(AuditRow.leaf_hash)
        .where(AuditRow.seq > start, AuditRow.seq <= end)
        .order_by(AuditRow.seq)
    )
    return list(rows)


def active_witnesses(session: Session) -> list[Witness]:
    return list(
        session.scalars(select(Witness).where(Witness.removed_at.is_(None)).order_by(Witness.name))
    )
