"""The audit hash chain: exact format, tamper detection, signed checkpoints, keys."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from doorstep import audit_chain as ac
from doorstep import signing
from doorstep.errors import InvalidInput

T0 = datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=UTC)


def build_chain(n: int) -> list[ac.AuditEntry]:
    rows: list[ac.AuditEntry] = []
    for i in range(n):
        rows.append(
            ac.next_entry(
                rows[-1] if rows else None,
                time=T0 + timedelta(seconds=i),
                actor=f"officer:{i % 3}",
                action="request.create" if i % 2 else "clip.view",
                subject=f"request:{i}",
                details={"case": f"C-{i}", "note": "café ☕", "n": i},
            )
        )
    return rows


@pytest.fixture()
def key() -> signing.Ed25519PrivateKey:
    return signing.Ed25519PrivateKey.generate()


# --- format -----------------------------------------------------------------


def test_hash_matches_an_independent_implementation() -> None:
    entry = ac.AuditEntry(1, T0, "officer:7", "request.create", "request:42", {"b": 1, "a": "é"})
    payload = (
        '{"action":"request.create","actor":"officer:7","details":{"a":"é","b":1},'
        '"seq":1,"subject":"request:42","time":"2024-05-01T14:00:00.123456Z"}'
    )
    expected = hashlib.sha256(("0" * 64 + payload).encode("utf-8")).hexdigest()
    assert ac.row_payload(entry) == payload.encode("utf-8")
    assert ac.compute_hash(ac.GENESIS, entry) == expected


def test_time_is_utc_with_microseconds_and_z() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert (
        ac.format_time(datetime(2024, 5, 1, 16, 0, tzinfo=plus2)) == "2024-05-01T14:00:00.000000Z"
    )
    assert ac.format_time(datetime(2024, 5, 1, 14, 0)) == "2024-05-01T14:00:00.000000Z"


def test_naive_and_aware_utc_hash_the_same() -> None:
    aware = ac.AuditEntry(1, T0, "a", "b", "c")
    naive = replace(aware, time=T0.replace(tzinfo=None))
    assert ac.compute_hash(ac.GENESIS, aware) == ac.compute_hash(ac.GENESIS, naive)


def test_hash_depends_on_prev_hash_and_every_field() -> None:
    entry = ac.AuditEntry(1, T0, "a", "b", "c", {"k": 1})
    base = ac.compute_hash(ac.GENESIS, entry)
    assert ac.compute_hash("1" * 64, entry) != base
    variants = [
        replace(entry, seq=2),
        replace(entry, time=T0 + timedelta(microseconds=1)),
        replace(entry, actor="x"),
        replace(entry, action="x"),
        replace(entry, subject="x"),
        replace(entry, details={"k": 2}),
    ]
    assert all(ac.compute_hash(ac.GENESIS, v) != base for v in variants)


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        ac.compute_hash(ac.GENESIS, ac.AuditEntry(1, T0, "a", "b", "c", {"x": float("nan")}))


def test_next_entry_links_rows() -> None:
    rows = build_chain(3)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == ac.GENESIS
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert all(len(r.hash) == 64 for r in rows)


def test_dict_round_trip_keeps_the_hash() -> None:
    row = build_chain(1)[0]
    as_json = json.loads(json.dumps(row.to_dict()))
    again = ac.AuditEntry.from_dict(as_json)
    assert ac.compute_hash(again.prev_hash, again) == row.hash


# --- verification -----------------------------------------------------------


def test_intact_chain_verifies() -> None:
    rows = build_chain(10)
    result = ac.verify_chain(rows)
    assert result == ac.VerifyResult(ok=True, count=10, head_hash=rows[-1].hash)


def test_empty_chain_is_ok_with_genesis_head() -> None:
    assert ac.verify_chain([]) == ac.VerifyResult(True, 0, ac.GENESIS)


def test_verify_accepts_a_generator() -> None:
    rows = build_chain(4)
    assert ac.verify_chain(r for r in rows).count == 4


@pytest.mark.parametrize(
    "edit",
    [
        {"actor": "someone-else"},
        {"details": {"case": "C-4", "note": "café ☕", "n": 5}},
        {"time": T0},
        {"subject": "request:999"},
    ],
)
def test_edited_row_is_named(edit: dict) -> None:
    rows = build_chain(8)
    rows[4] = replace(rows[4], **edit)
    result = ac.verify_chain(rows)
    assert not result.ok
    assert result.first_bad_seq == 5
    assert result.count == 4 and result.head_hash == rows[3].hash
    assert result.reason is not None and "row edited" in result.reason


def test_edited_and_rehashed_row_breaks_the_next_link() -> None:
    rows = build_chain(8)
    forged = replace(rows[4], actor="someone-else")
    rows[4] = replace(forged, hash=ac.compute_hash(forged.prev_hash, forged))
    result = ac.verify_chain(rows)
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert result.reason is not None and "prev_hash" in result.reason


def test_deleted_row_is_named() -> None:
    rows = build_chain(8)
    del rows[3]  # seq 4
    result = ac.verify_chain(rows)
    assert (result.ok, result.first_bad_seq, result.count) == (False, 5, 3)
    assert result.reason == "seq 5 follows 3: rows are missing"


def test_deleted_first_row_is_caught() -> None:
    result = ac.verify_chain(build_chain(3)[1:])
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_deleted_row_with_renumbering_is_caught_by_the_link() -> None:
    rows = build_chain(6)
    del rows[2]
    rows[2:] = [replace(r, seq=r.seq - 1) for r in rows[2:]]
    result = ac.verify_chain(rows)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_reordered_rows_are_named() -> None:
    rows = build_chain(8)
    rows[5], rows[6] = rows[6], rows[5]
    result = ac.verify_chain(rows)
    assert (result.ok, result.first_bad_seq, result.count) == (False, 7, 5)
    assert result.reason is not None and "missing" in result.reason


def test_repeated_row_is_named() -> None:
    rows = build_chain(5)
    rows.insert(3, rows[2])
    result = ac.verify_chain(rows)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert result.reason is not None and "out of order or repeated" in result.reason


def test_truncated_tail_verifies_but_a_checkpoint_catches_it(
    key: signing.Ed25519PrivateKey,
) -> None:
    rows = build_chain(6)
    checkpoint = ac.sign_checkpoint(key, 6, rows[5].hash, T0)
    assert ac.verify_chain(rows[:4]).ok  # a chain alone cannot see a cut tail
    assert ac.verify_checkpoint(key.public_key(), checkpoint)
    result = ac.verify_chain(rows[:4], checkpoints=[checkpoint])
    assert (result.ok, result.first_bad_seq, result.count) == (False, 5, 4)
    assert result.reason is not None and "removed from the end" in result.reason
    assert not ac.verify_chain([], checkpoints=[checkpoint]).ok
    assert ac.verify_chain(rows, checkpoints=[checkpoint]).ok


def test_segment_verifies_from_a_known_prev_hash() -> None:
    rows = build_chain(8)
    result = ac.verify_chain(rows[3:], prev_hash=rows[2].hash, first_seq=4)
    assert (result.ok, result.count) == (True, 5)
    assert ac.verify_chain(rows[3:], prev_hash=rows[2].hash, first_seq=None).ok
    assert not ac.verify_chain(rows[3:], prev_hash=rows[1].hash, first_seq=None).ok


def test_rewritten_history_is_caught_by_a_checkpoint(key: signing.Ed25519PrivateKey) -> None:
    rows = build_chain(6)
    checkpoint = ac.sign_checkpoint(key, 4, rows[3].hash, T0 + timedelta(hours=1))
    forged: list[ac.AuditEntry] = []
    for row in rows:  # edit row 2, then re-hash everything after it
        row = replace(row, actor="nobody") if row.seq == 2 else row
        forged.append(
            ac.next_entry(
                forged[-1] if forged else None,
                time=row.time,
                actor=row.actor,
                action=row.action,
                subject=row.subject,
                details=row.details,
            )
        )
    assert ac.verify_chain(forged).ok
    result = ac.verify_chain(forged, checkpoints=[checkpoint])
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert result.reason is not None and "signed checkpoint" in result.reason
    assert ac.verify_chain(rows, checkpoints=[checkpoint]).ok


# --- checkpoints ------------------------------------------------------------


def test_checkpoint_round_trip(key: signing.Ed25519PrivateKey) -> None:
    checkpoint = ac.sign_checkpoint(key, 10, "ab" * 32, T0)
    assert checkpoint["time"] == "2024-05-01T14:00:00.123456Z"
    assert set(checkpoint) == {"seq", "head_hash", "time", "signature"}
    assert ac.verify_checkpoint(key.public_key(), json.loads(json.dumps(checkpoint)))


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 11},
        {"head_hash": "cd" * 32},
        {"time": "2024-05-01T14:00:00.123457Z"},
        {"signature": "AAAA"},
        {"signature": "not base64!"},
        {"signature": None},
        {"seq": "10"},
    ],
)
def test_altered_checkpoint_fails(key: signing.Ed25519PrivateKey, change: dict) -> None:
    checkpoint = {**ac.sign_checkpoint(key, 10, "ab" * 32, T0), **change}
    assert not ac.verify_checkpoint(key.public_key(), checkpoint)


def test_checkpoint_missing_field_fails(key: signing.Ed25519PrivateKey) -> None:
    checkpoint = ac.sign_checkpoint(key, 10, "ab" * 32, T0)
    del checkpoint["time"]
    assert not ac.verify_checkpoint(key.public_key(), checkpoint)


def test_checkpoint_by_another_key_fails(key: signing.Ed25519PrivateKey) -> None:
    other = signing.Ed25519PrivateKey.generate()
    checkpoint = ac.sign_checkpoint(other, 10, "ab" * 32, T0)
    assert not ac.verify_checkpoint(key.public_key(), checkpoint)


# --- keys (doorstep.signing) ------------------------------------------------


def test_key_is_created_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "hub.pem"
    first = signing.load_or_create_private_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    second = signing.load_or_create_private_key(path)
    assert signing.public_key_pem(first) == signing.public_key_pem(second)
    assert [p.name for p in path.parent.iterdir()] == ["hub.pem"]  # no temp file left


def test_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "hub.pem"
    first = signing.load_or_create_private_key(path)
    before = path.read_bytes()
    signing._create_key_file(path)  # losing a creation race keeps the winner's key
    assert path.read_bytes() == before
    assert signing.key_fingerprint(
        signing.load_or_create_private_key(path)
    ) == signing.key_fingerprint(first)


def test_non_ed25519_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(InvalidInput, match="not an Ed25519 private key"):
        signing.load_or_create_private_key(path)


def test_public_key_loads_from_text_bytes_and_path(tmp_path: Path) -> None:
    key = signing.Ed25519PrivateKey.generate()
    pem = signing.public_key_pem(key)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    path = tmp_path / "hub.pub"
    path.write_text(pem)
    for source in (pem, pem.encode(), path, str(path)):
        loaded = signing.load_public_key(source)
        assert signing.key_fingerprint(loaded) == signing.key_fingerprint(key)
    with pytest.raises(InvalidInput, match="Not a PEM public key"):
        signing.load_public_key("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n")


def test_sign_and_verify() -> None:
    key = signing.Ed25519PrivateKey.generate()
    signature = signing.sign(key, b"hello")
    assert len(signature) == 64
    assert signing.verify(key.public_key(), b"hello", signature)
    assert not signing.verify(key.public_key(), b"hellO", signature)
    flipped = signature[:-1] + bytes([signature[-1] ^ 1])  # always a different signature
    assert not signing.verify(key.public_key(), b"hello", flipped)
    other = signing.Ed25519PrivateKey.generate().public_key()
    assert not signing.verify(other, b"hello", signature)
