"""Issue 11, witnesses: a witness outside the hub cosigns a log that only grows, and
alarms, with a pair of signed checkpoints anyone can check, when the operator rewrites
it. In-process (the witness talks to the app through the TestClient, an httpx client),
on SQLite and PostgreSQL; tests/hub/test_witness_server.py drives the real CLI against
a real `doorstep serve`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from doorstep import signed_note
from doorstep.app import create_app
from doorstep.cli.main import cli
from doorstep.config import Settings
from doorstep.hub.models import Role
from doorstep.signing import Ed25519PrivateKey, load_public_key, public_key_pem
from doorstep.witness import (
    CHECKPOINT_FILE,
    SEEN_NOTE,
    SERVED_AT_OLD_SIZE_NOTE,
    SERVED_NOTE,
    Alarm,
    Witness,
    WitnessState,
)
from tests.hub_fixtures import Api, bearer
from tests.log_tamper import change_entry, delete_everything, rewrite_log, truncate
from tests.requests.conftest import add_user, audit_rows, hub_of


@pytest.fixture
def hub_key(client: TestClient, tmp_path: Path) -> Path:
    """The hub's public key as a witness gets it: GET /api/v1/keys/hub.pub, saved."""
    path = tmp_path / "hub.pub"
    path.write_bytes(client.get("/api/v1/keys/hub.pub").content)
    return path


@pytest.fixture
def admin(client: TestClient) -> str:
    return add_user(client, "admin@hub.example", Role.admin)


def witness_at(
    client: TestClient, hub_key: Path, folder: Path, name: str = "w1", admin: str | None = None
) -> Witness:
    """A witness with its own state folder, registered by ``admin`` when given."""
    found = Witness(client, load_public_key(hub_key), WitnessState(folder), name)
    if admin is not None:
        vkey = WitnessState(folder).vkey()
        reply = client.post(
            "/api/v1/log/witnesses", json={"name": name, "vkey": vkey}, headers=bearer(admin)
        )
        assert reply.status_code == 201, reply.text
    return found


def grow(client: TestClient, who: str) -> None:
    """Some activity: a sign-up and a sign-in each append to the log."""
    Api(client).signup(f"{who}@example.org")


def verify(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "verify",
            "--data-dir",
            str(settings.data_dir),
            "--database-url",
            settings.resolved_database_url,
            *args,
        ],
    )
    return result.exit_code, result.output


def verify_fork(hub_key: Path, a: Path, b: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["log", "verify-fork", str(a), str(b), "--hub-key", str(hub_key)]
    )
    return result.exit_code, result.output


def test_a_witness_cosigns_a_growing_log_and_the_hub_serves_its_cosignature(
    client: TestClient, hub_key: Path, admin: str, tmp_path: Path
) -> None:
    state = tmp_path / "w1"
    witness = witness_at(client, hub_key, state, admin=admin)
    first = witness.round()
    assert first.cosigned and first.previous_size is None, first.line()

    grow(client, "ann")
    second = witness.round()
    assert second.cosigned and second.previous_size == first.size < second.size, second.line()
    assert f"consistent with size {first.size}" in second.line()
    again = witness.round()  # nothing new: same tree, the hub keeps its first cosignature
    assert again.cosigned and again.size == second.size and "unchanged" in again.line()

    note = client.get("/api/v1/log/checkpoint").text
    body, lines = signed_note.parse_note(note)
    assert signed_note.Checkpoint.parse(body).size == second.size
    (mine,) = [line for line in lines if line.name == "w1"]
    _name, public_key = signed_note.public_key_from_vkey(WitnessState(state).vkey())
    assert signed_note.verify_cosignature(body, mine, "w1", public_key) > 0
    assert (state / CHECKPOINT_FILE).read_text() == note  # what it verified last, as served

    (listed,) = client.get("/api/v1/log/witnesses").json()
    assert listed["name"] == "w1" and listed["last_cosigned_size"] == second.size
    assert listed["removed"] is None and listed["last_cosigned_at"]
    page = client.get("/transparency")
    assert page.status_code == 200 and "w1" in page.text and f"size {second.size}" in page.text
    data = client.get("/transparency", headers={"Accept": "application/json"}).json()
    assert data["log"]["size"] == second.size
    assert data["log"]["witnesses"][0]["last_cosigned_size"] == second.size


