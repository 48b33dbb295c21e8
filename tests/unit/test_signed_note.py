"""Signed notes: checkpoints and cosignatures round-trip, match Go's vectors, refuse tampering."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from doorstep import signed_note as sn
from doorstep.errors import InvalidInput
from doorstep.signed_note import Checkpoint, NoteError, SignatureLine

# Known answers from golang.org/x/mod/sumdb/note, file sumdb/note/note_test.go
# (TestNewSigner, TestSign, TestOpen, TestVerifierList), BSD-licensed test data.
GO_PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
    "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5o"
    "vTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

LOG = "hub.example/doorstep"
WITNESS = "witness.example/w1"
ROOT = hashlib.sha256(b"root").digest()
T = 1679315147


def go_peter_key() -> Ed25519PrivateKey:
    """The private key of Go's TestSign: 0x01 || 32-byte seed after the key ID."""
    raw = base64.b64decode(GO_PETER_SKEY.split("+", 4)[4])
    assert raw[0] == 0x01 and len(raw) == 33
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture()
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture()
def witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture()
def checkpoint() -> Checkpoint:
    return Checkpoint(LOG, 20852163, ROOT)


@pytest.fixture()
def note(checkpoint: Checkpoint, log_key: Ed25519PrivateKey) -> str:
    return sn.sign_note(checkpoint.body(), LOG, log_key)


# Known answers (golang.org/x/mod/sumdb/note) ------------------------------------------


def test_go_vector_key_id_vkey_and_signature() -> None:
    """Key ID, vkey and the signed note of Go's TestSign, byte for byte.

    Source: golang.org/x/mod, sumdb/note/note_test.go, TestSign and TestNewVerifier.
    """
    key = go_peter_key()
    assert sn.key_id("PeterNeumann", key.public_key()) == bytes.fromhex("c74f20a3")
    assert sn.vkey("PeterNeumann", key.public_key()) == GO_PETER_VKEY
    assert sn.sign_note(GO_TEXT.encode(), "PeterNeumann", key) == GO_TEXT + "\n" + GO_PETER_SIG


def test_go_vector_vkeys_parse_and_verify_the_two_signers() -> None:
    """Go's TestOpen note, signed by PeterNeumann and EnochRoot, checked with their vkeys.

    Source: golang.org/x/mod, sumdb/note/note_test.go, TestOpen and TestVerifierList.
    """
    peter_name, peter = sn.public_key_from_vkey(GO_PETER_VKEY)
    enoch_name, enoch = sn.public_key_from_vkey(GO_ENOCH_VKEY)
    assert (peter_name, enoch_name) == ("PeterNeumann", "EnochRoot")
    assert raw(peter) == raw(go_peter_key().public_key())
    assert sn.key_id("EnochRoot", enoch) == bytes.fromhex("af0cfe78")
    assert sn.vkey("EnochRoot", enoch) == GO_ENOCH_VKEY

    body, lines = sn.parse_note(GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG)
    assert body == GO_TEXT.encode()
    assert [(line.name, line.key_id.hex()) for line in lines] == [
        ("PeterNeumann", "c74f20a3"),
        ("EnochRoot", "af0cfe78"),
    ]
    assert [line.text() for line in lines] == [GO_PETER_SIG, GO_ENOCH_SIG]
    peter.verify(lines[0].signature, body)
    enoch.verify(lines[1].signature, body)


def test_go_vector_manglings_of_a_vkey_are_refused() -> None:
    """Every proper substring and every one-byte change of Go's vkey is refused.

    Source: golang.org/x/mod, sumdb/note/note_test.go, TestNewVerifier (including its
    wrong-length and unknown-algorithm keys with adjusted key IDs).
    """
    b = GO_PETER_VKEY
    bad = [b[i:j] for i in range(len(b) + 1) for j in range(i + 1, len(b) + 1)]
    bad.remove(b)
    bad += [b[:i] + chr(ord(b[i]) + 1) + b[i + 1 :] for i in range(len(b))]
    bad += [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ]
    for text in bad:
        with pytest.raises(NoteError):
            sn.public_key_from_vkey(text)


