"""The public surface (docs/api.md) changes only on purpose: HTTP routes and CLI commands."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from doorstep.app import create_app
from doorstep.cli.main import cli
from doorstep.config import Settings
from tests.conftest import REPO_ROOT


def documented_routes() -> set[tuple[str, str]]:
    text = (REPO_ROOT / "docs" / "api.md").read_text()
    return set(re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|", text, re.MULTILINE))


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    served = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert served == documented_routes()


def test_cli_commands() -> None:
    commands = set(cli.commands)  # type: ignore[attr-defined]
    assert commands == {
        "serve",
        "worker",
        "demo",
        "db",
        "user",
        "agent",
        "audit",
        "evidence",
        "report",
        "witness",
        "log",
    }
    for name in commands:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, name
