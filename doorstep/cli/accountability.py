"""Accountability commands: `audit verify`, `audit checkpoint`, `evidence verify`, `report`.

`audit verify` reads the database directly (not the API) so an operator or an
auditor with a copy of the database can check it without a running hub. It and
`report` open the database read-only: they never create, migrate or write it, and
a missing or empty database is an error, not "OK: 0 rows".
`evidence verify` needs nothing but the bundle and the hub's public key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from doorstep.cli.hub import data_dir_option, database_url_option, settings_from

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from doorstep.config import Settings


def _open_database(
    data_dir: Path | None, database_url: str | None
) -> tuple[Settings, sessionmaker[Session]]:
    """The hub's database for a command that writes to it, created and migrated if need be."""
    from doorstep.hub.db import make_engine, make_session_factory
    from doorstep.hub.migrate import upgrade

    settings = settings_from(data_dir, database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    return settings, make_session_factory(engine)


def _read_database(
    data_dir: Path | None, database_url: str | None
) -> tuple[Settings, sessionmaker[Session]]:
    """An existing hub database, opened read-only; never created or migrated."""
    from doorstep.hub.db import make_session_factory, open_existing_readonly

    settings = settings_from(data_dir, database_url)
    engine = open_existing_readonly(settings.resolved_database_url, required_table="audit_log")
    return settings, make_session_factory(engine)


@click.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@data_dir_option
@database_url_option
@click.option(
    "--key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hub's public key (PEM) that signs checkpoints [default: the key in the data dir].",
)
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A signed checkpoint kept outside the database (a receipt's, a witness's, "
    "GET /api/v1/log/checkpoint saved earlier). Repeatable.",
)
@click.option(
    "--witness-state",
    "witness_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A witness's state folder: its last verified checkpoint is an anchor. Repeatable.",
)
def audit_verify(
    data_dir: Path | None,
    database_url: str | None,
    key_path: Path | None,
    checkpoint_files: tuple[Path, ...],
    witness_dirs: tuple[Path, ...],
) -> None:
    """Rebuild the log's Merkle tree from its entries and compare it with every anchor.

    Anchors: the leaf hashes and head stored beside the entries, the signed checkpoints
    in the database and those given from outside it. Reads the database without
    writing to it. Exit 0: the log verifies; 1: it does not (the first bad index is
    named), or the database is missing or empty; 2: bad usage or an outside checkpoint
    that is not signed by the hub's key.
    """
    from doorstep.errors import NotFound
    from doorstep.hub.db import describe_url, session_scope
    from doorstep.hub.services.audit import entries
    from doorstep.hub.services.log_verify import Anchor, read_anchor, verify_log
    from doorstep.signed_note import NoteError
    from doorstep.signing import Ed25519PublicKey, load_or_create_private_key, load_public_key

    settings, sessions = _read_database(data_dir, database_url)
    with session_scope(sessions) as session:
        empty = not entries(session, after_seq=0, limit=1)
    if empty and not (checkpoint_files or witness_dirs):
        where = describe_url(settings.resolved_database_url)
        raise NotFound(f"the audit log at {where} is empty: there is nothing to verify")
    public_key: Ed25519PublicKey | None = None
    if key_path is not None:
        public_key = load_public_key(key_path)
    elif settings.signing_key_path.exists():
        public_key = load_or_create_private_key(settings.signing_key_path).public_key()
    sources = [*checkpoint_files, *(d / WITNESS_CHECKPOINT for d in witness_dirs)]
    if sources and public_key is None:
        raise click.UsageError("checkpoints from outside need the hub's public key: --key")
    if public_key is None:
        click.echo("warning: no hub key found; signatures are not checked", err=True)
    anchors: list[Anchor] = []
    for source in sources:
        try:
            anchors.append(read_anchor(source.read_bytes(), public_key, str(source)))  # type: ignore[arg-type]
        except (OSError, NoteError) as exc:
            raise click.UsageError(f"{source}: {exc}") from None
    with session_scope(sessions) as session:
        verdict = verify_log(session, public_key, anchors)
    if not verdict.ok:
        where = "" if verdict.first_bad_index is None else f" at index {verdict.first_bad_index}"
        click.echo(f"FAILED{where}: {verdict.reason}")
        for problem in verdict.problems[1:]:
            click.echo(f"  also: {problem}")
        sys.exit(1)
    click.echo(
        f"OK: {verdict.size} entries, root {verdict.root.hex()}, "
        f"{verdict.outside_anchors} checkpoint(s) from outside agree"
    )


WITNESS_CHECKPOINT = "checkpoint"  # the file in a witness's state folder (docs/audit-log.md)


@audit.command("checkpoint")
@data_dir_option
@database_url_option
def audit_checkpoint(data_dir: Path | None, database_url: str | None) -> None:
    """Sign the log's head if it has no checkpoint yet (every append signs one itself)."""
    from doorstep.hub.context import LogKey
    from doorstep.hub.db import session_scope
    from doorstep.hub.services import tlog
    from doorstep.signing import load_or_create_private_key

    settings, sessions = _open_database(data_dir, database_url)
    key = LogKey.for_key(load_or_create_private_key(settings.signing_key_path), settings.log_origin)
    with session_scope(sessions) as session:
        checkpoint = tlog.ensure_checkpoint(session, key)
        if checkpoint is None:
            checkpoint = tlog.latest(session)
            click.echo(f"the head is signed already: size {checkpoint.size}")
        else:
            click.echo(f"signed a checkpoint of size {checkpoint.size}")
        click.echo(checkpoint.note, nl=False)


@click.group()
def evidence() -> None:
    """Signed evidence bundles."""


@evidence.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hub's public key (PEM), e.g. from GET /api/v1/keys/hub.pub.",
)
def evidence_verify(bundle: Path, key_path: Path) -> None:
    """Check a bundle offline: signature, manifest, every clip's SHA-256. Exit 1 on any problem."""
    from doorstep.evidence import verify_bundle
    from doorstep.signing import load_public_key

    report = verify_bundle(bundle, load_public_key(key_path))
    if not report.ok:
        for problem in report.problems:
            click.echo(f"FAIL: {problem}")
        sys.exit(1)
    clips = len((report.manifest or {}).get("clips", []))
    click.echo(f"OK: signature valid, {clips} clips match the manifest")


