"""The hub's audit log: appending rows in the caller's transaction, checkpoints, verification.

Call :func:`record` inside the transaction of the action it records, so the row
and the action commit or vanish together. Appends lock the single ``audit_head``
row with an UPDATE before reading it (a row lock on PostgreSQL, the database's write
lock on SQLite), so concurrent writers queue instead of racing for the same ``seq``.
The hashing format is :mod:`doorstep.audit_chain`'s; this module only stores and loads
rows.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from doorstep import merkle
from doorstep.audit_chain import (
    AuditEntry,
    canonical_json,
    format_time,
    leaf_data,
    next_entry,
    sign_checkpoint,
)
from doorstep.hub.context import Hub, LogKey
from doorstep.hub.db import utcnow
from doorstep.hub.models import User
from doorstep.hub.models_requests import AuditCheckpoint, AuditHead, AuditRow, PoliceRequest
from doorstep.hub.services import tlog
from doorstep.signing import Ed25519PrivateKey

SYSTEM = "system"
SUBJECT_LENGTH = 120  # AuditRow.subject's column


def actor_of(user: User | None) -> str:
    """How a user appears in the log: role and id, never an email."""
    return SYSTEM if user is None else f"{user.role}:{user.id}"


def fit_subject(subject: str) -> str:
    """The subject as stored (at most 120 characters): a longer one, such as a failed login's
    made-up email, keeps its start and a digest of the whole, so it stays distinct."""
    if len(subject) <= SUBJECT_LENGTH:
        return subject
    digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{subject[: SUBJECT_LENGTH - 18]}#{digest}"


def record(
    session: Session,
    log_key: LogKey,
    actor: str | User | None,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry after the current head and sign a checkpoint of the new tree.

    The entry is a row of the hash chain (kept: evidence bundles made before the tree
    carry chain rows) and, with a fresh secret salt, leaf number ``seq - 1`` of the
    Merkle tree. Every append is signed, whatever the action.
    """
    actor_text = actor if isinstance(actor, str) else actor_of(actor)
    subject = fit_subject(subject)
    # Lock the head and read it in one statement. An UPDATE locks the row on PostgreSQL
    # and takes SQLite's write lock (its driver begins a transaction only at the first
    # write, so a plain read could see a head that another writer moves before this one
    # writes); RETURNING reads what was locked. Core statements throughout: an append is
    # on the path of every request that changes state.
    connection = session.connection()
    locked = connection.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq)
        .returning(AuditHead.seq, AuditHead.hash, AuditHead.size, AuditHead.compact)
    ).one()
    head = None
    if locked.seq:
        head = AuditEntry(locked.seq, utcnow(), "", "", "", {}, hash=locked.hash)
    when = now or utcnow()
    chained = next_entry(
        head,
        time=when,
        actor=actor_text,
        action=action,
        subject=subject,
        details=dict(details or {}),
    )
    entry = replace(chained, salt=os.urandom(32).hex())
    if entry.index != locked.size:
        raise RuntimeError(f"the log's head is inconsistent: seq {entry.seq}, size {locked.size}")
    leaf = merkle.leaf_hash(leaf_data(entry))
    connection.execute(
        insert(AuditRow),  # values as parameters: the compiled statement is cached
        {
            "seq": entry.seq,
            "time": format_time(entry.time),
            "actor": entry.actor,
            "action": entry.action,
            "subject": entry.subject,
            "details": canonical_json(entry.details).decode("utf-8"),
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
            "salt": entry.salt,
            "leaf_hash": leaf.hex(),
        },
    )
    tree = tlog.append(session, log_key, locked.size, locked.compact, leaf, when)
    connection.execute(
        update(AuditHead).where(AuditHead.id == 1),
        {
            "seq": entry.seq,
            "hash": entry.hash,
            "size": tree.size,
            "root": tree.root().hex(),
            "compact": json.dumps([h.hex() for h in tree.compact]),
        },
    )
    # an ORM head read before this append in the same session must not stay stale
    if (cached := session.identity_map.get(session.identity_key(AuditHead, 1))) is not None:
        session.expire(cached)
    return entry


def request_subject(request: PoliceRequest | str) -> str:
    """The subject of every audit row about a police request: ``request:<id>``."""
    return f"request:{request if isinstance(request, str) else request.id}"


def log_action(
    hub: Hub,
    session: Session,
    actor: User | str | None,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    now: datetime,
) -> AuditEntry:
    """Record an action in the caller's transaction, signed with the hub's log key: what
    every state change calls, whichever path it came by."""
    return record(session, hub.log_key, actor, action, subject, details, now=now)


def write_checkpoint(
    session: Session,
    key: Ed25519PrivateKey,
    seq: int | None = None,
    head_hash: str | None = None,
    now: datetime | None = None,
) -> AuditCheckpoint | None:
    """Sign the head (or the given row); ``None`` when the log is empty or already signed."""
    if seq is None or head_hash is None:
        head = session.get(AuditHead, 1)
        if head is None or head.seq == 0:
            return None
        seq, head_hash = head.seq, head.hash
    if session.get(AuditCheckpoint, seq) is not None:
        return None
    signed = sign_checkpoint(key, seq, head_hash, now or utcnow())
    checkpoint = AuditCheckpoint(**signed)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def to_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        time=datetime.fromisoformat(row.time.replace("Z", "+00:00")),
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
        salt=row.salt,
    )


def iter_entries(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every row in seq order, read in batches so a long log is never held at once."""
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(batch)
            )
        )
        for row in rows:
            yield to_entry(row)
        if len(rows) < batch:
            return
        after = rows[-1].seq


def entries(
    session: Session,
    *,
    after_seq: int = 0,
    limit: int = 100,
    actions: list[str] | None = None,
    subject: str | None = None,
) -> list[AuditEntry]:
    query = select(AuditRow).where(AuditRow.seq > after_seq)
    if actions:
        query = query.where(AuditRow.action.in_(actions))
    if subject:
        query = query.where(AuditRow.subject == subject)
    return [to_entry(r) for r in session.scalars(query.order_by(AuditRow.seq).limit(limit))]


def checkpoints(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))
    return [
        {"seq": c.seq, "head_hash": c.head_hash, "time": c.time, "signature": c.signature}
        for c in rows
    ]
