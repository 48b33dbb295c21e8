"""`doorstep log`: check what the hub's transparency log published, offline.

Every command here needs nothing but files and the hub's public key, so anyone (an
owner, a journalist, a court) can run it without the hub or its database.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


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
