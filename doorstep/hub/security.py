"""Passwords, bearer tokens and camera keys.

Passwords use Argon2id. Tokens and camera keys are 256-bit random secrets; the
database keeps only their SHA-256 (a fast hash is enough for secrets with that
much entropy, and lets a request be authenticated with one indexed lookup).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USER_TOKEN_PREFIX = "dst_"
CAMERA_KEY_PREFIX = "dsk_"

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# A hash to verify against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("doorstep-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
