"""Signed evidence bundles: chain of custody that a court can check offline.

When an officer exports shared footage, the hub writes one ZIP that carries the
clips together with everything needed to show where they came from: the request,
the owners' consent records, the audit rows of the request, and a signature by
the hub's key. ``doorstep evidence verify BUNDLE --key PUBKEY`` runs
:func:`verify_bundle`; no database or network is needed.

Layout (a public contract)
--------------------------
* ``clips/<name>``: the clip bytes, stored uncompressed (video is compressed already).
* ``manifest.json``: UTF-8 JSON, 2-space indented, sorted keys. It lists format and
  version, ``created_at``, the request, each clip (file, SHA-256, size, camera,
  times, event id), consent records, audit rows, and the hub's public key (PEM and
  SHA-256 fingerprint).
* ``manifest.sig``: base64 (one line) of the detached Ed25519 signature over the
  exact bytes of ``manifest.json``. Base64 rather than raw so the file survives
  mail and copy-paste; OpenSSL can check it without Doorstep::

      base64 -d manifest.sig > sig.bin
      openssl pkeyutl -verify -pubin -inkey hub.pub -rawin -in manifest.json -sigfile sig.bin

* ``manifest.sha256``: hex SHA-256 of ``manifest.json``. A hash cannot sit inside the
  bytes it covers, so it lives beside them; the hub records the same value in the
  audit log when the bundle is exported, tying the file to the hash chain.

Decisions
---------
* Building re-hashes each clip while copying it and refuses (``HashMismatch``) a
  clip whose bytes no longer match the SHA-256 the hub recorded at upload.
* Verification is strict: an unlisted file, a duplicate entry, a missing clip or a
  size or hash mismatch are all problems, and all problems are reported, not only
  the first. Folder entries (``clips/``, which ``zip -r`` adds after an ``unzip``) are
  not files and are ignored, unless they carry bytes. Audit rows in the manifest are
  each re-hashed (they are a selection, not a contiguous chain, so only each row's own
  hash can be checked here). Bundles exported since the log became a Merkle tree also
  carry ``audit_checkpoint`` (a checkpoint note signed by the hub) and, in each row, its
  ``index`` and ``inclusion_proof`` (base64, RFC 9162): each row's leaf is recomputed from
  the row and its salt and must lead to that checkpoint's root. Bundles without them
  (exported before) are checked as before.
* Clips are hashed in 1 MiB chunks, never read whole.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from doorstep.audit_chain import AuditEntry, compute_hash, format_time
from doorstep.errors import HashMismatch, InvalidInput
from doorstep.fsutil import fsync_dir
from doorstep.receipt import checkpoint_signed_by, inclusion_problem
from doorstep.signed_note import NoteError
from doorstep.signing import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    key_fingerprint,
    public_key_pem,
    sign,
    verify,
)

FORMAT = "doorstep-evidence"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MANIFEST_HASH = "manifest.sha256"
CLIP_DIR = "clips/"
CHUNK = 1 << 20
_ZIP64_THRESHOLD = (1 << 31) - 1


@dataclass(frozen=True)
class BundleClip:
    """A clip to export, with the SHA-256 the hub recorded when it was uploaded."""

    name: str
    path: str | os.PathLike[str]
    sha256: str
    camera: Mapping[str, Any]
    start_time: datetime
    end_time: datetime
    event_id: str | int


@dataclass(frozen=True)
class BundleInfo:
    """What was written: record ``manifest_sha256`` in the audit log."""

    path: Path
    manifest_sha256: str
    clip_count: int


@dataclass
class BundleReport:
    """The verdict on a bundle; ``problems`` is empty exactly when ``ok``."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None


def build_bundle(
    out_path: str | os.PathLike[str],
    clips: Sequence[BundleClip],
    request: Mapping[str, Any],
    consents: Sequence[Mapping[str, Any]],
    audit_rows: Sequence[Mapping[str, Any]],
    private_key: Ed25519PrivateKey,
    *,
    created_at: datetime | None = None,
    audit_checkpoint: str | None = None,
) -> BundleInfo:
    """Write a signed evidence bundle atomically (temp file, fsync, rename).

    ``audit_checkpoint``: a signed checkpoint note of the audit log that the rows'
    ``inclusion_proof`` lead to (bundles made before the Merkle log have none)."""
    _check_names(clips)
    created_at = created_at or datetime.now(UTC)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w+b") as tmp:
            manifest_bytes = _write_zip(
                tmp, clips, request, consents, audit_rows, private_key, created_at, audit_checkpoint
            )
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(out.parent)
    return BundleInfo(out, hashlib.sha256(manifest_bytes).hexdigest(), len(clips))


