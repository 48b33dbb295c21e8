"""Acceptance 5: an exported bundle verifies offline with the hub's key; one flipped byte fails."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from doorstep.cli.main import cli
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models_requests import RequestClip
from tests.requests.conftest import (
    World,
    audit_rows,
    bearer,
    hub_of,
    one_shares_one_declines,
)


def _export(world: World, tmp_path: Path) -> tuple[Path, Path, str]:
    rid, _sharer = one_shares_one_declines(world)
    reply = world.client.post(f"/api/v1/requests/{rid}/evidence", headers=bearer(world.officer))
    assert reply.status_code == 200, reply.text
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(reply.content)
    key = world.client.get("/api/v1/keys/hub.pub")
    assert key.status_code == 200 and key.text.startswith("-----BEGIN PUBLIC KEY-----")
    pub = tmp_path / "hub.pub"
    pub.write_text(key.text)
    return bundle, pub, rid


def _verify(bundle: Path, pub: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["evidence", "verify", str(bundle), "--key", str(pub)])
    return result.exit_code, result.output


def _rewrite(bundle: Path, member: str, flip_at: int) -> Path:
    """A copy of the bundle with one byte of one member flipped."""
    out = bundle.with_name(f"tampered-{member.replace('/', '_')}.zip")
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = bytearray(src.read(info.filename))
            if info.filename == member:
                data[flip_at] ^= 0x01
            dst.writestr(info, bytes(data))
    return out


def test_bundle_verifies_and_carries_the_chain_of_custody(world: World, tmp_path: Path) -> None:
    bundle, pub, rid = _export(world, tmp_path)
    code, output = _verify(bundle, pub)
    assert code == 0, output
    assert "OK: signature valid, 2 clips" in output
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["request"]["id"] == rid
    assert {c["sha256"] for c in manifest["clips"]} == {
        e["clip_sha256"]
        for e in world.client.get(f"/api/v1/requests/{rid}", headers=bearer(world.officer)).json()[
            "clips"
        ]
    }
    assert [c["decision"] for c in manifest["consents"]] == ["shared"]
    actions = [r["action"] for r in manifest["audit_rows"]]
    assert actions[:3] == ["request.create", "request.match", "request.share"]
    assert "request.decline" not in actions
    export_row = audit_rows(world.client, world.auditor)[-1]
    assert export_row["action"] == "evidence.export"
    with zipfile.ZipFile(bundle) as zf:
        digest = zf.read("manifest.sha256").decode().strip()
    assert export_row["details"]["manifest_sha256"] == digest


@pytest.mark.parametrize("member", ["clip", "manifest.json"])
def test_one_flipped_byte_fails(world: World, tmp_path: Path, member: str) -> None:
    bundle, pub, _rid = _export(world, tmp_path)
    with zipfile.ZipFile(bundle) as zf:
        name = (
            next(n for n in zf.namelist() if n.startswith("clips/")) if member == "clip" else member
        )
    code, output = _verify(_rewrite(bundle, name, flip_at=7), pub)
    assert code == 1
    assert "FAIL" in output
    assert (name in output) if member == "clip" else ("manifest.sig" in output)


def test_bundle_never_hints_at_a_revocation(world: World, tmp_path: Path) -> None:
    """Shared two, the officer fetched one, the owner revoked the other: only one is known."""
    sharer = world.owner("sharer", east_m=10, events_in_window=2)
    rid = str(world.request().json()["id"])
    world.client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=bearer(sharer.token)
    )
    kept, revoked = (event["id"] for event in sharer.events)
    fetched = world.client.get(
        f"/api/v1/requests/{rid}/clips/{kept}", headers=bearer(world.officer)
    )
    assert fetched.status_code == 200
    assert (
        world.client.post(f"/api/v1/inbox/{rid}/revoke", headers=bearer(sharer.token)).status_code
        == 200
    )
    reply = world.client.post(f"/api/v1/requests/{rid}/evidence", headers=bearer(world.officer))
    assert reply.status_code == 200, reply.text
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(reply.content)
    with zipfile.ZipFile(bundle) as zf:
        manifest = zf.read("manifest.json").decode()
    assert kept in manifest and revoked not in manifest


def test_bundle_keeps_the_consent_row_when_a_shared_clip_is_not_in_it(
    world: World, tmp_path: Path
) -> None:
    """A shared clip whose access ran out is left out of the bundle; the consent is not."""
    sharer = world.owner("sharer", east_m=10, events_in_window=2)
    rid = str(world.request().json()["id"])
    world.client.post(
        f"/api/v1/inbox/{rid}/decision", json={"action": "share_all"}, headers=bearer(sharer.token)
    )
    with session_scope(hub_of(world.client).sessions) as session:
        session.execute(
            update(RequestClip)
            .where(RequestClip.event_id == sharer.events[1]["id"])
            .values(access_expires_at=utcnow() - timedelta(days=1))
        )
    reply = world.client.post(f"/api/v1/requests/{rid}/evidence", headers=bearer(world.officer))
    assert reply.status_code == 200, reply.text
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(reply.content)
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert len(manifest["clips"]) == 1
    assert "request.share" in {row["action"] for row in manifest["audit_rows"]}
