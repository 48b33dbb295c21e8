"""`doorstep log`: check what the hub's transparency log published, offline.

Every command here needs nothing but files and the hub's public key, so anyone (an
owner, a journalist, a court) can run it without the hub or its database.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from doorstep.receipt import ReceiptVerdict
    from doorstep.signing import Ed25519PublicKey


@click.group()
def log() -> None:
    """Check the hub's transparency log offline: forks, receipts."""


@log.command("verify-fork")
@click.argument("note_a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("note_b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--hub-key",
    "hub_key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hub's public key (PEM), as GET /api/v1/keys/hub.pub serves it.",
)
def verify_fork(note_a: Path, note_b: Path, hub_key_path: Path) -> None:
    """Do two signed checkpoints prove that the hub rewrote its log?

    They do when the hub's key signed both, for the same log and the same size, with
    different roots (a witness's alarm folder holds such a pair). Exit 0: PROOF OF
    MISBEHAVIOUR; 1: not a proof, and why.
    """
    from doorstep.signed_note import NoteError
    from doorstep.signing import load_public_key
    from doorstep.witness import fork_proof

    try:
        reason = fork_proof(note_a.read_bytes(), note_b.read_bytes(), load_public_key(hub_key_path))
    except NoteError as exc:
        click.echo(f"NOT A PROOF: {exc.message}")
        sys.exit(1)
    click.echo(f"PROOF OF MISBEHAVIOUR: {reason}")


@log.command("verify-receipt")
@click.argument("receipt_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--hub-key",
    "hub_key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hub's public key (PEM), as GET /api/v1/keys/hub.pub serves it.",
)
@click.option(
    "--hub",
    "hub_url",
    help="Also ask this hub (e.g. https://hub.example) for its latest checkpoint and a "
    "consistency proof to it: is the entry still in the log?",
)
def verify_receipt(receipt_file: Path, hub_key_path: Path, hub_url: str | None) -> None:
    """Is a receipt's entry in the hub's log? Offline, with nothing but the hub's key.

    Checks that the hub's key signed the checkpoint, that the entry is unaltered and
    that the inclusion proof leads from its leaf to the checkpoint's root. With --hub,
    also that the hub's latest checkpoint, signed by the same key, extends the
    receipt's (RFC 9162 consistency proof). Exit 0: OK; 1: it fails, and which part
    (or the hub cannot be asked).
    """
    from doorstep.receipt import verify_receipt as check
    from doorstep.signing import load_public_key

    public_key = load_public_key(hub_key_path)
    verdict = check(receipt_file.read_bytes(), public_key)
    if verdict.ok and hub_url:
        verdict = _still_included(verdict, hub_url.rstrip("/"), public_key)
    click.echo(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    sys.exit(0 if verdict.ok else 1)


def _still_included(
    verdict: ReceiptVerdict, hub_url: str, public_key: Ed25519PublicKey
) -> ReceiptVerdict:
    """The verdict extended to the hub's latest checkpoint, fetched with a consistency proof."""
    import httpx

    from doorstep.receipt import ReceiptError, ReceiptVerdict, b64decode, verify_still_included
    from doorstep.signed_note import Checkpoint, NoteError, parse_note

    old = verdict.checkpoint.size if verdict.checkpoint else 0
    try:
        reply = httpx.get(f"{hub_url}/api/v1/log/checkpoint", timeout=30)
        reply.raise_for_status()
        latest = reply.text
        size = Checkpoint.parse(parse_note(latest)[0]).size  # signature checked below
        proof: list[bytes] = []
        if size >= old:  # a smaller tree needs no proof to fail
            reply = httpx.get(
                f"{hub_url}/api/v1/log/proof/consistency",
                params={"old": old, "new": size},
                timeout=30,
            )
            reply.raise_for_status()
            proof = [b64decode(p, "consistency proof") for p in reply.json()["proof"]]
    except httpx.HTTPError as exc:
        message = f"cannot ask the hub at {hub_url}: {exc}"
        return ReceiptVerdict(False, message, "consistency", verdict.entry, verdict.checkpoint)
    except (NoteError, ReceiptError, KeyError, TypeError, ValueError) as exc:
        message = f"the hub at {hub_url} answered what is not a checkpoint or proof: {exc}"
        return ReceiptVerdict(False, message, "consistency", verdict.entry, verdict.checkpoint)
    return verify_still_included(verdict, latest, proof, public_key)