@click.command()
@data_dir_option
@database_url_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
def report(data_dir: Path | None, database_url: str | None, fmt: str) -> None:
    """The public transparency report, the same numbers as GET /api/v1/transparency.

    Consent (owners asked, owners who shared, clips shared) and emergency access
    (requests, cameras, clips taken without consent) are counted apart.
    """
    from doorstep.hub.db import session_scope
    from doorstep.hub.services import transparency

    _settings, sessions = _read_database(data_dir, database_url)
    with session_scope(sessions) as session:
        data = transparency.report(session)
    if fmt == "csv":
        click.echo(transparency.summary_csv(data["summary"]), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(data))
    else:
        _print_table(data["summary"], data["requests"])


def _print_table(summary: list[dict[str, Any]], requests: list[dict[str, Any]]) -> None:
    from doorstep.hub.services.transparency import SUMMARY_COLUMNS, cell_text

    headers = [label for _field, label, _group in SUMMARY_COLUMNS]
    table = [[cell_text(row[name]) for name, _label, _group in SUMMARY_COLUMNS] for row in summary]
    widths = [max([len(h), *(len(t[i]) for t in table)]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for t in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)).rstrip())
    if not table:
        click.echo("(no requests yet)")
    click.echo("")
    for r in requests:
        flag = " EMERGENCY" if r["emergency"] else ""
        gifts = f", {len(r['disclosures'])} disclosures" if r["disclosures"] else ""
        click.echo(
            f"{r['created_at'][:10]}  {r['agency']}  "
            f"case {r['case_number']} ({r['case_number_canonical']})  "
            f"{r['incident_type']}  {r['officer']}  cell {r['coarse_area']['h3_cell']}  "
            f"{r['status']}{flag}{gifts}"
        )
