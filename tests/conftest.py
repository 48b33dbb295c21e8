"""Fixtures shared by every test: isolated environment, real media, real services."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MEDIA_DIR = Path(os.environ.get("DOORSTEP_TEST_MEDIA", REPO_ROOT.parent / "shared" / "media"))
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip outside CI when a service is down; under CI a missing service fails."""
    if service_reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(message)


TEST_PASSWORD_HASH_COSTS = {
    "DOORSTEP_PASSWORD_HASH_MEMORY_KIB": "1024",
    "DOORSTEP_PASSWORD_HASH_TIME_COST": "1",
}


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No DOORSTEP_* variable from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("DOORSTEP_"):
            monkeypatch.delenv(key)
    # Cheap Argon2 costs: the same code path, 1 MiB and one pass instead of 64 MiB and
    # three (hashing was half the time of the request tests). A hash names its own costs.
    # tests/hub/test_signup_memory.py runs a hub with the production costs.
    for key, value in TEST_PASSWORD_HASH_COSTS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """../shared/media (or $DOORSTEP_TEST_MEDIA); tests that need it skip when it is absent."""
    if not MEDIA_DIR.is_dir():
        pytest.skip(f"test media not found at {MEDIA_DIR} (set DOORSTEP_TEST_MEDIA)")
    return MEDIA_DIR


@pytest.fixture(scope="session")
def mqtt_broker() -> tuple[str, int]:
    require_service("Mosquitto", "127.0.0.1", 1883)
    return ("127.0.0.1", 1883)


pytest_plugins = ["tests.hub_fixtures"]