# Checkpoint bodies --------------------------------------------------------------------


def test_checkpoint_body_is_the_tlog_checkpoint_text() -> None:
    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    cp = Checkpoint("example.com/behind-the-sofa", 20852163, root)
    assert cp.body() == (
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


@pytest.mark.parametrize(
    "cp",
    [
        Checkpoint(LOG, 0, bytes(32)),
        Checkpoint(LOG, 20852163, ROOT),
        Checkpoint("origin with spaces ünïcode", 2**63 - 1, ROOT, ("ext one", "— ext2")),
    ],
)
def test_checkpoint_round_trips(cp: Checkpoint) -> None:
    assert Checkpoint.parse(cp.body()) == cp
    assert Checkpoint.parse(cp.body().decode()) == cp
    assert Checkpoint.parse(cp.body()).body() == cp.body()


ROOT_B64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (f"{LOG}\n01\n{ROOT_B64}\n", "leading zero"),
        (f"{LOG}\n00\n{ROOT_B64}\n", "zero with leading zero"),
        (f"{LOG}\n-1\n{ROOT_B64}\n", "negative"),
        (f"{LOG}\n+1\n{ROOT_B64}\n", "plus sign"),
        (f"{LOG}\n 1\n{ROOT_B64}\n", "space"),
        (f"{LOG}\n1_000\n{ROOT_B64}\n", "underscore that int() accepts"),
        (f"{LOG}\n\u0661\n{ROOT_B64}\n", "Arabic-Indic digit that int() accepts"),
        (f"{LOG}\n0x10\n{ROOT_B64}\n", "hex"),
        (f"{LOG}\n{2**63}\n{ROOT_B64}\n", "beyond 2^63-1"),
        (f"{LOG}\n\n{ROOT_B64}\n", "empty size"),
        (f"{LOG}\n5\n{ROOT_B64[:-2]}!=\n", "bad base64 character"),
        (f"{LOG}\n5\n{ROOT_B64[:-1]}\n", "bad base64 padding"),
        (f"{LOG}\n5\n{ROOT_B64[:-2]}F=\n", "non-canonical base64 (trailing bits)"),
        (f"{LOG}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "31-byte hash"),
        (f"{LOG}\n5\n{base64.b64encode(ROOT + b'x').decode()}\n", "33-byte hash"),
        (f"{LOG}\n5\n{base64.urlsafe_b64encode(bytes([255]) * 32).decode()}\n", "URL-safe base64"),
        (f"{LOG}\n5\n{ROOT_B64}", "missing trailing newline"),
        (f"\n5\n{ROOT_B64}\n", "empty origin"),
        (f"{LOG}\n5\n", "no root line"),
        (f"{LOG}\n5\n{ROOT_B64}\n\n", "empty extension line"),
        (f"{LOG}\r\n5\r\n{ROOT_B64}\r\n", "CRLF"),
        (b"\xff\n5\n" + ROOT_B64.encode() + b"\n", "invalid UTF-8"),
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str | bytes, why: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"{LOG}\n{2**63}\n{ROOT_B64}\n", "line 2"),
        (f"{LOG}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "line 3.* 31 bytes"),
        (f"{LOG}\n5\n{ROOT_B64}", "end with a newline"),
        (f"{LOG}\n5\n{ROOT_B64}\n\n", "extension lines must not be empty"),
    ],
)
def test_checkpoint_errors_say_what_to_fix(body: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    "fields",
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        (LOG, -1, ROOT, ()),
        (LOG, 2**63, ROOT, ()),
        (LOG, True, ROOT, ()),
        (LOG, 1, ROOT[:31], ()),
        (LOG, 1, ROOT, ("",)),
        (LOG, 1, ROOT, ("two\nlines",)),
    ],
)
def test_checkpoint_refuses_fields_it_could_not_write(fields: tuple[Any, ...]) -> None:
    with pytest.raises(NoteError):
        Checkpoint(*fields)


