"""The `doorstep` command: every capability of the hub and agent from a terminal."""

from __future__ import annotations

import errno
import sys

import click
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError

from doorstep import __version__
from doorstep.cli.accountability import audit, evidence, report
from doorstep.cli.agent import agent
from doorstep.cli.demo import demo
from doorstep.cli.hub import DATABASE_META_KEY, db, serve, user, worker
from doorstep.cli.log import log
from doorstep.cli.witness import witness
from doorstep.errors import DoorstepError


class DoorstepGroup(click.Group):
    """Turns domain errors into one readable line and their exit code, never a traceback.

    So are the errors of the world outside: a database that cannot be reached or a URL
    that names none (exit 1, naming the database without its password), and a folder
    that cannot be created or read (exit 1).
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DoorstepError as exc:
            field = f" ({exc.field})" if exc.field else ""
            click.echo(f"Error{field}: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"]) or "input"
                click.echo(f"Error ({where}): {error['msg']}", err=True)
            sys.exit(2)
        except ArgumentError as exc:  # includes "no such driver"
            click.echo(f"Error (database_url): {_first_line(exc)}", err=True)
            sys.exit(1)
        except DBAPIError as exc:
            reason = _first_line(exc.orig if exc.orig is not None else exc)
            click.echo(f"Error: cannot use the database {_database(ctx)}: {reason}", err=True)
            sys.exit(1)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # click reports a closed pipe itself
                raise
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"Error: {exc.strerror or _first_line(exc)}{where}", err=True)
            sys.exit(1)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _database(ctx: click.Context) -> str:
    from doorstep.hub.db import describe_url

    url = ctx.meta.get(DATABASE_META_KEY)
    if not url:
        return "(--database-url / DOORSTEP_DATABASE_URL)"
    try:
        return describe_url(str(url))
    except ArgumentError:
        return "(--database-url / DOORSTEP_DATABASE_URL)"


@click.group(cls=DoorstepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="doorstep")
def cli() -> None:
    """Doorstep: an open, privacy-first, accountable neighbourhood camera network.

    Start the hub with `doorstep serve`, then open http://127.0.0.1:8000/docs.
    """


cli.add_command(serve)
cli.add_command(worker)
cli.add_command(db)
cli.add_command(user)
cli.add_command(agent)
cli.add_command(audit)
cli.add_command(evidence)
cli.add_command(report)
cli.add_command(witness)
cli.add_command(log)
cli.add_command(demo)
