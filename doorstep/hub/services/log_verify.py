"""Verifying the audit log from its entries up, against every anchor there is.

The tree is rebuilt from the entries alone (each leaf recomputed from the entry and its
salt) and compared with: the leaf hashes stored beside the entries, the head, the
signed checkpoints in the database, and checkpoints from outside it (files a witness,
an owner's receipt or a journalist kept). Anchors in the database catch a careless
edit; only anchors from outside catch an operator who can also recompute hashes and
sign with the hub's key (docs/audit-log.md, "Threat model").

What is reported: the first bad index where it is known (an entry whose leaf no longer
matches; the first entry missing after a truncation), otherwise the range it lies in
(a different root at a size someone signed: the change is below that size and at or
above the largest size that still matches).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep import merkle, signed_note
from doorstep.audit_chain import VerifyResult, leaf_data, verify_chain
from doorstep.audit_chain import verify_checkpoint as verify_chain_checkpoint
from doorstep.hub.models_log import LogCheckpoint
from doorstep.hub.models_requests import AuditHead, AuditRow
from doorstep.hub.services.audit import checkpoints as chain_checkpoints
from doorstep.hub.services.audit import to_entry
from doorstep.receipt import checkpoint_signed_by
from doorstep.signing import Ed25519PublicKey


@dataclass(frozen=True)
class Anchor:
    """A signed tree head to compare with: where it came from, its size and root."""

    source: str
    size: int
    root: bytes
    outside: bool


@dataclass
class LogVerdict:
    ok: bool
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    first_bad_index: int | None = None
    reason: str | None = None
    anchors: int = 0
    outside_anchors: int = 0
    problems: list[str] = field(default_factory=list)


def read_anchor(note: str | bytes, public_key: Ed25519PublicKey, source: str) -> Anchor:
    """A checkpoint note signed by the hub's key (whatever its origin name): an anchor."""
    checkpoint = checkpoint_signed_by(note, public_key)
    return Anchor(source, checkpoint.size, checkpoint.root, outside=True)


def _rows(session: Session, batch: int = 2000) -> Iterator[AuditRow]:
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(batch)
            )
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


def _database_anchors(session: Session) -> Iterator[Anchor]:
    after = -1
    while True:
        rows = list(
            session.scalars(
                select(LogCheckpoint)
                .where(LogCheckpoint.size > after)
                .order_by(LogCheckpoint.size)
                .limit(2000)
            )
        )
        for row in rows:
            yield Anchor("the database", row.size, bytes.fromhex(row.root), outside=False)
        if len(rows) < 2000:
            return
        after = rows[-1].size


def verify_log(
    session: Session,
    public_key: Ed25519PublicKey | None,
    outside: Sequence[Anchor] = (),
) -> LogVerdict:
    """Rebuild the tree from the entries and hold it against every anchor."""
    verdict = LogVerdict(ok=True)
    problems = verdict.problems

    # 1. The latest checkpoint in the database must carry the hub's signature.
    latest = session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()))
    if public_key is not None and latest is not None:
        try:
            checkpoint_signed_by(latest.note, public_key)
        except signed_note.NoteError as exc:
            problems.append(f"the latest checkpoint in the database (size {latest.size}): {exc}")

    # 2. Rebuild, comparing stored leaves, and roots at every anchored size on the way.
    anchors = sorted(outside, key=lambda a: a.size)
    database = _database_anchors(session)
    pending_db = next(database, None)
    stream = merkle.StreamingRoot()
    first_bad: int | None = None
    matched_outside = 0  # the largest outside size known to match: changes lie above it

    def check_at(size: int) -> None:
        nonlocal pending_db, matched_outside, first_bad
        root = stream.root()
        while pending_db is not None and pending_db.size <= size:
            if pending_db.size == size and pending_db.root != root:
                problems.append(
                    f"the checkpoint in the database at size {size} has another root "
                    "than the entries give"
                )
            pending_db = next(database, None)
        for anchor in anchors:
            if anchor.size != size:
                continue
            if anchor.root == root:
                matched_outside = max(matched_outside, size)
            else:
                problems.append(
                    f"a different root at size {size} than {anchor.source} signed: an entry "
                    f"at index {matched_outside} to {size - 1} was changed"
                )
                if first_bad is None:
                    first_bad = matched_outside

    check_at(0)
    for row in _rows(session):
        entry = to_entry(row)
        if entry.index != stream.size:
            problems.append(f"entry {stream.size} is missing (the next one is {entry.index})")
            first_bad = stream.size if first_bad is None else first_bad
            break
        leaf = merkle.leaf_hash(leaf_data(entry))
        if row.leaf_hash != leaf.hex():
            problems.append(f"entry {entry.index} no longer matches its leaf hash (edited)")
            first_bad = entry.index if first_bad is None else min(first_bad, entry.index)
        stream.append(leaf)
        check_at(stream.size)
    size, root = stream.size, stream.root()
    verdict.size, verdict.root = size, root

    # 3. Anchors beyond the end: entries were removed.
    for anchor in [*anchors, *([pending_db] if pending_db else []), *database]:
        if anchor.size > size:
            problems.append(
                f"{anchor.source} signed a tree of {anchor.size} entries but the log holds "
                f"{size}: truncated from index {size}"
            )
            first_bad = size if first_bad is None else min(first_bad, size)
            break

    # 4. The head: the log's own record of its size and root.
    head = session.get(AuditHead, 1)
    if head is None:
        problems.append("the log's head is missing")
        first_bad = size if first_bad is None else first_bad
    elif head.size != size:
        problems.append(f"the head records {head.size} entries but the log holds {size}")
        first_bad = min(head.size, size) if first_bad is None else first_bad
    elif head.root and head.root != root.hex():
        problems.append("the head's root is not the root of the entries")

    # 5. The hash chain the tree grew from (legacy checkpoints still pin it).
    pinned = [
        c
        for c in chain_checkpoints(session)
        if public_key is None or verify_chain_checkpoint(public_key, c)
    ]
    chain = verify_chain((to_entry(row) for row in _rows(session)), checkpoints=pinned)
    if not chain.ok and chain.first_bad_seq is not None:
        problems.append(f"the hash chain breaks at entry {chain.first_bad_seq - 1}: {chain.reason}")
        index = chain.first_bad_seq - 1
        first_bad = index if first_bad is None else min(first_bad, index)

    verdict.anchors = len(anchors) + (1 if latest is not None else 0)
    verdict.outside_anchors = len(anchors)
    verdict.first_bad_index = first_bad
    verdict.ok = not problems
    verdict.reason = problems[0] if problems else None
    return verdict


def verify_database(session: Session, public_key: Ed25519PublicKey | None) -> VerifyResult:
    """:func:`verify_log` without outside anchors, as the API's and the auditor page's
    verdict: ``first_bad_seq`` is the first bad index + 1 (seq counts from 1)."""
    verdict = verify_log(session, public_key)
    head = session.get(AuditHead, 1)
    bad = None if verdict.first_bad_index is None else verdict.first_bad_index + 1
    if not verdict.ok and bad is None:
        bad = verdict.size + 1
    return VerifyResult(verdict.ok, verdict.size, head.hash if head else "", bad, verdict.reason)
