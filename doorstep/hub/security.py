"""Passwords, bearer tokens and camera keys.

Passwords use Argon2id. Tokens and camera keys are 256-bit random secrets; the
database keeps only their SHA-256 (a fast hash is enough for secrets with that
much entropy, and lets a request be authenticated with one indexed lookup).

Each Argon2 computation takes 64 MiB, so at most ``password_hash_concurrency`` run at
once in this process (hashing at sign-up, checking at sign-in alike) and the others
wait their turn: the memory they take stays bounded whatever arrives. A caller that
waits too long gets Unavailable (503 with Retry-After) rather than holding a worker.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from doorstep.errors import Unavailable

USER_TOKEN_PREFIX = "dst_"
CAMERA_KEY_PREFIX = "dsk_"

_hasher = PasswordHasher()  # Argon2id, RFC 9106's second recommended option (64 MiB, t=3)
# A hash to verify against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("doorstep-timing-equaliser")


HASH_WAIT_SECONDS = 60  # longest a request queues for its turn before a 503
HASH_RETRY_SECONDS = 5


class _Gate:
    """A semaphore whose size the settings choose once the hub is built."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._semaphore = threading.BoundedSemaphore(size)

    def resize(self, size: int) -> None:
        """Takes effect for computations that start from now on."""
        self.size = size
        self._semaphore = threading.BoundedSemaphore(size)

    @contextmanager
    def turn(self) -> Iterator[None]:
        semaphore = self._semaphore  # released to the one acquired, even across a resize
        if not semaphore.acquire(timeout=HASH_WAIT_SECONDS):
            raise Unavailable(
                "the hub is busy checking passwords; try again shortly",
                retry_after=HASH_RETRY_SECONDS,
            )
        try:
            yield
        finally:
            semaphore.release()


_gate = _Gate(2)


def configure_hashing(concurrency: int, memory_kib: int, time_cost: int) -> None:
    """Let at most ``concurrency`` Argon2 computations run at once in this process, each
    with these costs. Existing hashes keep verifying: each names its own parameters."""
    global _hasher, _DUMMY_HASH
    _gate.resize(concurrency)
    if (_hasher.memory_cost, _hasher.time_cost) != (memory_kib, time_cost):
        hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)
        _DUMMY_HASH = hasher.hash("doorstep-timing-equaliser")
        _hasher = hasher


def hash_password(password: str) -> str:
    with _gate.turn():
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    with _gate.turn():
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