def test_note_error_is_a_value_error_and_a_domain_error() -> None:
    """Callers may catch it as ValueError; the API maps it as InvalidInput (422)."""
    with pytest.raises(ValueError):
        Checkpoint.parse(b"")
    with pytest.raises(InvalidInput):
        Checkpoint.parse(b"")


# Checkpoint notes ---------------------------------------------------------------------


def test_checkpoint_note_round_trip(
    checkpoint: Checkpoint, log_key: Ed25519PrivateKey, note: str
) -> None:
    assert note.startswith(checkpoint.body().decode() + "\n— " + LOG + " ")
    assert sn.verify_checkpoint_note(note, LOG, log_key.public_key()) == checkpoint
    assert sn.verify_checkpoint_note(note.encode(), LOG, log_key.public_key()) == checkpoint


def test_checkpoint_with_extension_lines_verifies_and_keeps_them(
    log_key: Ed25519PrivateKey,
) -> None:
    cp = Checkpoint(LOG, 7, ROOT, ("rekor extension",))
    note = sn.sign_note(cp.body(), LOG, log_key)
    assert sn.verify_checkpoint_note(note, LOG, log_key.public_key()).extensions == (
        "rekor extension",
    )


def test_tampered_body_fails(log_key: Ed25519PrivateKey, note: str) -> None:
    tampered = note.replace("\n20852163\n", "\n20852164\n")
    assert tampered != note
    with pytest.raises(NoteError, match="does not match"):
        sn.verify_checkpoint_note(tampered, LOG, log_key.public_key())


def test_wrong_key_fails(note: str) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(NoteError, match="no signature by"):
        sn.verify_checkpoint_note(note, LOG, other)


def test_wrong_key_under_the_same_key_id_fails(
    checkpoint: Checkpoint, log_key: Ed25519PrivateKey
) -> None:
    """A forger who matches name and key ID still needs the key: the signature is checked."""
    forger = Ed25519PrivateKey.generate()
    forged = SignatureLine(LOG, sn.key_id(LOG, log_key.public_key()), forger.sign(b"x"))
    note = checkpoint.body().decode() + "\n" + forged.text()
    with pytest.raises(NoteError, match="does not match"):
        sn.verify_checkpoint_note(note, LOG, log_key.public_key())


def test_wrong_name_fails(log_key: Ed25519PrivateKey, note: str) -> None:
    with pytest.raises(NoteError, match="no signature by"):
        sn.verify_checkpoint_note(note, "hub.example/other", log_key.public_key())


def test_valid_signature_on_another_logs_checkpoint_fails(log_key: Ed25519PrivateKey) -> None:
    body = Checkpoint("hub.example/other-log", 3, ROOT).body()
    note = sn.sign_note(body, LOG, log_key)
    with pytest.raises(NoteError, match="not 'hub.example/doorstep'"):
        sn.verify_checkpoint_note(note, LOG, log_key.public_key())


def test_signed_note_that_is_not_a_checkpoint_fails(log_key: Ed25519PrivateKey) -> None:
    note = sn.sign_note(GO_TEXT.encode(), LOG, log_key)
    with pytest.raises(NoteError, match="Checkpoint"):
        sn.verify_checkpoint_note(note, LOG, log_key.public_key())


def test_truncated_signature_fails(log_key: Ed25519PrivateKey, note: str) -> None:
    body, (line,) = sn.parse_note(note)
    short = SignatureLine(line.name, line.key_id, line.signature[:63])
    with pytest.raises(NoteError, match="not 64"):
        sn.verify_checkpoint_note(body.decode() + "\n" + short.text(), LOG, log_key.public_key())


def test_truncated_note_fails(log_key: Ed25519PrivateKey, note: str) -> None:
    for cut in (1, 2, 10, len(note) - len(Checkpoint(LOG, 1, ROOT).body()) + 1):
        with pytest.raises(NoteError):
            sn.verify_checkpoint_note(note[:-cut], LOG, log_key.public_key())


