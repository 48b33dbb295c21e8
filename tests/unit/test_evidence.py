"""Evidence bundles: what they contain, and that any tampering is caught offline."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pytest

from doorstep import audit_chain as ac
from doorstep import evidence, signing
from doorstep.errors import HashMismatch, InvalidInput

T0 = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)


@pytest.fixture()
def key() -> signing.Ed25519PrivateKey:
    return signing.Ed25519PrivateKey.generate()


def make_clip(tmp_path: Path, name: str, data: bytes) -> evidence.BundleClip:
    path = tmp_path / "store" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return evidence.BundleClip(
        name=name,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        camera={"id": 3, "name": "Front door", "lon": -0.1, "lat": 51.5},
        start_time=T0,
        end_time=T0 + timedelta(seconds=30),
        event_id=f"evt-{name}",
    )


def audit_rows() -> list[dict]:
    first = ac.next_entry(
        None, time=T0, actor="officer:1", action="request.create", subject="request:9"
    )
    second = ac.next_entry(
        first, time=T0, actor="owner:4", action="share.create", subject="request:9"
    )
    return [first.to_dict(), second.to_dict()]


@pytest.fixture()
def bundle(tmp_path: Path, key: signing.Ed25519PrivateKey) -> Path:
    clips = [
        make_clip(tmp_path, "a.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40),
        make_clip(tmp_path, "b.mp4", b"second clip " * 1000),
    ]
    out = tmp_path / "out" / "bundle.zip"
    evidence.build_bundle(
        out,
        clips,
        request={"id": 9, "case_number": "C-1", "window": [T0, T0 + timedelta(hours=1)]},
        consents=[{"owner": 4, "decision": "share_selected", "at": T0}],
        audit_rows=audit_rows(),
        private_key=key,
        created_at=T0 + timedelta(days=1),
    )
    return out


def rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """Copy a ZIP entry by entry; ``change`` returns new bytes, or None to drop one."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)


def flip_byte(at: int) -> Callable[[bytes], bytes]:
    def flip(data: bytes) -> bytes:
        i = at % len(data)
        return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]

    return flip


# --- building ---------------------------------------------------------------


