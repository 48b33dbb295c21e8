"""`doorstep witness`: watch a hub's log from outside (run, check, key) and, on the hub,
register or remove witnesses (add, remove).

`run` and `check` need nothing but the hub's URL and public key; `add` and `remove`
open the hub's database like `doorstep user add` and are audited with actor "system".
Exit codes of `check`: 0 verified and cosigned; 1 the hub could not be reached or
refused the cosignature (the state is untouched when nothing was verified); 3 ALARM,
the hub served a log that does not extend the one this witness saw.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from doorstep.cli.hub import data_dir_option, database_url_option, settings_from

if TYPE_CHECKING:
    from doorstep.witness import Witness

state_option = click.option(
    "--state",
    "state_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The witness's folder: its key, the log's origin and the last verified checkpoint.",
)
name_option = click.option(
    "--name",
    help="The witness's name in its cosignatures [default: witness-<key fingerprint>]; "
    "fixed by the first run.",
)
hub_key_option = click.option(
    "--hub-key",
    "hub_key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hub's public key (PEM), as GET /api/v1/keys/hub.pub serves it.",
)


@click.group()
def witness() -> None:
    """Witness the audit log from outside the hub, or manage the hub's witnesses."""


def _witness(hub_url: str, hub_key_path: Path, state_dir: Path, name: str | None) -> Witness:
    import httpx

    from doorstep.signing import load_public_key
    from doorstep.witness import Witness, WitnessState

    client = httpx.Client(base_url=hub_url.rstrip("/"), timeout=30)
    found = Witness(client, load_public_key(hub_key_path), WitnessState(state_dir), name)
    if found.created:
        vkey = WitnessState(state_dir).vkey()
        click.echo(f"new witness key; register it with: doorstep witness add {found.name} {vkey}")
    return found


def _one_round(found: Witness) -> int:
    """One round; the exit code it deserves. Prints one line."""
    from doorstep.witness import Alarm, WitnessError

    try:
        result = found.round()
    except Alarm as exc:
        click.echo(f"ALARM: {exc.message}")
        return 3
    except WitnessError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        return 1
    click.echo(result.line())
    return 0 if result.cosigned else 1


@witness.command("check")
@click.argument("hub_url")
@hub_key_option
@state_option
@name_option
def witness_check(hub_url: str, hub_key_path: Path, state_dir: Path, name: str | None) -> None:
    """One round: fetch the hub's checkpoint, verify it extends the last one, cosign it.

    Exit 0: verified and cosigned; 1: hub unreachable or cosignature refused; 3: ALARM.
    """
    found = _witness(hub_url, hub_key_path, state_dir, name)
    sys.exit(_one_round(found))


@witness.command("run")
@click.argument("hub_url")
@hub_key_option
@state_option
@name_option
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds between rounds.",
)
@click.option("--rounds", type=click.IntRange(min=0), default=0, hidden=True)
def witness_run(
    hub_url: str,
    hub_key_path: Path,
    state_dir: Path,
    name: str | None,
    interval: float,
    rounds: int,
) -> None:
    """Check the hub every --interval seconds until an ALARM (exit 3) or Ctrl-C.

    An unreachable hub or a refused cosignature is reported and retried next round.
    """
    found = _witness(hub_url, hub_key_path, state_dir, name)
    done = 0
    while True:
        code = _one_round(found)
        if code == 3:
            sys.exit(3)
        done += 1
        if rounds and done >= rounds:
            return
        time.sleep(interval)


@witness.command("key")
@state_option
@name_option
def witness_key(state_dir: Path, name: str | None) -> None:
    """Print the witness's verifier key (created if need be), for `doorstep witness add`."""
    from doorstep.witness import WitnessState

    click.echo(WitnessState(state_dir).vkey(name))


@witness.command("add")
@click.argument("name")
@click.argument("vkey")
@data_dir_option
@database_url_option
def witness_add(name: str, vkey: str, data_dir: Path | None, database_url: str | None) -> None:
    """Accept cosignatures from witness NAME, whose verifier key is VKEY (audited)."""
    from doorstep.hub.context import build_hub
    from doorstep.hub.db import session_scope, utcnow
    from doorstep.hub.services.witnesses import WitnessCreate, add_witness

    data = WitnessCreate(name=name, vkey=vkey)
    hub = build_hub(settings_from(data_dir, database_url))
    with session_scope(hub.sessions) as session:
        added = add_witness(hub, session, None, data, utcnow())
        click.echo(f"added witness {added.name} ({added.vkey})")


@witness.command("remove")
@click.argument("name")
@data_dir_option
@database_url_option
def witness_remove(name: str, data_dir: Path | None, database_url: str | None) -> None:
    """Stop accepting cosignatures from witness NAME (audited); its old ones stay."""
    from doorstep.hub.context import build_hub
    from doorstep.hub.db import session_scope, utcnow
    from doorstep.hub.services.witnesses import remove_witness

    hub = build_hub(settings_from(data_dir, database_url))
    with session_scope(hub.sessions) as session:
        removed = remove_witness(hub, session, None, name, utcnow())
        click.echo(f"removed witness {removed.name}")
