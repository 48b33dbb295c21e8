"""Accountability commands: `audit verify`, `audit checkpoint`, `evidence verify`, `report`.

`audit verify` reads the database directly (not the API) so an operator or an
auditor with a copy of the database can check it without a running hub.
`evidence verify` needs nothing but the bundle and the hub's public key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from doorstep.cli.hub import data_dir_option, database_url_option, settings_from


def _open_database(data_dir: Path | None, database_url: str | None):  # type: ignore[no-untyped-def]
    from doorstep.hub.db import make_engine, make_session_factory
    from doorstep.hub.migrate import upgrade

    settings = settings_from(data_dir, database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
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
    help="The hub's public key (PEM) to check signed checkpoints "
    "[default: the key in the data dir].",
)
def audit_verify(data_dir: Path | None, database_url: str | None, key_path: Path | None) -> None:
    """Recompute the chain; exit 1 naming the first bad row if any was edited, removed or moved."""
    from doorstep.hub.db import session_scope
    from doorstep.hub.services.audit import verify_database
    from doorstep.signing import Ed25519PublicKey, load_or_create_private_key, load_public_key

    settings, sessions = _open_database(data_dir, database_url)
    public_key: Ed25519PublicKey | None = None
    if key_path is not None:
        public_key = load_public_key(key_path)
    elif settings.signing_key_path.exists():
        public_key = load_or_create_private_key(settings.signing_key_path).public_key()
    else:
        click.echo("warning: no hub key found; signed checkpoints are not checked", err=True)
    with session_scope(sessions) as session:
        result = verify_database(session, public_key)
    if not result.ok:
        click.echo(f"audit chain broken at row {result.first_bad_seq}: {result.reason}")
        sys.exit(1)
    click.echo(f"OK: {result.count} rows, head {result.head_hash}")


@audit.command("checkpoint")
@data_dir_option
@database_url_option
def audit_checkpoint(data_dir: Path | None, database_url: str | None) -> None:
    """Sign the current head of the chain with the hub's key."""
    from doorstep.hub.db import session_scope
    from doorstep.hub.services.audit import write_checkpoint
    from doorstep.signing import load_or_create_private_key

    settings, sessions = _open_database(data_dir, database_url)
    key = load_or_create_private_key(settings.signing_key_path)
    with session_scope(sessions) as session:
        checkpoint = write_checkpoint(session, key)
        if checkpoint is None:
            click.echo("nothing to sign: the log is empty or its head is signed already")
        else:
            click.echo(f"signed checkpoint at row {checkpoint.seq}: {checkpoint.head_hash}")


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
    """The public transparency report, the same numbers as GET /api/v1/transparency."""
    from doorstep.hub.db import session_scope
    from doorstep.hub.services import transparency

    _settings, sessions = _open_database(data_dir, database_url)
    with session_scope(sessions) as session:
        rows = transparency.summary(session)
        requests = transparency.request_list(session)
    if fmt == "csv":
        click.echo(transparency.summary_csv(rows), nl=False)
        return
    if fmt == "json":
        from dataclasses import asdict

        click.echo(json.dumps({"summary": [asdict(r) for r in rows], "requests": requests}))
        return
    _print_table(rows, requests)


def _print_table(rows: list, requests: list[dict]) -> None:  # type: ignore[type-arg]
    from doorstep.hub.services.transparency import SUMMARY_FIELDS

    headers = [f.replace("_", " ") for f in SUMMARY_FIELDS]
    table = [[str(getattr(r, f)) for f in SUMMARY_FIELDS] for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for t in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)))
    if not table:
        click.echo("(no requests yet)")
    click.echo("")
    for r in requests:
        flag = " EMERGENCY" if r["emergency"] else ""
        gifts = f", {len(r['disclosures'])} disclosures" if r["disclosures"] else ""
        click.echo(
            f"{r['created_at'][:10]}  {r['agency']}  case {r['case_number']}  "
            f"{r['incident_type']}  {r['officer']}  cell {r['coarse_area']['h3_cell']}  "
            f"{r['status']}{flag}{gifts}"
        )
