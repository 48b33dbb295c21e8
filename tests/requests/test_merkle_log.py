"""Issue 11: the audit log is a Merkle tree that an operator cannot quietly rewrite.

Every append is signed; anyone can fetch the checkpoint, proofs and leaf hashes without
logging in; public leaf hashes reveal nothing guessable; and the three tamperings of
the issue (edit and re-hash, truncate, delete everything), done as an operator with the
hub's key would do them, pass every anchor inside the database but are caught by
`doorstep audit verify` given a checkpoint saved outside it. SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from doorstep import merkle, signed_note
from doorstep.audit_chain import AuditEntry, leaf_data
from doorstep.cli.main import cli
from doorstep.config import Settings
from doorstep.hub.db import session_scope
from doorstep.hub.models_log import LogCheckpoint
from doorstep.hub.models_requests import AuditRow
from doorstep.hub.services.log_verify import checkpoint_signed_by
from doorstep.signing import load_public_key
from tests.log_tamper import change_entry, delete_everything, rewrite_log, truncate
from tests.requests.conftest import World, audit_rows, bearer, hub_of, one_shares_one_declines


def _history(world: World) -> str:
    rid, sharer = one_shares_one_declines(world)
    world.client.get(
        f"/api/v1/requests/{rid}/clips/{sharer.events[0]['id']}", headers=bearer(world.officer)
    )
    return rid


def _checkpoint(world: World) -> tuple[str, signed_note.Checkpoint]:
    note = world.client.get("/api/v1/log/checkpoint").text
    key = load_public_key(world.client.get("/api/v1/keys/hub.pub").content)
    return note, checkpoint_signed_by(note, key)


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_every_append_is_signed_whatever_the_action(world: World) -> None:
    _history(world)
    world.client.post("/api/v1/auth/token", data={"username": "x@y.z", "password": "wrong!!!"})
    rows = audit_rows(world.client, world.auditor)
    assert "login.failure" in {r["action"] for r in rows}
    with session_scope(hub_of(world.client).sessions) as session:
        signed = session.scalar(select(func.count()).where(LogCheckpoint.size > 0))
        rows_now = session.scalar(select(func.count()).select_from(AuditRow))
    assert signed == rows_now  # one checkpoint per entry: none skipped
    _note, checkpoint = _checkpoint(world)
    assert checkpoint.size == rows_now
    info = world.client.get("/api/v1/log").json()
    assert info["size"] == rows_now and info["origin"] == checkpoint.origin


def test_anyone_can_prove_any_entry_is_in_the_log_and_the_log_only_grew(world: World) -> None:
    _history(world)
    old_note, old = _checkpoint(world)
    world.client.post("/api/v1/auth/token", data={"username": "a@b.c", "password": "nope nope"})
    _note, new = _checkpoint(world)
    assert new.size > old.size
    entries = [AuditEntry.from_dict(r) for r in audit_rows(world.client, world.auditor)]
    leaves = world.client.get("/api/v1/log/leaves", params={"start": 0, "end": new.size}).json()
    assert [_b64(h) for h in leaves["leaf_hashes"]] == [
        merkle.leaf_hash(leaf_data(e)) for e in entries
    ]
    for entry in entries:  # no login: the proofs are public
        reply = world.client.get(
            "/api/v1/log/proof/inclusion", params={"index": entry.index, "size": new.size}
        ).json()
        leaf = merkle.leaf_hash(leaf_data(entry))
        proof = [_b64(p) for p in reply["proof"]]
        assert merkle.verify_inclusion(entry.index, new.size, leaf, proof, new.root)
        assert not merkle.verify_inclusion(entry.index, new.size, leaf, proof, old.root)
    reply = world.client.get(
        "/api/v1/log/proof/consistency", params={"old": old.size, "new": new.size}
    ).json()
    proof = [_b64(p) for p in reply["proof"]]
    assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    # entries themselves are not public
    assert world.client.get("/api/v1/audit").status_code == 401
    assert world.client.get("/api/v1/log/proof/inclusion?index=5&size=2").status_code == 422
    assert world.client.get("/api/v1/log/proof/consistency?old=3&new=99999").status_code == 422


def test_a_public_leaf_hash_does_not_confirm_a_guessed_sign_in(world: World) -> None:
    """The subject of a failed sign-in is ``login:<email>``: guessable, so salted."""
    guessed = "victim@example.org"
    world.client.post("/api/v1/auth/token", data={"username": guessed, "password": "guess!!!"})
    row = next(r for r in audit_rows(world.client, world.auditor) if r["action"] == "login.failure")
    entry = AuditEntry.from_dict(row)
    assert entry.subject == f"login:{guessed}" and len(entry.salt) == 64
    public = world.client.get(
        "/api/v1/log/leaves", params={"start": entry.index, "end": entry.index + 1}
    ).json()["leaf_hashes"][0]
    unsalted = AuditEntry.from_dict({**row, "salt": ""})
    assert _b64(public) != merkle.leaf_hash(leaf_data(unsalted))  # the guess without the salt
    assert _b64(public) == merkle.leaf_hash(leaf_data(entry))  # an auditor, with it, checks it


def _verify(settings: Settings, *anchors: Path) -> tuple[int, str]:
    args = [
        "audit",
        "verify",
        "--data-dir",
        str(settings.data_dir),
        "--database-url",
        settings.resolved_database_url,
    ]
    for anchor in anchors:
        args += ["--checkpoint", str(anchor)]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


TAMPERINGS: dict[str, Any] = {
    # a decline becomes a share, every hash recomputed and every checkpoint re-signed
    "edit and re-hash": lambda declined: change_entry(declined, action="request.share"),
    "truncate": lambda declined: truncate(declined),
    "delete everything": lambda _declined: delete_everything,
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_an_operator_rewrite_is_caught_only_by_a_checkpoint_from_outside(
    world: World, hub_settings: Settings, tmp_path: Path, tampering: str
) -> None:
    _history(world)
    saved = tmp_path / "checkpoint.note"  # what a journalist saved from the public API
    saved.write_text(world.client.get("/api/v1/log/checkpoint").text)
    rows = audit_rows(world.client, world.auditor)
    declined = next(r["seq"] - 1 for r in rows if r["action"] == "request.decline")
    assert _verify(hub_settings, saved)[0] == 0

    rewrite_log(hub_of(world.client), TAMPERINGS[tampering](declined))
    if tampering != "delete everything":  # with no entries there is nothing to verify
        code, output = _verify(hub_settings)
        assert code == 0, output  # every anchor inside the database agrees with the rewrite
    code, output = _verify(hub_settings, saved)
    assert code == 1, output
    if tampering == "edit and re-hash":
        assert "different root" in output and f"index {0}" in output
    else:
        assert f"truncated from index {0 if tampering != 'truncate' else declined}" in output
