"""The `doorstep` command: help text, `user add`, `db upgrade`, readable errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from doorstep.cli.main import cli


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doorstep", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "db", "user"):
        assert command in result.output
    serve_help = CliRunner().invoke(cli, ["serve", "--help"])
    assert "--port" in serve_help.output and "DOORSTEP_DATA_DIR" in serve_help.output


def test_db_upgrade_and_user_add(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    upgraded = run("db", "upgrade", "--data-dir", data)
    assert upgraded.returncode == 0 and "revision" in upgraded.stdout
    created = run(
        "user",
        "add",
        "cop@example.org",
        "--role",
        "officer",
        "--agency",
        "City PD",
        "--password-stdin",
        "--data-dir",
        data,
        stdin="correct horse battery\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created officer cop@example.org" in created.stdout


def test_user_add_errors_are_one_line(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    no_agency = run(
        "user",
        "add",
        "cop@example.org",
        "--role",
        "officer",
        "--password-stdin",
        "--data-dir",
        data,
        stdin="correct horse battery\n",
    )
    assert no_agency.returncode != 0
    assert "Traceback" not in no_agency.stderr
    assert "agency" in no_agency.stderr
    short = run(
        "user", "add", "a@example.org", "--password-stdin", "--data-dir", data, stdin="short\n"
    )
    assert short.returncode != 0 and "Traceback" not in short.stderr and "password" in short.stderr
    run(
        "user",
        "add",
        "b@example.org",
        "--password-stdin",
        "--data-dir",
        data,
        stdin="correct horse battery\n",
    )
    duplicate = run(
        "user",
        "add",
        "b@example.org",
        "--password-stdin",
        "--data-dir",
        data,
        stdin="correct horse battery\n",
    )
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr


def test_production_refuses_placeholder_secret(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "DOORSTEP_ENVIRONMENT": "production", "DOORSTEP_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "doorstep", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DOORSTEP_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr
