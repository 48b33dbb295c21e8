"""Clips in an S3-compatible bucket (AWS S3, MinIO, Ceph...), read through a local cache.

Objects are named ``<prefix>/<sha256>``: content-addressed, so a retried upload
rewrites the same bytes under the same name. An upload is received exactly as the
local store receives it (a fsynced temporary file, size and SHA-256 checked while it
arrives) and only then put as one object; S3 shows an object whole or not at all, so
a hub killed mid-upload leaves nothing partial in the bucket.

The hub serves clips with range requests and zips them into evidence bundles from
local files, so ``open`` returns a path: the object is downloaded once into a local
cache (a :class:`LocalBlobStorage`), checked against its SHA-256 first (a blob altered
in the bucket is refused, never served as evidence), and evicted least recently used
once the cache passes ``s3_cache_bytes``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from doorstep.config import Settings
from doorstep.errors import ConfigError, NotFound, StorageError
from doorstep.hub.storage_base import CHUNK, check_sha256, receive
from doorstep.hub.storage_local import LocalBlobStorage

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3BlobStorage:
    """Blobs under ``s3://<bucket>/<prefix>/<sha256>`` with a local read cache."""

    backend = "s3"

    def __init__(
        self, client: Any, bucket: str, prefix: str, cache: LocalBlobStorage, cache_bytes: int
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cache = cache
        self.cache_bytes = cache_bytes
        self._added = 0  # bytes cached since the last trim

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStorage:
        parts = urlsplit(settings.storage_url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(
                f"DOORSTEP_STORAGE_URL must be empty or s3://bucket[/prefix], "
                f"not {settings.storage_url!r}"
            )
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
        storage = cls(
            client,
            parts.netloc,
            parts.path,
            LocalBlobStorage(settings.data_dir / "clip-cache"),
            settings.s3_cache_bytes,
        )
        storage.check_bucket()
        return storage

    def key(self, sha256: str) -> str:
        sha256 = check_sha256(sha256)
        return f"{self.prefix}/{sha256}" if self.prefix else sha256

    def check_bucket(self) -> None:
        """Fail at start-up, with the reason, rather than at the first upload."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise ConfigError(f"S3 bucket {self.bucket!r} cannot be used: {exc}") from None

    # -- the BlobStorage protocol ----------------------------------------------------------
    def check(self) -> None:
        """The bucket answers, and the local cache that uploads pass through is writable."""
        self._call("head_bucket", Bucket=self.bucket)
        self.cache.check()

    async def put(self, chunks: AsyncIterator[bytes], expected_sha256: str, max_bytes: int) -> int:
        temp, size = await receive(chunks, expected_sha256, max_bytes, self.cache.tmp)
        try:
            await asyncio.to_thread(self._upload, temp, expected_sha256)
            self._cached(self.cache.adopt(temp, expected_sha256), size)
        finally:
            temp.unlink(missing_ok=True)
        return size

    def open(self, sha256: str) -> Path:
        path = self.cache.path_for(sha256)
        if path.is_file():
            os.utime(path)  # recently used: evicted last
            return path
        temp = self.cache.tmp / f"{uuid.uuid4().hex}.part"
        try:
            self._call("download_file", self.bucket, self.key(sha256), str(temp))
            if _sha256_of(temp) != sha256:
                raise StorageError(
                    "the stored copy of this file fails its SHA-256 check; it is not served"
                )
            path = self.cache.adopt(temp, sha256)
        finally:
            temp.unlink(missing_ok=True)
        self._cached(path, path.stat().st_size)
        return path

    def exists(self, sha256: str) -> bool:
        try:
            self._call("head_object", Bucket=self.bucket, Key=self.key(sha256))
        except NotFound:
            return False
        return True

    def delete(self, sha256: str) -> None:
        self._call("delete_object", Bucket=self.bucket, Key=self.key(sha256))
        self.cache.delete(sha256)

    def stored(self) -> Iterator[str]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(prefix) :]

    def clean_temporary(self) -> int:
        return self.cache.clean_temporary()

    # -- helpers ---------------------------------------------------------------------------
    def _upload(self, path: Path, sha256: str) -> None:
        self._call("upload_file", str(path), self.bucket, self.key(sha256))

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A client call with S3's failures turned into the hub's errors."""
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise NotFound("the file is no longer stored") from None
            raise StorageError(f"the clip store refused the request ({code})") from None
        except BotoCoreError as exc:
            raise StorageError(f"the clip store cannot be reached: {exc}") from None

    def _cached(self, path: Path, size: int) -> None:
        """Count what entered the cache; trim it now and then, not on every call."""
        self._added += size
        if self._added > self.cache_bytes // 10:
            self._added = 0
            trim_cache(self.cache, self.cache_bytes, keep=path)


def trim_cache(cache: LocalBlobStorage, limit: int, keep: Path | None = None) -> int:
    """Delete least recently used blobs until the cache holds at most ``limit`` bytes."""
    files = []
    for sha in cache.stored():
        path = cache.path_for(sha)
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    removed = 0
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total <= limit:
            break
        if path == keep:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed += 1
    return removed


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while block := reader.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()
