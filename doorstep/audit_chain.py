"""The hash-chained audit log: hashing, verification and signed checkpoints.

Every request, share, view and export is an audit row. Each row's hash covers the
previous row's hash, so editing, deleting or reordering any row breaks the chain
at that row; signed checkpoints of the head hash stop an operator from quietly
rewriting the whole chain. This module is pure: rows in, verdicts out; the hub
stores the rows and ``doorstep audit verify`` prints the verdict.

Format (a public contract: independent verifiers must reproduce it)
------------------------------------------------------------------
* ``hash = sha256(prev_hash_hex_ascii + canonical_json(row)).hexdigest()``,
  lowercase hex; the first row's ``prev_hash`` is :data:`GENESIS` (64 zeros).
* ``canonical_json(row)`` is the UTF-8 of ``json.dumps({"seq", "time", "actor",
  "action", "subject", "details"}, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)``; ``time`` is ISO-8601 UTC with microseconds and a ``Z``,
  e.g. ``2024-05-01T14:00:00.000000Z``. NaN and infinities are refused.
* Sequence numbers start at 1 and increase by exactly 1.
* A checkpoint is ``{"seq", "head_hash", "time", "signature"}``; the signature is
  Ed25519 over the canonical JSON of ``{"seq", "head_hash", "time"}``, base64.

Decisions
---------
* Naive datetimes are read as UTC: SQLite drops the timezone on the way through
  SQLAlchemy, and a row must hash the same after a round trip.
* Verification stops at the first broken row and names its ``seq``; ``count`` is
  the number of rows verified good before it, ``head_hash`` the last good hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from doorstep.signing import Ed25519PrivateKey, Ed25519PublicKey, sign, verify

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    seq: int
    time: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""
    salt: str = ""  # hex; the leaf commits to it (see leaf_data); empty before the tree

    @property
    def index(self) -> int:
        """The entry's leaf number in the log's Merkle tree (seq counts from 1)."""
        return self.seq - 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used in evidence bundles, receipts and the API)."""
        row = {
            "seq": self.seq,
            "time": format_time(self.time),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
        if self.salt:
            row["salt"] = self.salt
        return row

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> AuditEntry:
        """Inverse of :meth:`to_dict`; ``time`` may be a datetime or ISO text."""
        time = row["time"]
        if isinstance(time, str):
            time = datetime.fromisoformat(time)
        return cls(
            seq=int(row["seq"]),
            time=time,
            actor=str(row["actor"]),
            action=str(row["action"]),
            subject=str(row["subject"]),
            details=dict(row.get("details") or {}),
            prev_hash=str(row["prev_hash"]),
            hash=str(row["hash"]),
            salt=str(row.get("salt") or ""),
        )


@dataclass(frozen=True)
class VerifyResult:
    """The verdict on a chain: where it first breaks, if anywhere, and why."""

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None


def format_time(value: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z``; naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(data: Mapping[str, Any]) -> bytes:
    """The one byte form of a JSON object that hashes and signatures are taken over."""
    text = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def row_payload(entry: AuditEntry) -> bytes:
    """The canonical JSON of the hashed fields of a row."""
    return canonical_json(
        {
            "seq": entry.seq,
            "time": format_time(entry.time),
            "actor": entry.actor,
            "action": entry.action,
            "subject": entry.subject,
            "details": entry.details,
        }
    )


def leaf_data(entry: AuditEntry) -> bytes:
    """The bytes leaf ``entry.index`` of the log's Merkle tree hashes (RFC 9162 leaf input).

    Canonical JSON of the entry's fields, its index and its secret salt. The leaf hash
    is public; without the salt nobody can confirm a guessed entry (``login:<email>``)
    by hashing it.
    """
    return canonical_json(
        {
            "index": entry.index,
            "time": format_time(entry.time),
            "actor": entry.actor,
            "action": entry.action,
            "subject": entry.subject,
            "details": entry.details,
            "salt": entry.salt,
        }
    )


def compute_hash(prev_hash: str, entry: AuditEntry) -> str:
    """``sha256(prev_hash || canonical JSON of the row)`` as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + row_payload(entry)).hexdigest()


def next_entry(
    head: AuditEntry | None,
    *,
    time: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """The row that follows ``head`` (or the first row), with its hash filled in."""
    seq = 1 if head is None else head.seq + 1
    prev = GENESIS if head is None else head.hash
    draft = AuditEntry(seq, time, actor, action, subject, dict(details or {}), prev)
    return replace(draft, hash=compute_hash(prev, draft))


def verify_chain(
    entries: Iterable[AuditEntry],
    *,
    prev_hash: str = GENESIS,
    first_seq: int | None = 1,
    checkpoints: Iterable[Mapping[str, Any]] = (),
) -> VerifyResult:
    """Recompute the chain and report the first broken row.

    By default the chain must start at seq 1 from :data:`GENESIS`. To verify a
    later segment pass the ``prev_hash`` of the row before it (and its
    ``first_seq``, or ``None`` to accept any). ``checkpoints`` whose signatures
    the caller has already verified pin the hash a row must have at their seq,
    which catches a chain rewritten and re-hashed from some row onwards, or one
    cut short before a checkpointed row.
    """
    pinned = {int(c["seq"]): str(c["head_hash"]) for c in checkpoints}
    expected_seq, count, head = first_seq, 0, prev_hash
    last_seq: int | None = None if first_seq is None else first_seq - 1
    for entry in entries:
        reason = _row_problem(entry, expected_seq, head, pinned)
        if reason is not None:
            return VerifyResult(False, count, head, entry.seq, reason)
        count, head, expected_seq, last_seq = count + 1, entry.hash, entry.seq + 1, entry.seq
    beyond = [seq for seq in pinned if last_seq is None or seq > last_seq]
    if beyond:
        missing = 1 if last_seq is None else last_seq + 1
        reason = (
            f"the chain ends before seq {max(beyond)}, which a signed checkpoint covers: "
            "rows were removed from the end"
        )
        return VerifyResult(False, count, head, missing, reason)
    return VerifyResult(True, count, head)


def _row_problem(
    entry: AuditEntry, expected_seq: int | None, prev_hash: str, pinned: Mapping[int, str]
) -> str | None:
    if expected_seq is not None and entry.seq != expected_seq:
        if entry.seq > expected_seq:
            return f"seq {entry.seq} follows {expected_seq - 1}: rows are missing"
        return f"seq {entry.seq} follows {expected_seq - 1}: rows are out of order or repeated"
    if entry.prev_hash != prev_hash:
        return f"seq {entry.seq}: prev_hash does not match the previous row's hash"
    if compute_hash(entry.prev_hash, entry) != entry.hash:
        return f"seq {entry.seq}: hash does not match the row's contents (row edited)"
    if entry.seq in pinned and pinned[entry.seq] != entry.hash:
        return f"seq {entry.seq}: hash differs from the signed checkpoint (history rewritten)"
    return None


def checkpoint_payload(seq: int, head_hash: str, time: datetime | str) -> bytes:
    """What a checkpoint signature covers."""
    text = time if isinstance(time, str) else format_time(time)
    return canonical_json({"seq": seq, "head_hash": head_hash, "time": text})


def sign_checkpoint(
    private_key: Ed25519PrivateKey, seq: int, head_hash: str, time: datetime
) -> dict[str, Any]:
    """A signed statement that the chain's row ``seq`` has hash ``head_hash``."""
    stamp = format_time(time)
    signature = sign(private_key, checkpoint_payload(seq, head_hash, stamp))
    return {
        "seq": seq,
        "head_hash": head_hash,
        "time": stamp,
        "signature": base64.b64encode(signature).decode("ascii"),
    }


def verify_checkpoint(public_key: Ed25519PublicKey, checkpoint: Mapping[str, Any]) -> bool:
    """Whether the checkpoint was signed by ``public_key`` and is unaltered."""
    try:
        seq, head_hash, stamp = checkpoint["seq"], checkpoint["head_hash"], checkpoint["time"]
        signature = base64.b64decode(checkpoint["signature"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return False
    if not (isinstance(seq, int) and isinstance(head_hash, str) and isinstance(stamp, str)):
        return False
    return verify(public_key, checkpoint_payload(seq, head_hash, stamp), signature)
