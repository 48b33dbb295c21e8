"""Issue 11 item 5: receipts for the people concerned, and inclusion proofs in evidence bundles.

A receipt for a share, a decline and an officer's view verifies offline with
`doorstep log verify-receipt`; an altered entry, an altered proof or a checkpoint not
signed by the hub key each fail with a message naming which; `--hub` against a real
`doorstep serve` checks that the entry is still in the log after more appends; nobody
fetches someone else's receipt. On SQLite and PostgreSQL (the `world` fixture).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from doorstep import signed_note
from doorstep.audit_chain import compute_hash, leaf_data, next_entry
from doorstep.cli.main import cli
from doorstep.config import Settings
from doorstep.evidence import BundleClip, build_bundle
from doorstep.merkle import leaf_hash
from doorstep.receipt import b64
from doorstep.signing import Ed25519PrivateKey, sign
from tests.hub_fixtures import page_sign_in
from tests.requests.conftest import PASSWORD, World, bearer, hub_of, one_shares_one_declines
from tests.server_process import ServerProcess

RECEIPT_ACTIONS = {"request.share", "request.decline", "clip.view"}


def _hub_key(world: World, tmp_path: Path) -> Path:
    pub = tmp_path / "hub.pub"
    pub.write_text(world.client.get("/api/v1/keys/hub.pub").text)
    return pub


def _receipt(world: World, token: str, action: str) -> dict[str, Any]:
    """The caller's receipt for their (only) entry with ``action``, as the API lists it."""
    listed = world.client.get("/api/v1/log/receipts", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    seqs = [r["seq"] for r in listed.json() if r["action"] == action]
    assert len(seqs) == 1, listed.json()
    reply = world.client.get(f"/api/v1/log/receipts/{seqs[0]}", headers=bearer(token))
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _verify(receipt: dict[str, Any], pub: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    path = tmp_path / f"receipt-{receipt['index']}-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(receipt))
    result = CliRunner().invoke(
        cli, ["log", "verify-receipt", str(path), "--hub-key", str(pub), *extra]
    )
    return result.exit_code, result.output


@pytest.fixture
def answered(world: World) -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    """A request shared by one owner, declined by another and viewed by the officer;
    the receipt of each of the three."""
    rid, sharer = one_shares_one_declines(world)
    event_id = sharer.events[0]["id"]
    view = world.client.get(
        f"/api/v1/requests/{rid}/clips/{event_id}", headers=bearer(world.officer)
    )
    assert view.status_code == 200, view.text
    receipts = {
        "request.share": _receipt(world, sharer.token, "request.share"),
        "request.decline": _receipt(world, world.owners["decliner"].token, "request.decline"),
        "clip.view": _receipt(world, world.officer, "clip.view"),
    }
    yield rid, receipts


def test_receipts_for_a_share_a_decline_and_a_view_verify_offline(
    world: World, answered: tuple[str, dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    rid, receipts = answered
    pub = _hub_key(world, tmp_path)
    for action, receipt in receipts.items():
        assert receipt["entry"]["action"] == action
        assert receipt["entry"]["subject"] == f"request:{rid}"
        assert receipt["entry"]["salt"], "the person concerned gets the entry's salt"
        assert receipt["index"] == receipt["entry"]["seq"] - 1
        code, output = _verify(receipt, pub, tmp_path)
        assert code == 0, output
        assert output.startswith("OK: ") and action in output
    # The leaf the receipt proves is the one the hub publishes without login.
    share = receipts["request.share"]
    public = world.client.get(
        "/api/v1/log/leaves", params={"start": share["index"], "end": share["index"] + 1}
    ).json()
    assert public["leaf_hashes"] == [share["leaf_hash"]]


def _alter_entry(receipt: dict[str, Any]) -> None:
    receipt["entry"]["action"] = "request.share"  # a decline made to read as a share


def _alter_entry_and_its_hashes(receipt: dict[str, Any]) -> None:
    """A careful forger: the entry changed, its chain hash and leaf hash recomputed."""
    from doorstep.audit_chain import AuditEntry

    receipt["entry"]["action"] = "request.share"
    entry = AuditEntry.from_dict(receipt["entry"])
    receipt["entry"]["hash"] = compute_hash(entry.prev_hash, entry)
    receipt["leaf_hash"] = b64(leaf_hash(leaf_data(entry)))


def _alter_proof(receipt: dict[str, Any]) -> None:
    first = bytearray(base64.b64decode(receipt["inclusion_proof"][0]))
    first[0] ^= 0x01
    receipt["inclusion_proof"][0] = b64(bytes(first))


def _sign_with_another_key(receipt: dict[str, Any]) -> None:
    body, _lines = signed_note.parse_note(receipt["checkpoint"])
    origin = signed_note.Checkpoint.parse(body).origin
    receipt["checkpoint"] = signed_note.sign_note(body, origin, Ed25519PrivateKey.generate())


def _alter_checkpoint_root(receipt: dict[str, Any]) -> None:
    body, lines = signed_note.parse_note(receipt["checkpoint"])
    checkpoint = signed_note.Checkpoint.parse(body)
    forged = signed_note.Checkpoint(checkpoint.origin, checkpoint.size, b"\x07" * 32).body()
    receipt["checkpoint"] = forged.decode() + "\n" + "".join(line.text() for line in lines)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_alter_entry, "FAILED: entry altered"),
        (_alter_entry_and_its_hashes, "FAILED: proof does not lead to the checkpoint's root"),
        (_alter_proof, "FAILED: proof does not lead to the checkpoint's root"),
        (_sign_with_another_key, "FAILED: checkpoint not signed by this hub key"),
        (_alter_checkpoint_root, "FAILED: checkpoint not signed by this hub key"),
    ],
)
def test_a_tampered_receipt_fails_and_says_which_part(
    world: World,
    answered: tuple[str, dict[str, dict[str, Any]]],
    tmp_path: Path,
    tamper: Any,
    message: str,
) -> None:
    _rid, receipts = answered
    pub = _hub_key(world, tmp_path)
    receipt = json.loads(json.dumps(receipts["request.decline"]))
    assert _verify(receipt, pub, tmp_path)[0] == 0
    tamper(receipt)
    code, output = _verify(receipt, pub, tmp_path)
    assert code == 1, output
    assert output.startswith(message), output


def test_a_receipt_checked_with_another_hubs_key_fails(
    world: World, answered: tuple[str, dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    _rid, receipts = answered
    other = tmp_path / "other.pub"
    from doorstep.signing import public_key_pem

    other.write_text(public_key_pem(Ed25519PrivateKey.generate()))
    code, output = _verify(receipts["request.share"], other, tmp_path)
    assert code == 1 and output.startswith("FAILED: checkpoint not signed by this hub key"), output


def test_nobody_fetches_someone_elses_receipt(
    world: World, answered: tuple[str, dict[str, dict[str, Any]]]
) -> None:
    _rid, receipts = answered
    decline_seq = receipts["request.decline"]["entry"]["seq"]
    sharer = world.owners["sharer"]
    for token in (sharer.token, world.officer, world.supervisor):
        reply = world.client.get(f"/api/v1/log/receipts/{decline_seq}", headers=bearer(token))
        assert reply.status_code == 404, reply.text
    # ... exactly as for a seq that does not exist: no enumeration.
    missing = world.client.get("/api/v1/log/receipts/999999", headers=bearer(sharer.token))
    assert missing.status_code == 404
    assert world.client.get(f"/api/v1/log/receipts/{decline_seq}").status_code == 401
    # The decliner's list holds only their own entries; auditors read any receipt.
    decliner = world.owners["decliner"].token
    listed = world.client.get("/api/v1/log/receipts", headers=bearer(decliner)).json()
    assert [r["action"] for r in listed] == ["request.decline"]
    auditor = world.client.get(f"/api/v1/log/receipts/{decline_seq}", headers=bearer(world.auditor))
    assert auditor.status_code == 200


def _page_sign_in(client: TestClient, email: str) -> None:
    client.cookies.clear()
    page_sign_in(client, email, PASSWORD)


def test_pages_link_receipts_and_serve_them_only_to_their_actor(
    world: World, answered: tuple[str, dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    rid, receipts = answered
    client = world.client
    share_seq = receipts["request.share"]["entry"]["seq"]
    decline_seq = receipts["request.decline"]["entry"]["seq"]
    view_seq = receipts["clip.view"]["entry"]["seq"]

    _page_sign_in(client, world.owners["sharer"].email)
    inbox = client.get("/inbox")
    assert f'href="/receipts/{share_seq}"' in inbox.text
    assert f'href="/receipts/{decline_seq}"' not in inbox.text
    download = client.get(f"/receipts/{share_seq}")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    path = tmp_path / "from-the-inbox.json"
    path.write_bytes(download.content)
    result = CliRunner().invoke(
        cli, ["log", "verify-receipt", str(path), "--hub-key", str(_hub_key(world, tmp_path))]
    )
    assert result.exit_code == 0, result.output
    assert client.get(f"/receipts/{decline_seq}").status_code == 404

    _page_sign_in(client, "smith@pd.example")
    page = client.get(f"/officer/requests/{rid}")
    assert f'href="/receipts/{view_seq}"' in page.text
    assert client.get(f"/receipts/{view_seq}").status_code == 200
    assert client.get(f"/receipts/{share_seq}").status_code == 404


def test_opt_out_and_revoke_have_receipts_in_the_inbox(world: World, tmp_path: Path) -> None:
    keeper = world.owner("keeper", east_m=5)
    leaver = world.owner("leaver", east_m=-5)
    rid = str(world.request().json()["id"])
    for owner, action in ((keeper, "share_all"), (leaver, "opt_out")):
        reply = world.client.post(
            f"/api/v1/inbox/{rid}/decision", json={"action": action}, headers=bearer(owner.token)
        )
        assert reply.status_code == 200, reply.text
    revoked = world.client.post(f"/api/v1/inbox/{rid}/revoke", headers=bearer(keeper.token))
    assert revoked.status_code == 200, revoked.text
    pub = _hub_key(world, tmp_path)
    for owner, action in (
        (keeper, "request.revoke"),
        (leaver, "owner.opt_out"),
        (leaver, "request.decline"),
    ):
        code, output = _verify(_receipt(world, owner.token, action), pub, tmp_path)
        assert code == 0, output
    _page_sign_in(world.client, leaver.email)
    inbox = world.client.get("/inbox").text
    opt_out = _receipt(world, leaver.token, "owner.opt_out")["entry"]["seq"]
    assert f'href="/receipts/{opt_out}"' in inbox


@pytest.fixture
def served(world: World, hub_settings: Settings) -> Iterator[ServerProcess]:
    """`doorstep serve` on the world's database and key, as a user would start it."""
    server = ServerProcess(hub_settings.data_dir, hub_settings.resolved_database_url)
    server.start()
    yield server
    server.stop()


def test_hub_option_checks_consistency_to_the_latest_checkpoint(
    world: World,
    answered: tuple[str, dict[str, dict[str, Any]]],
    served: ServerProcess,
    tmp_path: Path,
) -> None:
    _rid, receipts = answered
    pub = _hub_key(world, tmp_path)
    receipt = receipts["request.decline"]
    size = signed_note.Checkpoint.parse(signed_note.parse_note(receipt["checkpoint"])[0]).size
    for n in range(3):  # more entries after the receipt was handed out
        world.api.signup(f"later{n}@example.org")
    latest = world.client.get("/api/v1/log").json()["size"]
    assert latest > size
    code, output = _verify(receipt, pub, tmp_path, "--hub", served.url)
    assert code == 0, output
    assert f"still included in the latest checkpoint of {latest} entries" in output

    # A hub whose key is not the receipt's cannot vouch for it.
    other = tmp_path / "other.pub"
    from doorstep.signing import public_key_pem

    other.write_text(public_key_pem(Ed25519PrivateKey.generate()))
    code, output = _verify(receipt, other, tmp_path, "--hub", served.url)
    assert code == 1 and "checkpoint not signed by this hub key" in output
    # An unreachable hub is a failure, not a silent OK.
    code, output = _verify(receipt, pub, tmp_path, "--hub", "http://127.0.0.1:9")
    assert code == 1 and "cannot ask the hub" in output


# --- evidence bundles ----------------------------------------------------------------


def _export(world: World, tmp_path: Path) -> tuple[Path, Path]:
    rid, _sharer = one_shares_one_declines(world)
    reply = world.client.post(f"/api/v1/requests/{rid}/evidence", headers=bearer(world.officer))
    assert reply.status_code == 200, reply.text
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(reply.content)
    return bundle, _hub_key(world, tmp_path)


def _evidence_verify(bundle: Path, pub: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["evidence", "verify", str(bundle), "--key", str(pub)])
    return result.exit_code, result.output


def _resign(bundle: Path, manifest: dict[str, Any], key: Ed25519PrivateKey, name: str) -> Path:
    """The bundle with a changed manifest, signed again by the hub's key (as only the hub
    could): the signature holds, so only the proofs inside can catch the change."""
    out = bundle.with_name(name)
    data = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    replaced = {
        "manifest.json": data,
        "manifest.sig": base64.b64encode(sign(key, data)) + b"\n",
        "manifest.sha256": hashlib.sha256(data).hexdigest().encode() + b"\n",
    }
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, replaced.get(info.filename, src.read(info.filename)))
    return out


def test_bundle_rows_carry_inclusion_proofs_that_verify(world: World, tmp_path: Path) -> None:
    bundle, pub = _export(world, tmp_path)
    code, output = _evidence_verify(bundle, pub)
    assert code == 0, output
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    checkpoint = signed_note.Checkpoint.parse(
        signed_note.parse_note(manifest["audit_checkpoint"])[0]
    )
    rows = manifest["audit_rows"]
    assert rows and all(r["index"] == r["seq"] - 1 and r["salt"] for r in rows)
    assert all(r["index"] < checkpoint.size and r["inclusion_proof"] for r in rows)

    key = hub_of(world.client).signing_key
    # The manifest re-signed unchanged still verifies: the test's re-signing is faithful.
    same = _resign(bundle, manifest, key, "resigned.zip")
    assert _evidence_verify(same, pub)[0] == 0
    bad = json.loads(json.dumps(manifest))
    proof = bytearray(base64.b64decode(bad["audit_rows"][1]["inclusion_proof"][0]))
    proof[-1] ^= 0x80
    bad["audit_rows"][1]["inclusion_proof"][0] = b64(bytes(proof))
    code, output = _evidence_verify(_resign(bundle, bad, key, "bad-proof.zip"), pub)
    assert code == 1
    assert f"audit row seq {rows[1]['seq']}: proof does not lead to the checkpoint's root" in output
    # A row edited with its chain hash recomputed: the hash check passes, the proof does not.
    from doorstep.audit_chain import AuditEntry

    edited = json.loads(json.dumps(manifest))
    edited["audit_rows"][0]["details"]["note"] = "added later"
    entry = AuditEntry.from_dict(edited["audit_rows"][0])
    edited["audit_rows"][0]["hash"] = compute_hash(entry.prev_hash, entry)
    code, output = _evidence_verify(_resign(bundle, edited, key, "edited-row.zip"), pub)
    assert code == 1 and "proof does not lead to the checkpoint's root" in output
    # A checkpoint the hub's key did not sign.
    forged = json.loads(json.dumps(manifest))
    body, _lines = signed_note.parse_note(forged["audit_checkpoint"])
    forged["audit_checkpoint"] = signed_note.sign_note(
        body, checkpoint.origin, Ed25519PrivateKey.generate()
    )
    code, output = _evidence_verify(_resign(bundle, forged, key, "forged-cp.zip"), pub)
    assert code == 1 and "checkpoint not signed by this hub key" in output


def test_a_bundle_exported_before_the_merkle_log_still_verifies(tmp_path: Path) -> None:
    """Built the old way: hash-chain rows without salt, index or proofs, no checkpoint."""
    key = Ed25519PrivateKey.generate()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"old footage" * 100)
    start = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
    rows, head = [], None
    for action in ("request.create", "request.match", "request.share", "clip.view"):
        head = next_entry(
            head, time=start, actor="officer:1", action=action, subject="request:r1", details={}
        )
        rows.append(head.to_dict())
        start += timedelta(minutes=1)
    assert all("salt" not in r for r in rows)
    bundle = build_bundle(
        tmp_path / "old.zip",
        [
            BundleClip(
                name="e1.mp4",
                path=clip,
                sha256=hashlib.sha256(clip.read_bytes()).hexdigest(),
                camera={"name": "porch"},
                start_time=start,
                end_time=start,
                event_id="e1",
            )
        ],
        {"id": "r1"},
        [{"decision": "shared"}],
        rows,
        key,
        created_at=start,
    ).path
    pub = tmp_path / "hub.pub"
    from doorstep.signing import public_key_pem

    pub.write_text(public_key_pem(key))
    code, output = _evidence_verify(bundle, pub)
    assert code == 0, output
    # Proofs without a checkpoint to lead to are refused, not skipped.
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["audit_rows"][0]["inclusion_proof"] = []
    code, output = _evidence_verify(_resign(bundle, manifest, key, "half.zip"), pub)
    assert code == 1 and "no audit_checkpoint" in output
