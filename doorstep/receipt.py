"""Receipts: proof, kept by the person concerned, that an audit entry is in the log.

Each owner's answer (share, decline, opt-out, revoke) and each officer's view, download
and export gives its actor a receipt: the entry (with its secret salt), its index, a
checkpoint signed by the hub that contains it, and the RFC 9162 inclusion proof from the
entry's leaf to that checkpoint's root. With nothing but the hub's public key anyone can
check it offline (:func:`verify_receipt`); with a later checkpoint and a consistency proof
from the hub, that the entry is still in the log (:func:`verify_still_included`). An
owner can so show, years on, that their "decline" was recorded and never rewritten.

This module is pure: JSON in, verdicts out, no I/O.

Format (a public contract, version 1)
-------------------------------------
UTF-8 JSON object:

* ``format``: ``"doorstep-receipt"``; ``format_version``: ``1``;
* ``entry``: the audit entry as :meth:`AuditEntry.to_dict` writes it, salt included;
* ``index``: its leaf number (``entry.seq - 1``);
* ``leaf_hash``: base64 of the leaf hash the hub stored, ``SHA-256(0x00 || leaf_data)``;
* ``checkpoint``: the signed note (C2SP tlog-checkpoint) of a tree that contains the
  entry, possibly with witnesses' cosignatures;
* ``inclusion_proof``: base64 hashes, leaf side first (RFC 9162 section 2.1.3).

Decisions
---------
* Verdicts name the part that failed, in words a person can repeat: "entry altered",
  "proof does not lead to the checkpoint's root", "checkpoint not signed by this hub
  key". An altered entry is told apart from an altered proof by the entry's own hashes
  (its hash-chain hash and the leaf hash): a careless edit is named as such; one that
  also recomputes them still fails, at the proof.
* The checkpoint must be signed by the given key under the checkpoint's own origin, so
  a hub that renamed its log still verifies; a later checkpoint must keep that origin.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from doorstep import merkle, signed_note
from doorstep.audit_chain import AuditEntry, compute_hash, leaf_data
from doorstep.errors import InvalidInput
from doorstep.signing import Ed25519PublicKey

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ReceiptError",
    "ReceiptVerdict",
    "b64",
    "b64decode",
    "checkpoint_signed_by",
    "inclusion_problem",
    "make_receipt",
    "verify_receipt",
    "verify_still_included",
]

FORMAT = "doorstep-receipt"
FORMAT_VERSION = 1

ENTRY_ALTERED = "entry altered"
PROOF_FAILS = "proof does not lead to the checkpoint's root"
NOT_SIGNED = "checkpoint not signed by this hub key"


class ReceiptError(InvalidInput, ValueError):
    """A receipt that cannot even be read: not JSON, a field missing or of the wrong type."""


@dataclass(frozen=True)
class ReceiptVerdict:
    """The verdict on a receipt; ``part`` names what failed: ``format``, ``checkpoint``,
    ``entry``, ``proof`` or ``consistency`` (``None`` when ``ok``)."""

    ok: bool
    message: str
    part: str | None = None
    entry: AuditEntry | None = None
    checkpoint: signed_note.Checkpoint | None = None


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def b64decode(text: object, what: str) -> bytes:
    """A 32-byte hash from canonical base64; :class:`ReceiptError` otherwise."""
    if not isinstance(text, str):
        raise ReceiptError(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ReceiptError(f"{what} is not valid base64") from None
    if len(raw) != merkle.HASH_SIZE or b64(raw) != text:
        raise ReceiptError(f"{what} is not the canonical base64 of a 32-byte hash")
    return raw


def checkpoint_signed_by(note: str | bytes, public_key: Ed25519PublicKey) -> signed_note.Checkpoint:
    """The checkpoint of a note that ``public_key`` signed under the note's own origin."""
    body, _lines = signed_note.parse_note(note)
    origin = signed_note.Checkpoint.parse(body).origin
    return signed_note.verify_checkpoint_note(note, origin, public_key)