def test_other_signers_are_ignored(
    checkpoint: Checkpoint, log_key: Ed25519PrivateKey, witness_key: Ed25519PrivateKey
) -> None:
    """Witness lines, rotated keys and garbage by unknown keys do not stop verification."""
    junk = SignatureLine("someone.example", b"\x00\x01\x02\x03", b"not a signature")
    stranger = SignatureLine(LOG, b"\xde\xad\xbe\xef", bytes(64))  # same name, other key ID
    cosig = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    _, (own,) = sn.parse_note(sn.sign_note(checkpoint.body(), LOG, log_key))
    lines = junk.text() + stranger.text() + cosig.text() + own.text()
    note = checkpoint.body().decode() + "\n" + lines
    assert sn.verify_checkpoint_note(note, LOG, log_key.public_key()) == checkpoint


def test_a_bad_line_by_the_trusted_key_rejects_the_note(
    checkpoint: Checkpoint, log_key: Ed25519PrivateKey, note: str
) -> None:
    """signed-note: a known key's failing signature rejects the note, even beside a good one."""
    bad = SignatureLine(LOG, sn.key_id(LOG, log_key.public_key()), bytes(64))
    with pytest.raises(NoteError, match="does not match"):
        sn.verify_checkpoint_note(sn.add_signatures(note, [bad]), LOG, log_key.public_key())


# Parsing notes ------------------------------------------------------------------------


def test_parse_note_returns_body_and_lines(
    checkpoint: Checkpoint, log_key: Ed25519PrivateKey, note: str
) -> None:
    body, lines = sn.parse_note(note)
    assert body == checkpoint.body()
    assert len(lines) == 1
    assert lines[0].name == LOG
    assert lines[0].key_id == sn.key_id(LOG, log_key.public_key())
    assert len(lines[0].signature) == 64
    assert checkpoint.body().decode() + "\n" + lines[0].text() == note


def test_body_with_blank_lines_splits_at_the_last_one(log_key: Ed25519PrivateKey) -> None:
    body = b"a\n\nb\n\n"
    assert sn.parse_note(sn.sign_note(body, "k", log_key))[0] == body


def test_parse_note_accepts_100_signatures(note: str) -> None:
    _, (line,) = sn.parse_note(note)
    extra = [SignatureLine(f"w{i}", line.key_id, line.signature) for i in range(99)]
    assert len(sn.parse_note(sn.add_signatures(note, extra))[1]) == 100


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n.split("\n— ")[0] + "\n\n", "no signature lines"),
        (lambda n: n.replace("— ", "- "), "hyphen instead of em dash"),
        (lambda n: n.replace("— ", "—"), "no space after the dash"),
        (lambda n: n.replace(f"— {LOG} ", f"— {LOG}+x "), "name with plus"),
        (lambda n: n.replace(f"— {LOG} ", "—  "), "empty name"),
        (lambda n: n.replace(f"— {LOG} ", f"— {LOG}\u00a0x "), "name with a Unicode space"),
        (lambda n: n.replace(f"— {LOG} ", f"— {LOG}"), "no space before the signature"),
        (lambda n: n[:-3] + "!" + n[-2:], "bad base64"),
        (lambda n: n[:-2] + "\n", "base64 without padding"),
        (lambda n: n + "Unexpected line.\n", "a line after the signatures"),
        (lambda n: n + "\n", "a blank line after the signatures"),
        (lambda n: n[:-1], "no final newline"),
        (lambda n: "\x01" + n, "control character"),
        (lambda n: n.replace("\n", "\r\n"), "CRLF"),
        (lambda n: n.split("\n— ")[0] + "\n— k AAAAAA==\n", "key ID with no signature"),
        (lambda n: n + n[n.index("— ") :] * 100, "101 signature lines"),
        (lambda n: "x" * sn.MAX_NOTE_BYTES + n, "over 1 MiB"),
    ],
)
def test_malformed_notes_are_refused(note: str, mangle: Callable[[str], str], why: str) -> None:
    mangled = mangle(note)
    assert mangled != note
    with pytest.raises(NoteError):
        sn.parse_note(mangled)


@pytest.mark.parametrize("char", ["\x00", "\t", "\r", "\x1b", "\x1f"])
def test_control_characters_are_refused(note: str, char: str) -> None:
    """Only newline: an escape sequence in a note must not reach a terminal or a log line."""
    with pytest.raises(NoteError, match="control character"):
        sn.parse_note(note.replace(LOG, LOG + char, 1))


