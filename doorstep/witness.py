"""A witness of the hub's audit log: checks that the log only grows, and cosigns it.

A witness runs anywhere but the hub (a journalist's laptop, another city's server). It
keeps the last checkpoint it verified in a state folder; each round it fetches the
hub's latest checkpoint, verifies the hub's signature, and checks that the new tree
extends the old one (same size: same root; larger: an RFC 9162 consistency proof;
smaller: never). Then it cosigns the checkpoint (C2SP ``tlog-cosignature``) and posts
the cosignature to the hub, which serves it with the checkpoint. An operator who
rewrites the log must then show the witness a tree that does not extend what it saw,
and the witness keeps both signed checkpoints as proof anyone can check with the
hub's public key (:func:`fork_proof`, ``doorstep log verify-fork``).

State folder (docs/audit-log.md, "Witnesses"): ``checkpoint`` (the last verified
note, replaced atomically), ``origin`` (the log's name, pinned on the first round),
``name`` and ``witness_ed25519.pem`` (the witness's own key, mode 0600), and an
``alarm-<UTC time>/`` folder per alarm.

This module talks HTTP through an injected ``httpx.Client`` and imports nothing of the
hub: a witness needs no hub code.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from doorstep import merkle, signed_note
from doorstep.errors import DoorstepError
from doorstep.fsutil import fsync_dir
from doorstep.signing import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    key_fingerprint,
    load_or_create_private_key,
)

CHECKPOINT_FILE = "checkpoint"
ORIGIN_FILE = "origin"
NAME_FILE = "name"
KEY_FILE = "witness_ed25519.pem"
SEEN_NOTE = "seen.note"
SERVED_NOTE = "served.note"
SERVED_AT_OLD_SIZE_NOTE = "served-at-old-size.note"
CHECKPOINT_PATH = "/api/v1/log/checkpoint"
CONSISTENCY_PATH = "/api/v1/log/proof/consistency"
COSIGNATURES_PATH = "/api/v1/log/cosignatures"


class WitnessError(DoorstepError):
    """The round could not be completed (hub unreachable, a reply that is not a
    checkpoint); nothing was learnt and the state is untouched."""


class Alarm(DoorstepError):
    """The hub served a log that does not extend the one the witness saw."""

    exit_code = 3

    def __init__(self, message: str, folder: Path) -> None:
        super().__init__(message)
        self.folder = folder


def hub_checkpoint(note: str | bytes, public_key: Ed25519PublicKey) -> signed_note.Checkpoint:
    """The checkpoint of a note that ``public_key`` signed under the note's own origin
    (the hub's key name is its log's origin)."""
    body, _lines = signed_note.parse_note(note)
    origin = signed_note.Checkpoint.parse(body).origin
    return signed_note.verify_checkpoint_note(note, origin, public_key)


def fork_proof(note_a: str | bytes, note_b: str | bytes, public_key: Ed25519PublicKey) -> str:
    """Why two notes prove that the hub signed two different logs, or NoteError why not.

    Uses nothing but the hub's public key: two checkpoints of one origin and one size
    with different roots, both signed by that key, cannot both describe an append-only
    log.
    """
    checkpoints = []
    for label, note in (("first", note_a), ("second", note_b)):
        try:
            checkpoints.append(hub_checkpoint(note, public_key))
        except signed_note.NoteError as exc:
            raise signed_note.NoteError(f"the {label} note: {exc}") from None
    a, b = checkpoints
    if a.origin != b.origin:
        raise signed_note.NoteError(
            f"the notes are for different logs ({a.origin!r} and {b.origin!r})"
        )
    if a.size != b.size:
        raise signed_note.NoteError(
            f"the notes are of different sizes ({a.size} and {b.size}); only a consistency "
            "proof could tell whether one extends the other"
        )
    if a.root == b.root:
        raise signed_note.NoteError(f"both notes sign the same tree of size {a.size}")
    return (
        f"the key {key_fingerprint(public_key)[:16]} signed two different trees of size "
        f"{a.size} for log {a.origin!r}: root {_b64(a.root)} and root {_b64(b.root)}"
    )


@dataclass(frozen=True)
class WitnessState:
    """The witness's folder: its key, name, pinned origin and last verified checkpoint."""

    folder: Path

    def identity(self, name: str | None = None) -> tuple[str, Ed25519PrivateKey, bool]:
        """The witness's name and key, created on first use (``True`` when created now)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        key_path = self.folder / KEY_FILE
        created = not key_path.exists()
        key = load_or_create_private_key(key_path)
        stored = self._read(NAME_FILE)
        if stored is not None and name is not None and name != stored:
            raise WitnessError(
                f"this state folder belongs to witness {stored!r}, not {name!r}: "
                "use another --state folder for another witness"
            )
        if stored is None:
            stored = name or f"witness-{key_fingerprint(key)[:12]}"
            signed_note.key_id(stored, key.public_key())  # the name must be a valid key name
            write_atomic(self.folder / NAME_FILE, stored + "\n")
        return stored, key, created

    def vkey(self, name: str | None = None) -> str:
        stored, key, _created = self.identity(name)
        return signed_note.vkey(stored, key.public_key())

    def origin(self) -> str | None:
        return self._read(ORIGIN_FILE)

    def checkpoint_note(self) -> str | None:
        path = self.folder / CHECKPOINT_FILE
        return path.read_text("utf-8") if path.exists() else None

    def save(self, note: str, origin: str) -> None:
        if self.origin() is None:
            write_atomic(self.folder / ORIGIN_FILE, origin + "\n")
        write_atomic(self.folder / CHECKPOINT_FILE, note)

    def _read(self, name: str) -> str | None:
        path = self.folder / name
        return path.read_text("utf-8").strip() if path.exists() else None


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` so that a crash leaves the old file or the new, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


@dataclass(frozen=True)
class RoundResult:
    size: int
    root: bytes
    previous_size: int | None
    cosigned: bool
    refusal: str | None = None

    def line(self) -> str:
        if self.previous_size is None:
            seen = "first checkpoint, trusted on first use"
        elif self.previous_size == self.size:
            seen = "unchanged"
        else:
            seen = f"consistent with size {self.previous_size}"
        posted = "cosigned" if self.cosigned else f"cosignature refused: {self.refusal}"
        return f"OK: size {self.size} root {_b64(self.root)} ({seen}); {posted}"


class Witness:
    """One witness: a hub's key, a state folder and an HTTP client to the hub."""

    def __init__(
        self,
        client: httpx.Client,
        hub_key: Ed25519PublicKey,
        state: WitnessState,
        name: str | None = None,
    ) -> None:
        self.client = client
        self.hub_key = hub_key
        self.state = state
        self.name, self.key, self.created = state.identity(name)

    def round(self, now: float | None = None) -> RoundResult:
        """Fetch, verify, save and cosign the hub's latest checkpoint; Alarm on a fork."""
        served = self._get_text(CHECKPOINT_PATH)
        try:
            new = hub_checkpoint(served, self.hub_key)
        except signed_note.NoteError as exc:
            raise WitnessError(
                f"the checkpoint the hub served is not signed by its key: {exc}"
            ) from None
        pinned = self.state.origin()
        seen = self.state.checkpoint_note()
        if pinned is not None and new.origin != pinned:
            self._alarm(
                f"the hub now signs log {new.origin!r}, not {pinned!r} that this witness follows",
                seen,
                served,
            )
        old = None if seen is None else hub_checkpoint(seen, self.hub_key)
        if old is not None:
            self._check_extends(old, new, seen or "", served)
        self.state.save(served, new.origin)
        return self._cosign(new, old, int(time.time() if now is None else now))

    def _check_extends(
        self, old: signed_note.Checkpoint, new: signed_note.Checkpoint, seen: str, served: str
    ) -> None:
        if new.size < old.size:
            self._alarm(
                f"the hub serves a tree of {new.size} entries after signing one of {old.size}: "
                "the log was truncated or rolled back",
                seen,
                served,
            )
        if new.size == old.size:
            if new.root != old.root:
                self._alarm(
                    f"the hub signed two different trees of size {new.size}: the log was rewritten",
                    seen,
                    served,
                )
            return
        reply = self._get(CONSISTENCY_PATH, params={"old": old.size, "new": new.size})
        proof = _proof_hashes(reply) if reply.status_code == 200 else None
        if proof is not None and merkle.verify_consistency(
            old.size, new.size, old.root, new.root, proof
        ):
            return
        why = (
            "the consistency proof does not verify"
            if reply.status_code == 200
            else f"the hub gave no consistency proof (HTTP {reply.status_code})"
        )
        extra = self._served_at(old.size)
        self._alarm(
            f"the tree of {new.size} entries does not extend the tree of {old.size} this "
            f"witness saw: {why}",
            seen,
            served,
            extra,
        )

    def _served_at(self, size: int) -> str | None:
        """What the hub serves now as the checkpoint of ``size``: a fork with ``seen``."""
        try:
            reply = self._get(f"/api/v1/log/checkpoints/{size}")
        except WitnessError:
            return None
        return reply.text if reply.status_code == 200 else None

    def _alarm(
        self, message: str, seen: str | None, served: str, served_at_old: str | None = None
    ) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        folder = self.state.folder / f"alarm-{stamp}"
        folder.mkdir(parents=True)
        files = {SEEN_NOTE: seen, SERVED_NOTE: served, SERVED_AT_OLD_SIZE_NOTE: served_at_old}
        for name, text in files.items():
            if text is not None:
                write_atomic(folder / name, text)
        pair = SERVED_AT_OLD_SIZE_NOTE if served_at_old is not None else SERVED_NOTE
        raise Alarm(f"{message}; both checkpoints saved in {folder} ({SEEN_NOTE}, {pair})", folder)

    def _cosign(
        self, new: signed_note.Checkpoint, old: signed_note.Checkpoint | None, now: int
    ) -> RoundResult:
        line = signed_note.cosign(new.body(), self.name, self.key, now)
        previous = None if old is None else old.size
        try:
            reply = self.client.post(
                COSIGNATURES_PATH, json={"size": new.size, "line": line.text()}
            )
        except httpx.HTTPError as exc:
            return RoundResult(new.size, new.root, previous, False, f"cannot reach the hub: {exc}")
        if reply.status_code in (200, 201):
            return RoundResult(new.size, new.root, previous, True)
        return RoundResult(
            new.size, new.root, previous, False, f"HTTP {reply.status_code} {_detail(reply)}"
        )

    def _get(self, path: str, params: dict[str, int] | None = None) -> httpx.Response:
        try:
            reply = self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise WitnessError(f"cannot reach the hub at {self.client.base_url}: {exc}") from None
        if reply.status_code >= 500:
            raise WitnessError(f"the hub answered {path} with HTTP {reply.status_code}")
        return reply

    def _get_text(self, path: str) -> str:
        reply = self._get(path)
        if reply.status_code != 200:
            raise WitnessError(
                f"the hub answered {path} with HTTP {reply.status_code} {_detail(reply)}"
            )
        return reply.text


def _proof_hashes(reply: httpx.Response) -> list[bytes] | None:
    try:
        data = reply.json()
        return [base64.b64decode(h, validate=True) for h in data["proof"]]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def _detail(reply: httpx.Response) -> str:
    try:
        detail = reply.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = str(detail) if detail else reply.text
    return re.sub(r"\s+", " ", text)[:200]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