@pytest.mark.parametrize("grown", [False, True], ids=["same size", "grown since"])
def test_a_rewritten_log_makes_the_witness_alarm_with_a_proof_of_misbehaviour(
    client: TestClient, hub_key: Path, admin: str, tmp_path: Path, grown: bool
) -> None:
    grow(client, "ann")
    state = tmp_path / "w1"
    witness = witness_at(client, hub_key, state, admin=admin)
    seen = witness.round()
    saved = (state / CHECKPOINT_FILE).read_text()

    # The operator turns an early entry into something else and re-signs every size.
    rewrite_log(hub_of(client), change_entry(1, action="request.share"))
    if grown:
        grow(client, "bob")
    with pytest.raises(Alarm) as alarm:
        witness.round()
    assert alarm.value.exit_code == 3
    folder = alarm.value.folder
    assert folder.parent == state and folder.name.startswith("alarm-")
    assert (folder / SEEN_NOTE).read_text() == saved
    assert (state / CHECKPOINT_FILE).read_text() == saved  # the state keeps what it saw
    if grown:
        assert "does not extend" in alarm.value.message
        pair = folder / SERVED_AT_OLD_SIZE_NOTE
        code, output = verify_fork(hub_key, folder / SEEN_NOTE, folder / SERVED_NOTE)
        assert code == 1 and "different sizes" in output, output
    else:
        assert f"two different trees of size {seen.size}" in alarm.value.message
        pair = folder / SERVED_NOTE
    code, output = verify_fork(hub_key, folder / SEEN_NOTE, pair)
    assert code == 0 and output.startswith("PROOF OF MISBEHAVIOUR"), output
    assert f"size {seen.size}" in output
    with pytest.raises(Alarm):  # and it keeps alarming: the old tree is still the anchor
        witness.round()


def test_verify_fork_needs_the_hub_key_and_two_different_trees(
    client: TestClient, hub_key: Path, tmp_path: Path
) -> None:
    note = tmp_path / "a.note"
    note.write_text(client.get("/api/v1/log/checkpoint").text)
    code, output = verify_fork(hub_key, note, note)
    assert code == 1 and "same tree" in output
    other = tmp_path / "other.pub"
    other.write_text(public_key_pem(Ed25519PrivateKey.generate()))
    code, output = verify_fork(other, note, note)
    assert code == 1 and "NOT A PROOF: the first note" in output, output


@pytest.mark.parametrize(
    "tampering",
    ["edit and re-hash", "truncate", "delete everything"],
)
def test_each_tampering_is_caught_by_the_witness_and_by_audit_verify_with_its_state(
    client: TestClient,
    hub_key: Path,
    admin: str,
    hub_settings: Settings,
    tmp_path: Path,
    tampering: str,
) -> None:
    grow(client, "ann")
    grow(client, "bob")
    state = tmp_path / "w1"
    witness = witness_at(client, hub_key, state, admin=admin)
    seen = witness.round()
    assert verify(hub_settings, "--key", str(hub_key), "--witness-state", str(state))[0] == 0

    edit = {
        "edit and re-hash": change_entry(2, actor="system"),
        "truncate": truncate(seen.size - 3),
        "delete everything": delete_everything,
    }[tampering]
    rewrite_log(hub_of(client), edit)
    if tampering != "delete everything":  # anchors in the database agree with the rewrite
        assert verify(hub_settings, "--key", str(hub_key))[0] == 0

    code, output = verify(hub_settings, "--key", str(hub_key), "--witness-state", str(state))
    assert code == 1, output
    if tampering == "edit and re-hash":
        assert "different root" in output
    elif tampering == "truncate":
        assert f"truncated from index {seen.size - 3}" in output
    with pytest.raises(Alarm) as alarm:
        witness.round()
    if tampering == "edit and re-hash":
        assert "two different trees" in alarm.value.message
    else:
        assert "truncated or rolled back" in alarm.value.message


