"""The clip store's interface and the helpers every implementation shares.

A blob is stored under its SHA-256, so the same clip uploaded twice is stored
once and a path can never hold the wrong bytes. Uploads stream into a temporary
file (outside the blob tree), are hashed and size-checked while they arrive,
fsynced, and only then moved into place: a crash or kill at any moment leaves
either nothing or the whole verified blob. Implementations (``storage_local``,
``storage_s3``) import this module and nothing of each other's but what they build
on; :func:`doorstep.hub.storage.open_storage` picks one from the settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

from doorstep.errors import HashMismatch, InvalidInput, StorageError, TooLarge

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


def check_sha256(value: str | None, field: str = "X-Content-SHA256") -> str:
    if value is None or not SHA256_RE.match(value.strip().lower()):
        raise InvalidInput(
            "must be the lowercase hex SHA-256 of the body (64 characters)", field=field
        )
    return value.strip().lower()


class BlobStorage(Protocol):
    """What the hub needs from a clip store: content-addressed blobs, never partial."""

    backend: str
    """What implements it (``local``, ``s3``), as the health report names it."""

    def check(self) -> None:
        """Raise :class:`~doorstep.errors.StorageError` saying why if a blob cannot be
        stored now; cheap enough for every health probe."""

    async def put(self, chunks: AsyncIterator[bytes], expected_sha256: str, max_bytes: int) -> int:
        """Store the stream if it hashes to expected_sha256; return its size."""

    def open(self, sha256: str) -> Path:
        """A local path to read the blob from (the hub serves and zips local files)."""

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None: ...

    def stored(self) -> Iterator[str]:
        """The SHA-256 of every stored blob."""

    def clean_temporary(self) -> int:
        """Remove leftovers of uploads interrupted by a crash; called at start-up."""


async def receive(
    chunks: AsyncIterator[bytes], expected_sha256: str, max_bytes: int, tmp_dir: Path
) -> tuple[Path, int]:
    """Stream an upload into a fsynced temporary file, checking size and SHA-256 as it comes.

    Returns the file and its size; the caller moves it into place or deletes it. On any
    error (too large, empty, wrong hash, a dropped connection) nothing is left behind.
    """
    expected_sha256 = check_sha256(expected_sha256)
    temp = tmp_dir / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(temp, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"upload exceeds the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise InvalidInput("the upload is empty", field="body")
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise HashMismatch(
                f"body SHA-256 is {actual}, not the declared {expected_sha256}; "
                "the upload was truncated or altered, nothing was stored",
                field="X-Content-SHA256",
            )
    except OSError as exc:  # a full, read-only or missing disk: the store, not the client
        _discard(temp)
        raise disk_error(exc) from exc
    except BaseException:
        _discard(temp)
        raise
    return temp, size


def _discard(temp: Path) -> None:
    """Remove a partial upload; a disk that refused it may refuse this too (then nothing
    was written, or a startup sweep of *.part removes it)."""
    with contextlib.suppress(OSError):
        temp.unlink(missing_ok=True)


def disk_error(exc: OSError) -> StorageError:
    """What a caller is told when the local disk refuses a write (503, try again)."""
    return StorageError(f"the clip store cannot write: {exc.strerror or exc}; nothing was kept")