def verify_bundle(path: str | os.PathLike[str], public_key: Ed25519PublicKey) -> BundleReport:
    """Check a bundle offline against the hub's public key; report every problem."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _verify_open_zip(zf, public_key)
    except (zipfile.BadZipFile, OSError) as exc:
        return BundleReport(False, [f"cannot read the bundle as a ZIP file: {exc}"])


# --- building ----------------------------------------------------------------


def _check_names(clips: Sequence[BundleClip]) -> None:
    for clip in clips:
        bad = not clip.name or clip.name in {".", ".."} or any(c in clip.name for c in "/\\\0")
        if bad:
            raise InvalidInput(f"Clip name {clip.name!r} is not a plain file name.", field="clips")
    duplicates = [n for n, k in Counter(c.name for c in clips).items() if k > 1]
    if duplicates:
        raise InvalidInput(f"Clip names must be unique; repeated: {duplicates}.", field="clips")


def _write_zip(
    tmp: IO[bytes],
    clips: Sequence[BundleClip],
    request: Mapping[str, Any],
    consents: Sequence[Mapping[str, Any]],
    audit_rows: Sequence[Mapping[str, Any]],
    private_key: Ed25519PrivateKey,
    created_at: datetime,
    audit_checkpoint: str | None = None,
) -> bytes:
    stamp = _zip_time(created_at)
    with zipfile.ZipFile(tmp, "w") as zf:
        entries = [_add_clip(zf, clip, stamp) for clip in clips]
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": format_time(created_at),
            "request": request,
            "clips": entries,
            "consents": list(consents),
            "audit_rows": list(audit_rows),
            "public_key": public_key_pem(private_key),
            "public_key_sha256": key_fingerprint(private_key),
            "hash_algorithm": "SHA-256",
            "signature": {"algorithm": "Ed25519", "file": SIGNATURE, "encoding": "base64"},
        }
        if audit_checkpoint is not None:
            manifest["audit_checkpoint"] = audit_checkpoint
        manifest_bytes = _dump_manifest(manifest)
        signature = base64.b64encode(sign(private_key, manifest_bytes)) + b"\n"
        digest = hashlib.sha256(manifest_bytes).hexdigest().encode("ascii") + b"\n"
        _write_small(zf, MANIFEST, manifest_bytes, stamp, zipfile.ZIP_DEFLATED)
        _write_small(zf, SIGNATURE, signature, stamp, zipfile.ZIP_STORED)
        _write_small(zf, MANIFEST_HASH, digest, stamp, zipfile.ZIP_STORED)
    return manifest_bytes


def _add_clip(
    zf: zipfile.ZipFile, clip: BundleClip, stamp: tuple[int, int, int, int, int, int]
) -> dict[str, Any]:
    """Copy a clip in chunks, hashing as it goes; refuse it if the hash differs."""
    arcname = CLIP_DIR + clip.name
    size = os.stat(clip.path).st_size
    info = zipfile.ZipInfo(arcname, date_time=stamp)
    info.compress_type = zipfile.ZIP_STORED
    digest = hashlib.sha256()
    with (
        open(clip.path, "rb") as src,
        zf.open(info, "w", force_zip64=size > _ZIP64_THRESHOLD) as dst,
    ):
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != clip.sha256.lower():
        raise HashMismatch(
            f"Clip {clip.name!r} no longer matches its recorded SHA-256 "
            f"({clip.sha256}); it was not exported."
        )
    return {
        "name": clip.name,
        "file": arcname,
        "sha256": digest.hexdigest(),
        "size": size,
        "camera": dict(clip.camera),
        "event_id": clip.event_id,
        "start_time": format_time(clip.start_time),
        "end_time": format_time(clip.end_time),
    }


def _write_small(
    zf: zipfile.ZipFile,
    name: str,
    data: bytes,
    stamp: tuple[int, int, int, int, int, int],
    compression: int,
) -> None:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = compression
    zf.writestr(info, data)


def _dump_manifest(manifest: Mapping[str, Any]) -> bytes:
    text = json.dumps(
        manifest, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False, default=_jsonable
    )
    return (text + "\n").encode("utf-8")


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go into an evidence manifest")


def _zip_time(value: datetime) -> tuple[int, int, int, int, int, int]:
    utc = value.astimezone(UTC) if value.tzinfo else value
    return (max(utc.year, 1980), utc.month, utc.day, utc.hour, utc.minute, utc.second)


# --- verifying ---------------------------------------------------------------


def _verify_open_zip(zf: zipfile.ZipFile, public_key: Ed25519PublicKey) -> BundleReport:
    problems: list[str] = []
    names = [info.filename for info in zf.infolist() if not _is_empty_folder(info)]
    problems += [f"{n} appears {k} times in the ZIP" for n, k in Counter(names).items() if k > 1]
    manifest_bytes = _read_member(zf, MANIFEST, problems)
    if manifest_bytes is None:
        return BundleReport(False, problems)
    problems += _signature_problems(zf, manifest_bytes, public_key)
    manifest = _parse_manifest(manifest_bytes, problems)
    if manifest is None:
        return BundleReport(False, problems)
    problems += _key_problems(manifest, public_key)
    listed = _clip_problems(zf, manifest, problems)
    allowed = listed | {MANIFEST, SIGNATURE, MANIFEST_HASH}
    problems += [f"{n} is in the ZIP but not in the manifest" for n in sorted(set(names) - allowed)]
    problems += _audit_row_problems(manifest.get("audit_rows", []))
    problems += _audit_proof_problems(manifest, public_key)
    return BundleReport(not problems, problems, manifest)


def _is_empty_folder(info: zipfile.ZipInfo) -> bool:
    """A folder entry (``clips/``, as ``zip -r`` writes them) is not a file; one with bytes is."""
    return info.is_dir() and info.file_size == 0


def _read_member(zf: zipfile.ZipFile, name: str, problems: list[str]) -> bytes | None:
    try:
        return zf.read(name)
    except KeyError:
        problems.append(f"{name} is missing")
    except (zipfile.BadZipFile, OSError) as exc:
        problems.append(f"{name} is damaged: {exc}")
    return None


def _signature_problems(
    zf: zipfile.ZipFile, manifest_bytes: bytes, public_key: Ed25519PublicKey
) -> list[str]:
    problems: list[str] = []
    sig_text = _read_member(zf, SIGNATURE, problems)
    if sig_text is not None:
        try:
            signature = base64.b64decode(sig_text.strip(), validate=True)
        except (binascii.Error, ValueError):
            signature = b""
        if not verify(public_key, manifest_bytes, signature):
            problems.append(f"{SIGNATURE} is not a valid signature of {MANIFEST} by this key")
    digest = _read_member(zf, MANIFEST_HASH, problems)
    if digest is not None and digest.strip() != hashlib.sha256(manifest_bytes).hexdigest().encode():
        problems.append(f"{MANIFEST_HASH} does not match {MANIFEST}")
    return problems


def _parse_manifest(data: bytes, problems: list[str]) -> dict[str, Any] | None:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{MANIFEST} is not valid JSON: {exc}")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        problems.append(f"{MANIFEST} is not a {FORMAT} manifest")
        return None
    if manifest.get("format_version") != FORMAT_VERSION:
        problems.append(f"unsupported format_version {manifest.get('format_version')!r}")
        return None
    return manifest


def _key_problems(manifest: Mapping[str, Any], public_key: Ed25519PublicKey) -> list[str]:
    if manifest.get("public_key_sha256") != key_fingerprint(public_key):
        return ["the manifest names a different hub key than the one given"]
    return []


def _clip_problems(
    zf: zipfile.ZipFile, manifest: Mapping[str, Any], problems: list[str]
) -> set[str]:
    """Check every listed clip; return the ZIP names the manifest accounts for."""
    listed: set[str] = set()
    clips = manifest.get("clips")
    if not isinstance(clips, list):
        problems.append(f"{MANIFEST} has no clip list")
        return listed
    for entry in clips:
        file = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(file, str) or not file.startswith(CLIP_DIR):
            problems.append(f"clip entry {entry!r} has no file under {CLIP_DIR}")
            continue
        listed.add(file)
        problem = _clip_problem(zf, file, entry)
        if problem:
            problems.append(problem)
    return listed


def _clip_problem(zf: zipfile.ZipFile, file: str, entry: Mapping[str, Any]) -> str | None:
    try:
        digest, size = _hash_member(zf, file)
    except KeyError:
        return f"{file} is listed in the manifest but missing"
    except (zipfile.BadZipFile, OSError) as exc:
        return f"{file} is damaged: {exc}"
    if size != entry.get("size"):
        return f"{file} is {size} bytes; the manifest says {entry.get('size')}"
    if digest != entry.get("sha256"):
        return f"{file} SHA-256 {digest} does not match the manifest's {entry.get('sha256')}"
    return None


def _hash_member(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with zf.open(name) as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _audit_row_problems(rows: Iterable[Any]) -> list[str]:
    problems: list[str] = []
    for index, row in enumerate(rows):
        try:
            entry = AuditEntry.from_dict(row)
            good = compute_hash(entry.prev_hash, entry) == entry.hash
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"audit row {index} is malformed: {exc}")
            continue
        if not good:
            problems.append(f"audit row seq {entry.seq} does not match its hash")
    return problems


def _audit_proof_problems(manifest: Mapping[str, Any], public_key: Ed25519PublicKey) -> list[str]:
    """Each row's inclusion proof against the bundle's signed checkpoint, when it has one."""
    rows = manifest.get("audit_rows")
    rows = rows if isinstance(rows, list) else []
    note = manifest.get("audit_checkpoint")
    if note is None:
        if any(isinstance(r, dict) and "inclusion_proof" in r for r in rows):
            return ["audit rows carry inclusion proofs but the manifest has no audit_checkpoint"]
        return []  # exported before the log was a Merkle tree
    try:
        checkpoint = checkpoint_signed_by(note, public_key)
    except (NoteError, TypeError) as exc:
        return [f"audit_checkpoint: checkpoint not signed by this hub key: {exc}"]
    problems: list[str] = []
    for number, row in enumerate(rows):
        if not isinstance(row, dict):
            continue  # reported by _audit_row_problems
        problem = inclusion_problem(row, checkpoint)
        if problem is not None:
            problems.append(f"audit row seq {row.get('seq', number)}: {problem}")
    return problems