def make_receipt(
    entry: AuditEntry, leaf_hash: bytes, checkpoint_note: str, proof: Sequence[bytes]
) -> dict[str, Any]:
    """The receipt of ``entry``: what the hub hands its actor."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "entry": entry.to_dict(),
        "index": entry.index,
        "leaf_hash": b64(leaf_hash),
        "checkpoint": checkpoint_note,
        "inclusion_proof": [b64(p) for p in proof],
    }


@dataclass(frozen=True)
class _Parsed:
    entry: AuditEntry
    index: int
    leaf_hash: bytes
    note: str
    proof: list[bytes]


def _parse(receipt: Mapping[str, Any] | str | bytes) -> _Parsed:
    if isinstance(receipt, str | bytes):
        try:
            receipt = json.loads(receipt)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ReceiptError(f"not JSON: {exc}") from None
    if not isinstance(receipt, Mapping) or receipt.get("format") != FORMAT:
        raise ReceiptError(f"not a {FORMAT} file")
    if receipt.get("format_version") != FORMAT_VERSION:
        raise ReceiptError(f"unsupported format_version {receipt.get('format_version')!r}")
    index, note = receipt.get("index"), receipt.get("checkpoint")
    proof = receipt.get("inclusion_proof")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ReceiptError("index is not a non-negative integer")
    if not isinstance(note, str):
        raise ReceiptError("checkpoint is not a signed note's text")
    if not isinstance(proof, list):
        raise ReceiptError("inclusion_proof is not a list")
    try:
        entry = AuditEntry.from_dict(receipt.get("entry"))  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReceiptError(f"entry is malformed: {exc!r}") from None
    hashes = [b64decode(p, f"inclusion_proof[{n}]") for n, p in enumerate(proof)]
    return _Parsed(entry, index, b64decode(receipt.get("leaf_hash"), "leaf_hash"), note, hashes)


def verify_receipt(
    receipt: Mapping[str, Any] | str | bytes, public_key: Ed25519PublicKey
) -> ReceiptVerdict:
    """Check a receipt offline against the hub's public key; never raises on bad input."""
    try:
        parsed = _parse(receipt)
    except ReceiptError as exc:
        return ReceiptVerdict(False, f"receipt malformed: {exc}", "format")
    try:
        checkpoint = checkpoint_signed_by(parsed.note, public_key)
    except signed_note.NoteError as exc:
        return ReceiptVerdict(False, f"{NOT_SIGNED}: {exc}", "checkpoint", parsed.entry)
    entry = parsed.entry
    problem = _entry_problem(parsed)
    if problem is not None:
        return ReceiptVerdict(False, f"{ENTRY_ALTERED}: {problem}", "entry", entry, checkpoint)
    if parsed.index >= checkpoint.size:
        return ReceiptVerdict(
            False,
            f"{PROOF_FAILS}: the checkpoint's tree has {checkpoint.size} entries, "
            f"so it cannot hold index {parsed.index}",
            "proof",
            entry,
            checkpoint,
        )
    if not merkle.verify_inclusion(
        parsed.index, checkpoint.size, parsed.leaf_hash, parsed.proof, checkpoint.root
    ):
        return ReceiptVerdict(
            False,
            f"{PROOF_FAILS} (index {parsed.index}, tree of {checkpoint.size} entries)",
            "proof",
            entry,
            checkpoint,
        )
    return ReceiptVerdict(
        True,
        f"entry {parsed.index} ({entry.action} by {entry.actor}) is in the log "
        f"{checkpoint.origin} of {checkpoint.size} entries signed by this hub key",
        None,
        entry,
        checkpoint,
    )


def _entry_problem(parsed: _Parsed) -> str | None:
    entry = parsed.entry
    if not entry.salt:
        return "the entry has no salt, so its leaf cannot be recomputed"
    if parsed.index != entry.index:
        return f"the receipt's index {parsed.index} is not the entry's (seq {entry.seq})"
    if compute_hash(entry.prev_hash, entry) != entry.hash:
        return f"entry {entry.index}'s fields no longer match its hash"
    if merkle.leaf_hash(leaf_data(entry)) != parsed.leaf_hash:
        return f"entry {entry.index} and its salt no longer give the receipt's leaf hash"
    return None


def verify_still_included(
    verdict: ReceiptVerdict,
    latest_note: str | bytes,
    consistency_proof: Sequence[bytes],
    public_key: Ed25519PublicKey,
) -> ReceiptVerdict:
    """Extend a good receipt's verdict to a later checkpoint the hub serves now.

    The later checkpoint must be signed by the same key for the same log, no smaller, and
    the consistency proof (RFC 9162) must show the receipt's tree is a prefix of it: then
    the entry is still in the log, unchanged.
    """
    old = verdict.checkpoint
    if not verdict.ok or old is None:
        return verdict
    try:
        new = checkpoint_signed_by(latest_note, public_key)
    except signed_note.NoteError as exc:
        return ReceiptVerdict(
            False, f"the hub's latest {NOT_SIGNED}: {exc}", "consistency", verdict.entry, old
        )
    if new.origin != old.origin:
        message = f"the hub's latest checkpoint is for log {new.origin!r}, not {old.origin!r}"
        return ReceiptVerdict(False, message, "consistency", verdict.entry, old)
    if new.size < old.size:
        message = (
            f"the hub's latest checkpoint has {new.size} entries, fewer than the "
            f"{old.size} of the receipt's: the log was truncated"
        )
        return ReceiptVerdict(False, message, "consistency", verdict.entry, old)
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, consistency_proof):
        message = (
            f"the consistency proof from size {old.size} to {new.size} fails: the hub's "
            "log no longer extends the tree in the receipt (history rewritten)"
        )
        return ReceiptVerdict(False, message, "consistency", verdict.entry, old)
    return ReceiptVerdict(
        True,
        f"{verdict.message}; still included in the latest checkpoint of {new.size} entries",
        None,
        verdict.entry,
        new,
    )


def inclusion_problem(row: Mapping[str, Any], checkpoint: signed_note.Checkpoint) -> str | None:
    """Why an audit row carrying ``index`` and ``inclusion_proof`` (as an evidence bundle's
    rows do) is not shown to be in ``checkpoint``'s tree; ``None`` when it is."""
    try:
        entry = AuditEntry.from_dict(row)
        proof = row["inclusion_proof"]
        if not isinstance(proof, list):
            raise ReceiptError("inclusion_proof is not a list")
        hashes = [b64decode(p, f"inclusion_proof[{n}]") for n, p in enumerate(proof)]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"its inclusion proof cannot be read: {exc}"
    if not entry.salt:
        return f"{ENTRY_ALTERED}: the entry has no salt, so its leaf cannot be recomputed"
    if row.get("index") != entry.index:
        return f"{ENTRY_ALTERED}: index {row.get('index')!r} is not the entry's (seq {entry.seq})"
    leaf = merkle.leaf_hash(leaf_data(entry))
    if not merkle.verify_inclusion(entry.index, checkpoint.size, leaf, hashes, checkpoint.root):
        return f"{PROOF_FAILS} (index {entry.index}, tree of {checkpoint.size} entries)"
    return None