def test_note_size_limit_holds_for_bytes(note: str) -> None:
    padding = b"x" * (sn.MAX_NOTE_BYTES - len(note.encode()) + 1)
    with pytest.raises(NoteError, match="larger than"):
        sn.parse_note(padding + note.encode())
    assert sn.parse_note(padding[1:] + note.encode())[0].startswith(b"xxx")


def test_invalid_utf8_note_is_refused(note: str) -> None:
    with pytest.raises(NoteError, match="UTF-8"):
        sn.parse_note(b"\xff" + note.encode())


def test_sign_note_refuses_text_it_could_not_parse_back(log_key: Ed25519PrivateKey) -> None:
    for body in (b"no newline", b"bad\x00\n", b"\xff\n"):
        with pytest.raises(NoteError):
            sn.sign_note(body, LOG, log_key)
    for name in ("", "a b", "a+b", "tab\there"):
        with pytest.raises(NoteError):
            sn.sign_note(b"text\n", name, log_key)


# Adding signatures --------------------------------------------------------------------


def test_add_signatures_appends_without_duplicates(
    checkpoint: Checkpoint, note: str, witness_key: Ed25519PrivateKey
) -> None:
    cosig = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    added = sn.add_signatures(note, [cosig])
    assert added == note + cosig.text()
    assert sn.add_signatures(added, [cosig, cosig]) == added
    later = sn.cosign(checkpoint.body(), WITNESS, witness_key, T + 60)
    assert sn.add_signatures(added, [later]) == added + later.text()


def test_add_signatures_refuses_past_the_limit(note: str) -> None:
    _, (line,) = sn.parse_note(note)
    extra = [SignatureLine(f"w{i}", line.key_id, line.signature) for i in range(100)]
    with pytest.raises(NoteError, match="at most 100"):
        sn.add_signatures(note, extra)


def test_signature_line_refuses_bad_fields() -> None:
    for fields in (
        ("", b"abcd", b"s"),
        ("a+b", b"abcd", b"s"),
        ("n", b"abc", b"s"),
        ("n", b"abcd", b""),
    ):
        with pytest.raises(NoteError):
            SignatureLine(*fields)


# Cosignatures -------------------------------------------------------------------------


def test_cosignature_round_trip(
    checkpoint: Checkpoint, log_key: Ed25519PrivateKey, witness_key: Ed25519PrivateKey, note: str
) -> None:
    line = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    assert sn.verify_cosignature(checkpoint.body(), line, WITNESS, witness_key.public_key()) == T
    # Carried in the note, it still verifies, and so does the log's own signature.
    body, lines = sn.parse_note(sn.add_signatures(note, [line]))
    assert lines[1] == line
    assert sn.verify_cosignature(body, lines[1], WITNESS, witness_key.public_key()) == T
    assert sn.verify_checkpoint_note(sn.add_signatures(note, [line]), LOG, log_key.public_key())


def test_cosignature_follows_tlog_cosignature_v1(
    checkpoint: Checkpoint, witness_key: Ed25519PrivateKey
) -> None:
    """Checked independently of the module: key ID alg 0x04, timestamp, then a signature
    over "cosignature/v1\\ntime T\\n" + body (c2sp.org/tlog-cosignature)."""
    public = witness_key.public_key()
    line = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    expected_id = hashlib.sha256(WITNESS.encode() + b"\n\x04" + raw(public)).digest()[:4]
    assert line.key_id == expected_id
    assert line.key_id != sn.key_id(WITNESS, public)
    assert len(line.signature) == 72
    assert line.signature[:8] == T.to_bytes(8, "big")
    public.verify(line.signature[8:], b"cosignature/v1\ntime 1679315147\n" + checkpoint.body())


def test_cosignature_with_altered_timestamp_fails(
    checkpoint: Checkpoint, witness_key: Ed25519PrivateKey
) -> None:
    line = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    moved = SignatureLine(line.name, line.key_id, (T + 1).to_bytes(8, "big") + line.signature[8:])
    with pytest.raises(NoteError, match="does not match"):
        sn.verify_cosignature(checkpoint.body(), moved, WITNESS, witness_key.public_key())


