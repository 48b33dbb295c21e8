"""Hub commands: `serve`, `worker`, `db upgrade`, `user add`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from doorstep.config import Settings
from doorstep.hub.models import Role

DATABASE_META_KEY = "doorstep.database_url"


def settings_from(data_dir: Path | None, database_url: str | None, **extra: object) -> Settings:
    """Settings from the environment, overridden by the flags that were given.

    Remembers the database URL on the click context, so an error opening it can name it.
    """
    overrides = {
        k: v
        for k, v in {"data_dir": data_dir, "database_url": database_url, **extra}.items()
        if v is not None
    }
    settings = Settings(**overrides)  # type: ignore[arg-type]
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[DATABASE_META_KEY] = settings.resolved_database_url
    return settings


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the database, keys and clips "
    "[env DOORSTEP_DATA_DIR; default ./doorstep-data].",
)
database_url_option = click.option(
    "--database-url",
    help="SQLAlchemy URL, e.g. postgresql+psycopg://localhost/doorstep "
    "[env DOORSTEP_DATABASE_URL; default SQLite in the data dir].",
)


@click.command()
@click.option("--host", help="Address to bind [env DOORSTEP_HOST; default 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [env DOORSTEP_PORT; default 8000].")
@data_dir_option
@database_url_option
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    database_url: str | None,
    log_level: str,
) -> None:
    """Run the hub: API under /api/v1, docs at /docs. Migrates the database first."""
    import uvicorn

    from doorstep.app import create_app

    settings = settings_from(data_dir, database_url, host=host, port=port)
    app = create_app(settings)
    click.echo(f"Doorstep hub on http://{settings.host}:{settings.port}  (API docs: /docs)")
    # Uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: only the
    # configured proxies may set the client address the login rate limit counts.
    proxies = settings.trusted_proxy_list
    # Live pages hold server-sent-event streams open: don't let them block a shutdown.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=3,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )


@click.command()
@data_dir_option
@database_url_option
@click.option("--once", is_flag=True, help="Run the jobs due now, then exit.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def worker(data_dir: Path | None, database_url: str | None, once: bool, log_level: str) -> None:
    """Deliver push and email from the job queue, beside `serve` (docs/reach.md).

    `serve` runs one worker itself; run more with DOORSTEP_EMBEDDED_WORKER=false on the
    hub processes when the hub is scaled out on PostgreSQL. Stop with Ctrl-C or SIGTERM.
    """
    import asyncio
    import contextlib
    import logging
    import signal

    from doorstep.hub.context import build_hub
    from doorstep.hub.workers import build_worker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    hub = build_hub(settings_from(data_dir, database_url))
    job_worker = build_worker(hub)
    if once:
        click.echo(f"ran {job_worker.drain()} jobs")
        return

    async def main() -> None:
        task = asyncio.create_task(job_worker.serve())
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    click.echo(
        f"Doorstep worker {job_worker.name} on {hub.settings.resolved_database_url.split('@')[-1]}"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@data_dir_option
@database_url_option
def db_upgrade(data_dir: Path | None, database_url: str | None) -> None:
    """Apply every pending migration (the hub also does this on start)."""
    from doorstep.hub.db import make_engine
    from doorstep.hub.migrate import current_revision, upgrade

    settings = settings_from(data_dir, database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    click.echo(f"database at revision {current_revision(engine)}")


@click.group()
def user() -> None:
    """Manage accounts."""


@user.command("add")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.owner.value,
    show_default=True,
)
@click.option("--agency", help="Agency name (required for officer and supervisor; created if new).")
@click.option("--name", help="Display name [default: the part of the email before @].")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--totp-secret",
    metavar="BASE32",
    help="Enrol the account in multi-factor authentication with this TOTP secret "
    "(scripted setups); without it, a police, auditor or admin account enrols at first "
    "sign-in.",
)
@click.option(
    "--new-totp-secret",
    is_flag=True,
    help="Enrol with a newly generated TOTP secret and print it.",
)
@data_dir_option
@database_url_option
def user_add(
    email: str,
    role: str,
    agency: str | None,
    name: str | None,
    password_stdin: bool,
    totp_secret: str | None,
    new_totp_secret: bool,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    """Create an account of any role.

    Example: doorstep user add ann@pd.example --role officer --agency "City PD"
    """
    from doorstep.hub import totp
    from doorstep.hub.context import build_hub
    from doorstep.hub.db import session_scope, utcnow
    from doorstep.hub.schemas import UserCreate
    from doorstep.hub.services import mfa
    from doorstep.hub.services.accounts import create_user

    if totp_secret and new_totp_secret:
        raise click.UsageError("give --totp-secret or --new-totp-secret, not both")
    if totp_secret is not None and not totp.is_valid_secret(totp_secret):
        raise click.BadParameter(
            "a TOTP secret is base32 (A-Z, 2-7) of at least 26 characters",
            param_hint="--totp-secret",
        )
    secret = totp.new_secret() if new_totp_secret else totp_secret

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    data = UserCreate.model_validate(
        {
            "email": email,
            "password": password,
            "name": name or email.split("@")[0],
            "role": role,
            "agency": agency,
        }
    )
    hub = build_hub(settings_from(data_dir, database_url))
    with session_scope(hub.sessions) as session:
        created = create_user(
            session,
            email=data.email,
            password=data.password,
            name=data.name,
            role=data.role,
            agency_name=data.agency,
        )
        click.echo(f"created {created.role} {created.email} ({created.id})")
        if secret:
            mfa.set_secret(session, created, secret, utcnow())
            if new_totp_secret:
                click.echo(f"TOTP secret: {totp.normalise_secret(secret)}")
            click.echo(
                "enrolled in multi-factor authentication (doorstep user totp-code "
                "--secret <secret> prints the code now)"
            )
        elif mfa.required_for(hub.settings, created):
            click.echo("multi-factor authentication: enrols at first sign-in")


@user.command("totp-code")
@click.option("--secret", required=True, metavar="BASE32", help="The account's TOTP secret.")
def user_totp_code(secret: str) -> None:
    """Print the TOTP code of a secret now, as an authenticator app shows it.

    For scripts, tests and the demo; a person would use an app on their phone.
    """
    from doorstep.hub import totp

    if not totp.is_valid_secret(secret):
        raise click.BadParameter(
            "a TOTP secret is base32 (A-Z, 2-7) of at least 26 characters", param_hint="--secret"
        )
    click.echo(totp.current_code(secret))
