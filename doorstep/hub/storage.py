"""Where clip and snapshot bytes live: content-addressed blobs, written atomically.

A blob is stored under its SHA-256, so the same clip uploaded twice is stored
once and a path can never hold the wrong bytes. Uploads stream into a temporary
file under ``tmp/`` (outside the blob tree), are hashed and size-checked while
they arrive, fsynced, and only then renamed into place: a crash or kill at any
moment leaves either nothing or the whole verified blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

from doorstep.config import Settings
from doorstep.errors import IntegrityError, InvalidInput, NotFound, TooLarge
from doorstep.fsutil import fsync_dir

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


def open_storage(settings: Settings) -> BlobStorage:
    """The store the settings name: a local folder, or an S3-compatible bucket."""
    if not settings.storage_url:
        return LocalBlobStorage(settings.data_dir / "clips")
    from doorstep.hub.storage_s3 import S3BlobStorage  # boto3 is needed only for S3

    return S3BlobStorage.from_settings(settings)


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
            raise IntegrityError(
                f"body SHA-256 is {actual}, not the declared {expected_sha256}; "
                "the upload was truncated or altered, nothing was stored",
                field="X-Content-SHA256",
            )
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, size


class LocalBlobStorage:
    """Blobs in a local folder: ``<root>/blobs/ab/cd/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.tmp = root / "tmp"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        sha256 = check_sha256(sha256)
        return self.blobs / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def clean_temporary(self) -> int:
        removed = 0
        for leftover in self.tmp.glob("*.part"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    async def put(self, chunks: AsyncIterator[bytes], expected_sha256: str, max_bytes: int) -> int:
        temp, size = await receive(chunks, expected_sha256, max_bytes, self.tmp)
        try:
            self.adopt(temp, expected_sha256)
        finally:
            temp.unlink(missing_ok=True)
        return size

    def adopt(self, temp: Path, sha256: str) -> Path:
        """Move a verified temporary file into place: renamed, then its folder fsynced."""
        final = self.path_for(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        fsync_dir(final.parent)
        return final

    def open(self, sha256: str) -> Path:
        path = self.path_for(sha256)
        if not path.is_file():
            raise NotFound("the file is no longer stored")
        return path

    def delete(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    def stored(self) -> Iterator[str]:
        return (p.name for p in self.blobs.glob("*/*/*") if p.is_file())
