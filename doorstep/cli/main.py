"""The `doorstep` command: every capability of the hub and agent from a terminal."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from doorstep import __version__
from doorstep.cli.accountability import audit, evidence, report
from doorstep.cli.agent import agent
from doorstep.cli.demo import demo
from doorstep.cli.hub import db, serve, user
from doorstep.errors import DoorstepError


class DoorstepGroup(click.Group):
    """Turns domain errors into one readable line and their exit code, never a traceback."""

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


@click.group(cls=DoorstepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="doorstep")
def cli() -> None:
    """Doorstep: an open, privacy-first, accountable neighbourhood camera network.

    Start the hub with `doorstep serve`, then open http://127.0.0.1:8000/docs.
    """


cli.add_command(serve)
cli.add_command(db)
cli.add_command(user)
cli.add_command(agent)
cli.add_command(audit)
cli.add_command(evidence)
cli.add_command(report)
cli.add_command(demo)
