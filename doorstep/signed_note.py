"""Signed notes (C2SP): checkpoints of the audit log and witnesses' cosignatures.

The hub publishes each Merkle tree head of the audit log as a checkpoint
(c2sp.org/tlog-checkpoint) in a signed note (c2sp.org/signed-note), and witnesses
add cosignatures (c2sp.org/tlog-cosignature, ``cosignature/v1``). Using the
published formats, not our own, lets existing tools (the Go ``sumdb/note``
package, transparency-dev witnesses) check our log, and lets us check theirs.

This module is pure: bytes in, bytes out, no I/O, no clock.

Decisions
---------
* Notes arrive from the network, so parsing is strict and bounded: at most 1 MiB,
  at most 100 signature lines, UTF-8 without control characters other than
  newline, canonical base64 only. Every failure is a ``NoteError`` whose message
  says what is wrong.
* A checkpoint body has exactly one text form: the size has no leading zeros and
  the root hash is canonical base64, so ``Checkpoint.parse(b).body() == b``.
* A note is accepted only if the trusted key signed it and none of that key's
  lines fails to verify (signed-note: a known key's bad signature rejects the note).
* Key IDs and verifier keys ("vkeys") follow golang.org/x/mod/sumdb/note, so a
  hub key can be handed to Go tools unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from doorstep.errors import InvalidInput

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteError",
    "SignatureLine",
    "add_signatures",
    "cosign",
    "key_id",
    "parse_note",
    "public_key_from_vkey",
    "sign_note",
    "verify_checkpoint_note",
    "verify_cosignature",
    "vkey",
]

ALG_ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (signed-note)."""
ALG_COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 cosignatures (tlog-cosignature)."""
MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100

_DASH = "\u2014 "  # EM DASH and a space open every signature line
_COSIG_HEADER = b"cosignature/v1\n"
_MAX_TIMESTAMP = (1 << 63) - 1
_MAX_TREE_SIZE = (1 << 63) - 1
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,18}")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX8_RE = re.compile(r"[0-9a-f]{8}")


class NoteError(InvalidInput, ValueError):
    """A note, checkpoint, signature or key that is malformed or does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """A tree head as tlog-checkpoint text: origin, size, root hash, extensions."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Refuse at construction what ``parse`` would refuse, so body() always
        # yields text that other implementations accept.
        if not self.origin or "\n" in self.origin or _CONTROL_RE.search(self.origin):
            raise NoteError(f"Checkpoint origin {self.origin!r} must be one non-empty line.")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise NoteError(f"Checkpoint size must be an integer, not {self.size!r}.")
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise NoteError(f"Checkpoint size {self.size} is outside 0..2^63-1.")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise NoteError("Checkpoint root hash must be 32 bytes (SHA-256).")
        for line in self.extensions:
            if not line or "\n" in line or _CONTROL_RE.search(line):
                raise NoteError(f"Checkpoint extension {line!r} must be one non-empty line.")

    def body(self) -> bytes:
        """The exact bytes that are signed and cosigned."""
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes | str) -> Checkpoint:
        """Read a checkpoint body strictly, keeping any extension lines."""
        text = _decode(body, "checkpoint")
        if not text.endswith("\n"):
            raise NoteError("Checkpoint body must end with a newline.")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(
                f"Checkpoint body has {len(lines)} line(s); it needs origin, size and root hash."
            )
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise NoteError("Checkpoint origin (line 1) is empty.")
        if not _SIZE_RE.fullmatch(size_text) or int(size_text) > _MAX_TREE_SIZE:
            raise NoteError(
                f"Checkpoint tree size (line 2) {size_text[:40]!r} is not a decimal number "
                "without leading zeros in 0..2^63-1."
            )
        root = _b64decode(root_text, "checkpoint root hash (line 3)")
        if len(root) != 32:
            raise NoteError(f"Checkpoint root hash (line 3) is {len(root)} bytes, not 32.")
        if any(not line for line in extensions):
            raise NoteError("Checkpoint extension lines must not be empty.")
        return cls(origin, int(size_text), root, tuple(extensions))


@dataclass(frozen=True)
class SignatureLine:
    """One ``— name base64(key ID || signature)`` line of a signed note."""

    name: str
    key_id: bytes
    signature: bytes  # everything after the key ID (for a cosignature: timestamp + sig)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.key_id, bytes) or len(self.key_id) != 4:
            raise NoteError("A signature's key ID must be 4 bytes.")
        if not isinstance(self.signature, bytes) or not self.signature:
            raise NoteError(f"The signature by {self.name} is empty.")

    def text(self) -> str:
        """The line as it appears in a note, newline included."""
        return f"{_DASH}{self.name} {_b64(self.key_id + self.signature)}\n"


def key_id(name: str, public_key: Ed25519PublicKey, alg: int = ALG_ED25519) -> bytes:
    """SHA-256(name || "\\n" || alg || raw public key)[:4], as signed-note recommends."""
    _check_name(name)
    if not 0 <= alg <= 0xFF:
        raise NoteError(f"Signature type {alg} is not a byte.")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + _raw(public_key))
    return digest.digest()[:4]


def sign_note(body: bytes, name: str, key: Ed25519PrivateKey) -> str:
    """``body``, a blank line and one Ed25519 signature line by ``name``."""
    text = _check_body(body)
    line = SignatureLine(name, key_id(name, key.public_key()), key.sign(body))
    return text + "\n" + line.text()


def parse_note(text: str | bytes) -> tuple[bytes, list[SignatureLine]]:
    """Split a signed note into its body (ending in newline) and signature lines.

    Nothing is verified here; exact duplicate lines are reported once.
    """
    note = _decode(text, "note")
    if not note.endswith("\n"):
        raise NoteError("The note does not end with a newline; it may be truncated.")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("The note has no blank line before its signatures.")
    body, sig_text = note[: split + 1], note[split + 2 :]
    if not sig_text:
        raise NoteError("The note has no signature lines after its blank line.")
    raw_lines = sig_text[:-1].split("\n")
    if len(raw_lines) > MAX_SIGNATURES:
        raise NoteError(f"The note has {len(raw_lines)} signatures; at most {MAX_SIGNATURES}.")
    lines: list[SignatureLine] = []
    for number, raw in enumerate(raw_lines, start=1):
        line = _parse_signature_line(raw, number)
        if line not in lines:
            lines.append(line)
    return body.encode("utf-8"), lines


def add_signatures(note: str, lines: Iterable[SignatureLine]) -> str:
    """The same note with ``lines`` appended, skipping lines it already carries.

    Only identical lines count as duplicates: a line that shares a key with one
    already there is kept too, because nothing is verified here and an unverified
    line must never push out a valid one. Callers verify what they add.
    """
    body, present = parse_note(note)
    merged = list(present)
    for line in lines:
        if line not in merged:
            merged.append(line)
    if len(merged) > MAX_SIGNATURES:
        raise NoteError(f"The note would carry {len(merged)} signatures; at most {MAX_SIGNATURES}.")
    result = body.decode("utf-8") + "\n" + "".join(line.text() for line in merged)
    if len(result.encode("utf-8")) > MAX_NOTE_BYTES:
        raise NoteError(f"The note would exceed {MAX_NOTE_BYTES} bytes.")
    return result


def verify_checkpoint_note(
    note: str | bytes, name: str, public_key: Ed25519PublicKey
) -> Checkpoint:
    """The checkpoint in ``note``, once ``name``'s key has signed it and it is its log's.

    Lines by other keys (witnesses, rotated keys) are ignored, as signed-note requires.
    """
    body, lines = parse_note(note)
    kid = key_id(name, public_key)
    mine = [line for line in lines if line.name == name and line.key_id == kid]
    if not mine:
        present = ", ".join(f"{line.name}+{line.key_id.hex()}" for line in lines)
        raise NoteError(f"The note has no signature by {name}+{kid.hex()} (it has: {present}).")
    for line in mine:
        if len(line.signature) != 64:
            raise NoteError(
                f"The signature by {name}+{kid.hex()} is {len(line.signature)} bytes, not 64."
            )
        try:
            public_key.verify(line.signature, body)
        except InvalidSignature:
            raise NoteError(
                f"The signature by {name}+{kid.hex()} does not match the note's text: "
                "the text or the signature was altered."
            ) from None
    checkpoint = Checkpoint.parse(body)
    if checkpoint.origin != name:
        raise NoteError(
            f"The checkpoint is for log {checkpoint.origin!r}, not {name!r}: "
            "a valid signature on another log's checkpoint."
        )
    return checkpoint


def cosign(
    checkpoint_body: bytes, name: str, key: Ed25519PrivateKey, timestamp: int
) -> SignatureLine:
    """A ``cosignature/v1`` line by witness ``name`` over a checkpoint at ``timestamp``."""
    Checkpoint.parse(checkpoint_body)
    _check_timestamp(timestamp)
    signature = key.sign(_cosigned_message(checkpoint_body, timestamp))
    kid = key_id(name, key.public_key(), ALG_COSIGNATURE_V1)
    return SignatureLine(name, kid, timestamp.to_bytes(8, "big") + signature)


def verify_cosignature(
    checkpoint_body: bytes, line: SignatureLine, name: str, public_key: Ed25519PublicKey
) -> int:
    """The time (Unix seconds) at which witness ``name`` cosigned this checkpoint."""
    Checkpoint.parse(checkpoint_body)
    kid = key_id(name, public_key, ALG_COSIGNATURE_V1)
    if line.name != name or line.key_id != kid:
        raise NoteError(
            f"The cosignature is by {line.name}+{line.key_id.hex()}, not {name}+{kid.hex()}."
        )
    if len(line.signature) != 8 + 64:
        raise NoteError(
            f"The cosignature by {name} is {len(line.signature)} bytes, not 72 "
            "(8-byte timestamp and 64-byte signature)."
        )
    timestamp = int.from_bytes(line.signature[:8], "big")
    _check_timestamp(timestamp)
    try:
        public_key.verify(line.signature[8:], _cosigned_message(checkpoint_body, timestamp))
    except InvalidSignature:
        raise NoteError(
            f"The cosignature by {name} does not match this checkpoint and time."
        ) from None
    return timestamp


def public_key_from_vkey(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """Name and Ed25519 key from a Go-style verifier key ``name+keyid+base64(0x01||key)``."""
    if len(vkey) > 1000:
        raise NoteError("The verifier key is too long.")
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("A verifier key has the form NAME+KEYID+BASE64KEY.")
    name, hex_id, key_text = parts
    _check_name(name)
    if not _HEX8_RE.fullmatch(hex_id):
        raise NoteError(f"The verifier key's ID {hex_id!r} is not 8 lowercase hex digits.")
    raw = _b64decode(key_text, "verifier key")
    if not raw or raw[0] != ALG_ED25519:
        alg = f"0x{raw[0]:02x}" if raw else "none"
        raise NoteError(f"The verifier key has signature type {alg}; only Ed25519 (0x01) is used.")
    if len(raw) != 33:
        raise NoteError(f"The verifier key holds {len(raw) - 1} bytes, not a 32-byte Ed25519 key.")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    except ValueError as exc:
        raise NoteError(f"The verifier key is not a valid Ed25519 key: {exc}") from None
    if key_id(name, public_key).hex() != hex_id:
        raise NoteError(f"The verifier key's ID {hex_id} does not match its name and key.")
    return name, public_key


def vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """The Go-style verifier key for ``name`` and ``public_key``."""
    kid = key_id(name, public_key)
    return f"{name}+{kid.hex()}+{_b64(bytes([ALG_ED25519]) + _raw(public_key))}"


def _cosigned_message(checkpoint_body: bytes, timestamp: int) -> bytes:
    return _COSIG_HEADER + b"time %d\n" % timestamp + checkpoint_body


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise NoteError(f"A cosignature timestamp must be an integer, not {timestamp!r}.")
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise NoteError(f"Cosignature timestamp {timestamp} is outside 0..2^63-1.")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise NoteError("A key name must be a non-empty string.")
    if "+" in name or any(ch.isspace() for ch in name) or _CONTROL_RE.search(name):
        raise NoteError(f"Key name {name[:80]!r} must not contain spaces, '+' or control chars.")


def _check_body(body: bytes) -> str:
    text = _decode(body, "note text")
    if not text.endswith("\n"):
        raise NoteError("A note's text must end with a newline.")
    return text


def _parse_signature_line(raw: str, number: int) -> SignatureLine:
    if not raw.startswith(_DASH):
        raise NoteError(f"Signature line {number} does not start with an em dash and a space.")
    name, sep, value = raw[len(_DASH) :].partition(" ")
    if not sep:
        raise NoteError(f"Signature line {number} has no space between key name and signature.")
    _check_name(name)
    blob = _b64decode(value, f"signature line {number}")
    if len(blob) < 5:
        raise NoteError(f"Signature line {number} is too short to hold a key ID and signature.")
    return SignatureLine(name, blob[:4], blob[4:])


def _decode(data: bytes | str, what: str) -> str:
    """UTF-8 text within the size limit and free of control characters but newline."""
    if isinstance(data, str):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"The {what} is larger than {MAX_NOTE_BYTES} bytes.")
        raw = data.encode("utf-8", errors="surrogatepass")
    else:
        raw = bytes(data)
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError(f"The {what} is larger than {MAX_NOTE_BYTES} bytes.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError(f"The {what} is not valid UTF-8 (byte {exc.start}).") from None
    bad = _CONTROL_RE.search(text)
    if bad:
        raise NoteError(
            f"The {what} contains control character {bad.group()!r} at {bad.start()}; "
            "only newlines are allowed."
        )
    return text


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Standard base64, canonical only, so each value has one spelling."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise NoteError(f"The {what} is not valid base64.") from None
    if _b64(data) != text:
        raise NoteError(f"The {what} is not canonical base64.")
    return data


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
