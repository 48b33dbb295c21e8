"""`python -m doorstep` is the `doorstep` command."""

from doorstep.cli.main import cli

cli()
