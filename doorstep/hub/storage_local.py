"""Blobs in a local folder, written atomically: the embedded default store."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from doorstep.errors import NotFound, StorageError
from doorstep.fsutil import fsync_dir
from doorstep.hub.storage_base import check_sha256, disk_error, receive


class LocalBlobStorage:
    """Blobs in a local folder: ``<root>/blobs/ab/cd/<sha256>``."""

    backend = "local"

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

    def check(self) -> None:
        """Write and remove a probe where uploads land: a full, read-only or lost disk fails."""
        probe = self.tmp / f"health-{uuid.uuid4().hex}.probe"
        try:
            probe.write_bytes(b"ok")
            probe.unlink()
            if not self.blobs.is_dir():
                raise FileNotFoundError(f"{self.blobs} is missing")
        except OSError as exc:
            probe.unlink(missing_ok=True)
            raise StorageError(f"the clip folder cannot be written: {exc}") from None

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
        except OSError as exc:
            raise disk_error(exc) from exc
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