def test_cosignature_of_another_checkpoint_fails(
    checkpoint: Checkpoint, witness_key: Ed25519PrivateKey
) -> None:
    line = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    other = Checkpoint(LOG, checkpoint.size + 1, ROOT).body()
    with pytest.raises(NoteError, match="does not match"):
        sn.verify_cosignature(other, line, WITNESS, witness_key.public_key())


def test_cosignature_by_another_witness_or_name_fails(
    checkpoint: Checkpoint, witness_key: Ed25519PrivateKey
) -> None:
    line = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(NoteError, match="not witness"):
        sn.verify_cosignature(checkpoint.body(), line, WITNESS, other)
    with pytest.raises(NoteError, match="not other"):
        sn.verify_cosignature(checkpoint.body(), line, "other", witness_key.public_key())


def test_plain_note_signature_is_not_a_cosignature(
    checkpoint: Checkpoint, witness_key: Ed25519PrivateKey
) -> None:
    """A witness's ordinary (0x01) signature must not pass as a timestamped cosignature."""
    _, (line,) = sn.parse_note(sn.sign_note(checkpoint.body(), WITNESS, witness_key))
    with pytest.raises(NoteError):
        sn.verify_cosignature(checkpoint.body(), line, WITNESS, witness_key.public_key())


def test_truncated_cosignature_fails(
    checkpoint: Checkpoint, witness_key: Ed25519PrivateKey
) -> None:
    line = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    short = SignatureLine(line.name, line.key_id, line.signature[:-1])
    with pytest.raises(NoteError, match="not 72"):
        sn.verify_cosignature(checkpoint.body(), short, WITNESS, witness_key.public_key())


def test_cosign_refuses_bad_timestamps_and_bodies(
    checkpoint: Checkpoint, witness_key: Ed25519PrivateKey
) -> None:
    for ts in (-1, 2**63):
        with pytest.raises(NoteError):
            sn.cosign(checkpoint.body(), WITNESS, witness_key, ts)
    with pytest.raises(NoteError):
        sn.cosign(GO_TEXT.encode(), WITNESS, witness_key, T)


def test_cosignature_timestamp_beyond_2_63_fails(
    checkpoint: Checkpoint, witness_key: Ed25519PrivateKey
) -> None:
    line = sn.cosign(checkpoint.body(), WITNESS, witness_key, T)
    big = SignatureLine(line.name, line.key_id, b"\xff" * 8 + line.signature[8:])
    with pytest.raises(NoteError, match="outside"):
        sn.verify_cosignature(checkpoint.body(), big, WITNESS, witness_key.public_key())


# Verifier keys ------------------------------------------------------------------------


def test_vkey_round_trip(log_key: Ed25519PrivateKey) -> None:
    text = sn.vkey(LOG, log_key.public_key())
    name, public = sn.public_key_from_vkey(text)
    assert name == LOG
    assert raw(public) == raw(log_key.public_key())
    assert sn.public_key_from_vkey(text + "\n")[0] == LOG  # as read from a file


def test_cosigner_vkey_is_refused_with_its_type(witness_key: Ed25519PrivateKey) -> None:
    public = witness_key.public_key()
    kid = sn.key_id(WITNESS, public, sn.ALG_COSIGNATURE_V1).hex()
    key_text = base64.b64encode(bytes([0x04]) + raw(public)).decode()
    text = f"{WITNESS}+{kid}+{key_text}"
    with pytest.raises(NoteError, match="0x04"):
        sn.public_key_from_vkey(text)


def test_vkey_with_a_wrong_length_key_is_refused(log_key: Ed25519PrivateKey) -> None:
    for material in (raw(log_key.public_key()) + b"x", raw(log_key.public_key())[:31]):
        text = f"{LOG}+00000000+{base64.b64encode(bytes([1]) + material).decode()}"
        with pytest.raises(NoteError, match="not a 32-byte"):
            sn.public_key_from_vkey(text)
