"""Issue 11, witnesses end to end: the real `doorstep witness` CLI against a real
`doorstep serve`, as a journalist would run one. It cosigns a growing log; after the
operator rewrites the log and restarts the hub it alarms (exit 3), and the pair it
saved is a proof of misbehaviour that `doorstep log verify-fork` checks with the hub's
public key alone.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from doorstep import signed_note
from doorstep.config import Settings
from doorstep.hub.context import build_hub
from doorstep.witness import SEEN_NOTE, SERVED_NOTE
from tests.hub.conftest import Api
from tests.log_tamper import change_entry, rewrite_log
from tests.server_process import ServerProcess


def doorstep(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doorstep", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", database_url)
    proc.start()
    yield proc
    proc.stop()


def test_a_real_witness_cosigns_then_alarms_on_a_rewrite(
    server: ServerProcess, tmp_path: Path
) -> None:
    state, hub_key = tmp_path / "witness", tmp_path / "hub.pub"
    with httpx.Client(base_url=server.url, timeout=30) as client:
        hub_key.write_bytes(client.get("/api/v1/keys/hub.pub").content)
        Api(client).signup("ann@example.org")

    watch = [server.url, "--hub-key", str(hub_key), "--state", str(state)]
    first = doorstep("witness", "check", *watch, "--name", "paper")
    assert first.returncode == 1, first.stdout + first.stderr  # not registered yet
    assert "doorstep witness add paper paper+" in first.stdout  # how to register it
    assert "cosignature refused: HTTP 404" in first.stdout

    vkey = doorstep("witness", "key", "--state", str(state)).stdout.strip()
    added = doorstep("witness", "add", "paper", vkey, env=server.env)
    assert added.returncode == 0, added.stderr

    with httpx.Client(base_url=server.url, timeout=30) as client:
        Api(client).signup("bob@example.org")
    ran = doorstep("witness", "run", *watch, "--interval", "0.1", "--rounds", "2")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert len(lines) == 2 and "consistent with size" in lines[0] and "unchanged" in lines[1]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        note = client.get("/api/v1/log/checkpoint").text
    body, sigs = signed_note.parse_note(note)
    (line,) = [s for s in sigs if s.name == "paper"]
    _name, public_key = signed_note.public_key_from_vkey(vkey)
    signed_note.verify_cosignature(body, line, "paper", public_key)

    # The operator stops the hub, rewrites the log with the hub's key, starts it again.
    server.stop()
    data_dir = Path(server.env["DOORSTEP_DATA_DIR"])
    settings = Settings(data_dir=data_dir, database_url=server.env["DOORSTEP_DATABASE_URL"])
    hub = build_hub(settings)
    rewrite_log(hub, change_entry(0, actor="system"))
    hub.engine.dispose()
    server.start()

    alarm = doorstep("witness", "check", *watch)
    assert alarm.returncode == 3, alarm.stdout + alarm.stderr
    assert alarm.stdout.startswith("ALARM: the hub signed two different trees of size")
    (folder,) = state.glob("alarm-*")
    proof = doorstep(
        "log",
        "verify-fork",
        str(folder / SEEN_NOTE),
        str(folder / SERVED_NOTE),
        "--hub-key",
        str(hub_key),
    )
    assert proof.returncode == 0 and proof.stdout.startswith("PROOF OF MISBEHAVIOUR"), proof.stdout
    verified = doorstep(
        "audit", "verify", "--key", str(hub_key), "--witness-state", str(state), env=server.env
    )
    assert verified.returncode == 1 and "different root" in verified.stdout, verified.stdout

    server.stop()  # an unreachable hub: one line, exit 1, state untouched
    before = (state / "checkpoint").read_text()
    down = doorstep("witness", "check", *watch)
    assert down.returncode == 1 and down.stderr.startswith("Error: cannot reach the hub")
    assert len(down.stderr.strip().splitlines()) == 1
    assert (state / "checkpoint").read_text() == before
