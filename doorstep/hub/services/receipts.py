"""Receipts for the people concerned: an audit entry with a signed checkpoint and proof.

A receipt (:mod:`doorstep.receipt`) is handed to the entry's actor (the owner who
answered, the officer who viewed) and to auditors and admins, who read the whole log
anyway. Anyone else asking gets the same "not found" as for a seq that does not exist,
so receipts cannot be used to learn who did what, or how big the log is.

The checkpoint in a receipt is the latest (with the cosignatures witnesses posted), and
the proof is at that checkpoint's size: the strongest statement the hub can make now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.errors import NotFound
from doorstep.hub.models import Role, User
from doorstep.hub.models_requests import AuditRow
from doorstep.hub.services import audit, tlog
from doorstep.receipt import make_receipt

RECEIPT_ACTIONS = (
    "request.share",
    "request.decline",
    "request.revoke",
    "owner.opt_out",
    "clip.view",
    "clip.download",
    "evidence.export",
)
"""The entries a person is offered a receipt for (any entry of theirs can be fetched)."""

READS_EVERY_RECEIPT = frozenset({Role.auditor.value, Role.admin.value})
MAX_LISTED = 1000


@dataclass(frozen=True)
class ReceiptRef:
    """One receipt on offer: which entry, what it records, about what and when."""

    seq: int
    action: str
    subject: str
    time: str


def may_read(user: User, actor: str) -> bool:
    """The one rule, for the API and the pages: the entry's actor, an auditor or an admin."""
    return user.role in READS_EVERY_RECEIPT or actor == audit.actor_of(user)


def receipt(session: Session, user: User, seq: int) -> dict[str, Any]:
    """The receipt of entry ``seq``, for someone :func:`may_read` allows; NotFound otherwise."""
    row = session.get(AuditRow, seq)
    if row is None or not may_read(user, row.actor):
        raise NotFound(f"you have no receipt {seq}")
    entry = audit.to_entry(row)
    checkpoint = tlog.latest(session)
    proof = tlog.inclusion(session, entry.index, checkpoint.size)
    note = tlog.with_cosignatures(session, checkpoint)
    return make_receipt(entry, bytes.fromhex(row.leaf_hash), note, proof)


def own_receipts(session: Session, user: User, subject: str | None = None) -> list[ReceiptRef]:
    """The caller's own receipt-worthy entries, newest first (at most 1,000)."""
    query = select(AuditRow.seq, AuditRow.action, AuditRow.subject, AuditRow.time).where(
        AuditRow.actor == audit.actor_of(user), AuditRow.action.in_(RECEIPT_ACTIONS)
    )
    if subject is not None:
        query = query.where(AuditRow.subject == subject)
    rows = session.execute(query.order_by(AuditRow.seq.desc()).limit(MAX_LISTED)).all()
    return [ReceiptRef(seq, action, subject_, time) for seq, action, subject_, time in rows]


def by_request(refs: list[ReceiptRef]) -> dict[str, list[ReceiptRef]]:
    """Receipts grouped by the request they are about (key: the request id), oldest first;
    entries about no request (an opt-out from Settings) under ``""``."""
    grouped: dict[str, list[ReceiptRef]] = {}
    for ref in sorted(refs, key=lambda r: r.seq):
        kind, _sep, ident = ref.subject.partition(":")
        grouped.setdefault(ident if kind == "request" else "", []).append(ref)
    return grouped
