"""The hub's Ed25519 signing key: created once, kept private, used for proofs.

Audit checkpoints and evidence bundles are signed with this key so that anyone
holding the public key can verify them offline, without trusting the hub.

Decisions
---------
* The private key is an unencrypted PKCS#8 PEM file with mode 0600. It is
  created on first use by writing a temporary file (opened 0600 from the
  start, fsynced) and hard-linking it into place, so a crash never leaves a
  half-written key and two processes starting at once end up with the same key.
* Public keys travel as SubjectPublicKeyInfo PEM, readable by OpenSSL.
* ``verify`` returns ``False`` for any bad signature instead of raising, so a
  verifier can report every problem it finds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from doorstep.errors import InvalidInput
from doorstep.fsutil import fsync_dir

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "key_fingerprint",
    "load_or_create_private_key",
    "load_public_key",
    "public_key_pem",
    "sign",
    "verify",
]


def load_or_create_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load the PEM private key at ``path``, creating it (mode 0600) if missing."""
    path = Path(path)
    if not path.exists():
        _create_key_file(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} holds a {type(key).__name__}, not an Ed25519 private key.")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half as SubjectPublicKeyInfo PEM text."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(source: str | bytes | os.PathLike[str]) -> Ed25519PublicKey:
    """A public key from PEM text/bytes or from the path of a PEM file."""
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        data = source.encode("ascii")
    else:
        data = Path(source).read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InvalidInput(f"Not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"Expected an Ed25519 public key, got {type(key).__name__}.")
    return key


def key_fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: a short name for the key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """A 64-byte Ed25519 signature over ``data``."""
    return key.sign(data)


def verify(key: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid signature of ``data`` by ``key``."""
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _create_key_file(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    create_secret_file(path, pem)


def create_secret_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` readable by the owner only (0600), whole or not at
    all, unless the file exists: when two processes race, the first one's file stays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".key-", dir=path.parent)  # mkstemp opens 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)