def test_only_registered_witnesses_cosign_and_registration_is_audited(
    client: TestClient, hub_key: Path, admin: str, tmp_path: Path
) -> None:
    stranger = witness_at(client, hub_key, tmp_path / "stranger", name="stranger")
    refused = stranger.round()
    assert not refused.cosigned and "HTTP 404" in (refused.refusal or "")

    owner = Api(client).signup("owner@example.org")
    vkey = WitnessState(tmp_path / "w1").vkey("w1")
    body = {"name": "w1", "vkey": vkey}
    assert client.post("/api/v1/log/witnesses", json=body).status_code == 401
    assert client.post("/api/v1/log/witnesses", json=body, headers=bearer(owner)).status_code == 403
    mismatch = client.post(
        "/api/v1/log/witnesses", json={"name": "w2", "vkey": vkey}, headers=bearer(admin)
    )
    assert mismatch.status_code == 422
    bad_key = {"name": "w1", "vkey": "w1+00000000+AQ=="}
    assert (
        client.post("/api/v1/log/witnesses", json=bad_key, headers=bearer(admin)).status_code == 422
    )
    witness = witness_at(client, hub_key, tmp_path / "w1", admin=admin)
    again = client.post("/api/v1/log/witnesses", json=body, headers=bearer(admin))
    assert again.status_code == 409
    assert witness.round().cosigned

    # Lines that do not verify against the checkpoint the hub signed at that size.
    size = witness.round().size
    grow(client, "ann")
    checkpoint = signed_note.Checkpoint.parse(
        signed_note.parse_note(client.get(f"/api/v1/log/checkpoints/{size}").text)[0]
    )
    line = signed_note.cosign(checkpoint.body(), "w1", witness.key, 1_700_000_000).text()
    wrong_size = client.post("/api/v1/log/cosignatures", json={"size": size + 1, "line": line})
    assert wrong_size.status_code == 422, wrong_size.text
    forged = signed_note.cosign(checkpoint.body(), "w1", stranger.key, 1_700_000_000).text()
    assert (
        client.post("/api/v1/log/cosignatures", json={"size": size, "line": forged}).status_code
        == 422
    )
    for garbage in ["not a line", line + line]:
        reply = client.post("/api/v1/log/cosignatures", json={"size": size, "line": garbage})
        assert reply.status_code == 422, garbage
    missing = client.post("/api/v1/log/cosignatures", json={"size": 10**9, "line": line})
    assert missing.status_code == 404
    first = client.post("/api/v1/log/cosignatures", json={"size": size, "line": line})
    assert first.status_code in (200, 201) and first.json()["witness"] == "w1"

    removed = client.delete("/api/v1/log/witnesses/w1", headers=bearer(admin))
    assert removed.status_code == 200 and removed.json()["removed"]
    assert client.delete("/api/v1/log/witnesses/w1", headers=bearer(admin)).status_code == 404
    after = witness.round()
    assert not after.cosigned and "HTTP 404" in (after.refusal or "")
    assert (
        client.post("/api/v1/log/cosignatures", json={"size": size, "line": line}).status_code
        == 404
    )

    auditor = add_user(client, "audit@gov.example", Role.auditor)
    rows = [r for r in audit_rows(client, auditor) if r["action"].startswith("witness.")]
    assert [(r["action"], r["subject"]) for r in rows] == [
        ("witness.add", "witness:w1"),
        ("witness.remove", "witness:w1"),
    ]
    assert all(r["actor"].startswith("admin:") and r["details"]["vkey"] == vkey for r in rows)


def test_witness_add_and_remove_from_the_command_line_are_audited(
    hub_settings: Settings, tmp_path: Path
) -> None:
    where = [
        "--data-dir",
        str(hub_settings.data_dir),
        "--database-url",
        hub_settings.resolved_database_url,
    ]
    runner = CliRunner()
    key = runner.invoke(cli, ["witness", "key", "--state", str(tmp_path / "w"), "--name", "cli-w"])
    assert key.exit_code == 0, key.output
    vkey = key.output.strip()
    assert vkey.startswith("cli-w+")
    added = runner.invoke(cli, ["witness", "add", "cli-w", vkey, *where])
    assert added.exit_code == 0 and "added witness cli-w" in added.output, added.output
    twice = runner.invoke(cli, ["witness", "add", "cli-w", vkey, *where])
    assert twice.exit_code == 1 and "exists" in twice.output
    removed = runner.invoke(cli, ["witness", "remove", "cli-w", *where])
    assert removed.exit_code == 0 and "removed witness cli-w" in removed.output
    assert runner.invoke(cli, ["witness", "remove", "cli-w", *where]).exit_code == 1

    with TestClient(create_app(hub_settings)) as c:
        auditor = add_user(c, "audit@gov.example", Role.auditor)
        rows = [r for r in audit_rows(c, auditor) if r["action"].startswith("witness.")]
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("witness.add", "system"),
        ("witness.remove", "system"),
    ]