def test_bundle_contents(bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        assert sorted(zf.namelist()) == [
            "clips/a.mp4",
            "clips/b.mp4",
            "manifest.json",
            "manifest.sha256",
            "manifest.sig",
        ]
        assert zf.read("clips/b.mp4") == (tmp_path / "store" / "b.mp4").read_bytes()
        assert zf.getinfo("clips/a.mp4").compress_type == zipfile.ZIP_STORED
        manifest_bytes = zf.read("manifest.json")
        signature = base64.b64decode(zf.read("manifest.sig"))
        digest = zf.read("manifest.sha256").decode().strip()
    manifest = json.loads(manifest_bytes)
    assert manifest["format"] == "doorstep-evidence" and manifest["format_version"] == 1
    assert manifest["created_at"] == "2024-05-02T14:00:00.000000Z"
    assert manifest["request"]["window"] == [
        "2024-05-01T14:00:00.000000Z",
        "2024-05-01T15:00:00.000000Z",
    ]
    assert manifest["consents"] == [
        {"owner": 4, "decision": "share_selected", "at": "2024-05-01T14:00:00.000000Z"}
    ]
    assert manifest["audit_rows"] == audit_rows()
    assert manifest["public_key"] == signing.public_key_pem(key)
    clip_a = manifest["clips"][0]
    data_a = (tmp_path / "store" / "a.mp4").read_bytes()
    assert clip_a == {
        "name": "a.mp4",
        "file": "clips/a.mp4",
        "sha256": hashlib.sha256(data_a).hexdigest(),
        "size": len(data_a),
        "camera": {"id": 3, "name": "Front door", "lon": -0.1, "lat": 51.5},
        "event_id": "evt-a.mp4",
        "start_time": "2024-05-01T14:00:00.000000Z",
        "end_time": "2024-05-01T14:00:30.000000Z",
    }
    assert signing.verify(key.public_key(), manifest_bytes, signature)
    assert digest == hashlib.sha256(manifest_bytes).hexdigest()


def test_build_returns_manifest_hash(tmp_path: Path, key: signing.Ed25519PrivateKey) -> None:
    out = tmp_path / "x.zip"
    info = evidence.build_bundle(out, [make_clip(tmp_path, "a.mp4", b"abc")], {}, [], [], key)
    with zipfile.ZipFile(out) as zf:
        assert info.manifest_sha256 == hashlib.sha256(zf.read("manifest.json")).hexdigest()
    assert (info.path, info.clip_count) == (out, 1)


def test_intact_bundle_verifies(bundle: Path, key: signing.Ed25519PrivateKey) -> None:
    report = evidence.verify_bundle(bundle, key.public_key())
    assert report.problems == []
    assert report.ok
    assert report.manifest is not None and len(report.manifest["clips"]) == 2


def test_build_is_atomic_and_leaves_no_temp_files(bundle: Path) -> None:
    assert [p.name for p in bundle.parent.iterdir()] == ["bundle.zip"]


def test_clip_changed_since_upload_is_refused(
    tmp_path: Path, key: signing.Ed25519PrivateKey
) -> None:
    clip = make_clip(tmp_path, "a.mp4", b"original")
    Path(clip.path).write_bytes(b"Original")
    out = tmp_path / "out" / "bundle.zip"
    with pytest.raises(HashMismatch, match="no longer matches its recorded SHA-256"):
        evidence.build_bundle(out, [clip], {}, [], [], key)
    assert list(out.parent.iterdir()) == []  # neither bundle nor temp file


@pytest.mark.parametrize("name", ["", ".", "..", "../x.mp4", "a/b.mp4", "a\\b.mp4"])
def test_unsafe_clip_names_are_refused(
    tmp_path: Path, key: signing.Ed25519PrivateKey, name: str
) -> None:
    clip = make_clip(tmp_path, "a.mp4", b"x")
    clip = evidence.BundleClip(name, clip.path, clip.sha256, {}, T0, T0, 1)
    with pytest.raises(InvalidInput, match="not a plain file name"):
        evidence.build_bundle(tmp_path / "b.zip", [clip], {}, [], [], key)


def test_duplicate_clip_names_are_refused(tmp_path: Path, key: signing.Ed25519PrivateKey) -> None:
    clip = make_clip(tmp_path, "a.mp4", b"x")
    with pytest.raises(InvalidInput, match="repeated"):
        evidence.build_bundle(tmp_path / "b.zip", [clip, clip], {}, [], [], key)


def test_signature_checks_with_openssl(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path
) -> None:
    """The documented OpenSSL recipe works, so verification needs no Doorstep."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    work = tmp_path / "openssl"
    work.mkdir()
    with zipfile.ZipFile(bundle) as zf:
        zf.extract("manifest.json", work)
        (work / "sig.bin").write_bytes(base64.b64decode(zf.read("manifest.sig")))
    (work / "hub.pub").write_text(signing.public_key_pem(key))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "hub.pub", "-rawin",
               "-in", "manifest.json", "-sigfile", "sig.bin"]  # fmt: skip
    assert subprocess.run(command, cwd=work, capture_output=True).returncode == 0
    (work / "manifest.json").write_bytes(
        (work / "manifest.json").read_bytes().replace(b"C-1", b"C-2")
    )
    assert subprocess.run(command, cwd=work, capture_output=True).returncode != 0


# --- tampering --------------------------------------------------------------


@pytest.mark.parametrize("at", [0, 100, -1])
def test_one_flipped_byte_in_a_clip_fails(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path, at: int
) -> None:
    bad = tmp_path / "bad.zip"
    rewrite(bundle, bad, lambda name, data: flip_byte(at)(data) if name == "clips/a.mp4" else data)
    report = evidence.verify_bundle(bad, key.public_key())
    assert not report.ok
    assert report.problems == [report.problems[0]]
    assert report.problems[0].startswith("clips/a.mp4 SHA-256 ")


@pytest.mark.parametrize("at", [0, 50, 200, -2])
def test_one_flipped_byte_in_the_manifest_fails(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path, at: int
) -> None:
    bad = tmp_path / "bad.zip"
    rewrite(
        bundle, bad, lambda name, data: flip_byte(at)(data) if name == "manifest.json" else data
    )
    report = evidence.verify_bundle(bad, key.public_key())
    assert not report.ok
    assert "manifest.sig is not a valid signature of manifest.json by this key" in report.problems


def test_flipped_byte_in_the_raw_zip_fails(bundle: Path, key: signing.Ed25519PrivateKey) -> None:
    """Damage below the ZIP layer (CRC mismatch) is reported, not raised."""
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo("clips/b.mp4")
    raw[info.header_offset + 30 + len(info.filename) + 10] ^= 0x01
    bundle.write_bytes(bytes(raw))
    report = evidence.verify_bundle(bundle, key.public_key())
    assert not report.ok
    assert any(p.startswith("clips/b.mp4 is damaged") for p in report.problems)


def test_manifest_rewritten_to_match_a_swapped_clip_fails_the_signature(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path
) -> None:
    new_clip = b"forged footage"

    def change(name: str, data: bytes) -> bytes:
        if name == "clips/a.mp4":
            return new_clip
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["clips"][0].update(
                sha256=hashlib.sha256(new_clip).hexdigest(), size=len(new_clip)
            )
            return json.dumps(manifest).encode()
        if name == "manifest.sha256":
            return b"0" * 64
        return data

    bad = tmp_path / "bad.zip"
    rewrite(bundle, bad, change)
    problems = evidence.verify_bundle(bad, key.public_key()).problems
    assert problems == [
        "manifest.sig is not a valid signature of manifest.json by this key",
        "manifest.sha256 does not match manifest.json",
    ]


def test_bundle_re_signed_by_another_key_fails(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path
) -> None:
    other = signing.Ed25519PrivateKey.generate()

    def change(name: str, data: bytes) -> bytes:
        return base64.b64encode(other.sign(manifest)) if name == "manifest.sig" else data

    with zipfile.ZipFile(bundle) as zf:
        manifest = zf.read("manifest.json")
    bad = tmp_path / "bad.zip"
    rewrite(bundle, bad, change)
    assert not evidence.verify_bundle(bad, key.public_key()).ok
    report = evidence.verify_bundle(bundle, other.public_key())
    assert report.problems == [
        "manifest.sig is not a valid signature of manifest.json by this key",
        "the manifest names a different hub key than the one given",
    ]


def test_missing_clip_fails(bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    rewrite(bundle, bad, lambda name, data: None if name == "clips/b.mp4" else data)
    assert evidence.verify_bundle(bad, key.public_key()).problems == [
        "clips/b.mp4 is listed in the manifest but missing"
    ]


def test_unlisted_clip_fails(bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    shutil.copy(bundle, bad)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("clips/extra.mp4", b"planted")
    assert evidence.verify_bundle(bad, key.public_key()).problems == [
        "clips/extra.mp4 is in the ZIP but not in the manifest"
    ]


def test_duplicate_entry_fails(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.zip"
    shutil.copy(bundle, bad)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("clips/a.mp4", b"shadowing copy")
    problems = evidence.verify_bundle(bad, key.public_key()).problems
    assert "clips/a.mp4 appears 2 times in the ZIP" in problems


@pytest.mark.parametrize("member", ["manifest.json", "manifest.sig", "manifest.sha256"])
def test_missing_manifest_parts_fail(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path, member: str
) -> None:
    bad = tmp_path / "bad.zip"
    rewrite(bundle, bad, lambda name, data: None if name == member else data)
    report = evidence.verify_bundle(bad, key.public_key())
    assert not report.ok
    assert f"{member} is missing" in report.problems


def test_edited_audit_row_is_reported(tmp_path: Path, key: signing.Ed25519PrivateKey) -> None:
    rows = audit_rows()
    rows[1]["actor"] = "owner:5"
    out = tmp_path / "b.zip"
    evidence.build_bundle(out, [make_clip(tmp_path, "a.mp4", b"x")], {}, [], rows, key)
    assert evidence.verify_bundle(out, key.public_key()).problems == [
        "audit row seq 2 does not match its hash"
    ]


def test_not_a_zip(tmp_path: Path, key: signing.Ed25519PrivateKey) -> None:
    path = tmp_path / "junk.zip"
    path.write_bytes(b"not a zip at all")
    report = evidence.verify_bundle(path, key.public_key())
    assert not report.ok and report.problems[0].startswith("cannot read the bundle as a ZIP file")
    missing = evidence.verify_bundle(tmp_path / "nope.zip", key.public_key())
    assert not missing.ok


def test_clips_are_hashed_in_chunks(
    tmp_path: Path, key: signing.Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clip bigger than the chunk size is never read in one go."""
    monkeypatch.setattr(evidence, "CHUNK", 1024)
    data = bytes(range(256)) * 64  # 16 KiB
    clip = make_clip(tmp_path, "big.mp4", data)
    reads: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, f: BinaryIO) -> None:
            self.f = f

        def read(self, n: int = -1) -> bytes:
            reads.append(n)
            return self.f.read(n)

        def __enter__(self) -> Spy:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

    monkeypatch.setattr(evidence, "open", lambda p, m: Spy(real_open(p, "rb")), raising=False)
    out = tmp_path / "b.zip"
    evidence.build_bundle(out, [clip], {}, [], [], key)
    assert reads and all(0 < n <= 1024 for n in reads)
    assert evidence.verify_bundle(out, key.public_key()).ok


