"""The `doorstep` command: help text, `user add`, `db upgrade`, readable errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
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


# --- reading commands on a hub that has nothing to show, or no database at all --------------


def _upgraded(database_url: str, tmp_path: Path, revision: str = "head") -> list[str]:
    """A migrated hub without any activity; the flags that point a command at it."""
    from doorstep.hub.db import make_engine
    from doorstep.hub.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine, revision)
    engine.dispose()
    return ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]


def _revision(database_url: str) -> str | None:
    from doorstep.hub.db import make_engine
    from doorstep.hub.migrate import current_revision

    engine = make_engine(database_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_report_on_a_hub_without_requests(database_url: str, tmp_path: Path) -> None:
    flags = _upgraded(database_url, tmp_path)
    table = CliRunner().invoke(cli, ["report", *flags])
    assert table.exit_code == 0, table.output
    assert "owners asked" in table.output and "(no requests yet)" in table.output
    as_json = CliRunner().invoke(cli, ["report", "--format", "json", *flags])
    assert as_json.exit_code == 0 and '"summary": []' in as_json.output
    as_csv = CliRunner().invoke(cli, ["report", "--format", "csv", *flags])
    assert as_csv.exit_code == 0 and as_csv.output.startswith("agency,month,")


def test_audit_verify_never_creates_a_database(tmp_path: Path) -> None:
    """Run where no hub lives: an error, and no ./doorstep-data left behind."""
    default = run("audit", "verify")
    assert default.returncode == 1
    assert "no database" in _one_line(default.stderr) and "Traceback" not in default.stderr
    assert not (tmp_path / "doorstep-data").exists()
    missing = tmp_path / "nowhere"
    named = run("audit", "verify", "--data-dir", str(missing))
    assert named.returncode == 1 and str(missing) in _one_line(named.stderr)
    assert not missing.exists()


def test_audit_verify_reads_and_never_migrates(database_url: str, tmp_path: Path) -> None:
    """A database without the audit log stays as it was, and is an error."""
    flags = _upgraded(database_url, tmp_path, revision="0001")
    result = CliRunner().invoke(cli, ["audit", "verify", *flags])
    assert result.exit_code == 1, result.stdout
    assert "no audit_log table" in _one_line(result.stderr) and "OK" not in result.stdout
    assert _revision(database_url) == "0001"


def test_audit_verify_of_an_empty_log_is_an_error(database_url: str, tmp_path: Path) -> None:
    flags = _upgraded(database_url, tmp_path)
    result = CliRunner().invoke(cli, ["audit", "verify", *flags])
    assert result.exit_code == 1, result.stdout
    assert "empty" in _one_line(result.stderr) and "OK" not in result.stdout


UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:5999/x"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["serve", "--database-url", UNREACHABLE], id="serve-unreachable"),
        pytest.param(["db", "upgrade", "--database-url", UNREACHABLE], id="upgrade-unreachable"),
        pytest.param(["report", "--database-url", UNREACHABLE], id="report-unreachable"),
        pytest.param(["audit", "verify", "--database-url", UNREACHABLE], id="verify-unreachable"),
        pytest.param(
            ["audit", "checkpoint", "--database-url", UNREACHABLE], id="checkpoint-unreachable"
        ),
        pytest.param(["db", "upgrade", "--database-url", "not a url"], id="upgrade-bad-url"),
        pytest.param(["db", "upgrade", "--database-url", "nosuchdb://h/x"], id="upgrade-no-driver"),
        pytest.param(
            ["serve", "--database-url", "sqlite:////nonexistent-dir/sub/hub.db"],
            id="serve-sqlite-missing-folder",
        ),
        pytest.param(["db", "upgrade", "--data-dir", "{file}/data"], id="upgrade-data-dir-in-file"),
        pytest.param(
            ["user", "add", "a@example.org", "--password-stdin", "--data-dir", "{file}/data"],
            id="user-add-data-dir-in-file",
        ),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path, args: list[str]) -> None:
    """Unreachable server, bad URL or a folder that cannot exist: one line, exit 1."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    args = [a.replace("{file}", str(a_file)) for a in args]
    result = run(*args, stdin="correct horse battery\n")
    assert result.returncode == 1, result.stdout + result.stderr
    line = _one_line(result.stderr)
    assert line.startswith("Error") and "Traceback" not in result.stderr