# --- unpacked and packed again ------------------------------------------------


def test_bundle_unzipped_and_zipped_again_verifies(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path
) -> None:
    """`zip -r` adds an entry per folder; folders are not files, every file still counts."""
    if shutil.which("zip") is None or shutil.which("unzip") is None:
        pytest.skip("zip/unzip not installed")
    work = tmp_path / "unpacked"
    subprocess.run(["unzip", "-q", str(bundle), "-d", str(work)], check=True)

    def zip_again(name: str) -> Path:
        out = tmp_path / name
        subprocess.run(["zip", "-q", "-r", str(out), "."], cwd=work, check=True)
        return out

    again = zip_again("again.zip")
    assert "clips/" in zipfile.ZipFile(again).namelist()
    assert evidence.verify_bundle(again, key.public_key()).problems == []

    (work / "clips" / "extra.mp4").write_bytes(b"planted")
    (work / "notes").mkdir()
    (work / "notes" / "x.txt").write_text("planted")
    (work / "clips" / "b.mp4").unlink()
    assert evidence.verify_bundle(zip_again("changed.zip"), key.public_key()).problems == [
        "clips/b.mp4 is listed in the manifest but missing",
        "clips/extra.mp4 is in the ZIP but not in the manifest",
        "notes/x.txt is in the ZIP but not in the manifest",
    ]


def test_directory_entries_are_ignored_unless_they_hold_bytes(
    bundle: Path, key: signing.Ed25519PrivateKey, tmp_path: Path
) -> None:
    with_folders = tmp_path / "folders.zip"
    shutil.copy(bundle, with_folders)
    with zipfile.ZipFile(with_folders, "a") as zf:
        zf.mkdir("clips")
        zf.mkdir("empty/sub")
    assert evidence.verify_bundle(with_folders, key.public_key()).problems == []
    hiding = tmp_path / "hiding.zip"
    shutil.copy(bundle, hiding)
    with zipfile.ZipFile(hiding, "a") as zf:
        zf.writestr(zipfile.ZipInfo("stash/"), b"bytes behind a folder name")
    assert evidence.verify_bundle(hiding, key.public_key()).problems == [
        "stash/ is in the ZIP but not in the manifest"
    ]
