"""50 sign-ups at once cannot exhaust the hub's memory: password hashing takes turns.

Each Argon2 hash takes 64 MiB; unbounded, 50 concurrent sign-ups took a real hub from
193 MiB to 2,115 MiB. This starts a real `doorstep serve`, raises the per-client
sign-up limit out of the way (so the hashing bound is what is measured) and reads the
process's peak resident memory from /proc.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess

SIGNUPS = 50
MAX_GROWTH_MIB = 300

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status"
)


def memory_kib(pid: int, field: str) -> int:
    """A field of /proc/<pid>/status such as VmRSS (now) or VmHWM (peak), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def signup(url: str, n: int) -> int:
    body = {"email": f"user{n}@example.org", "password": "correct horse battery", "name": "N"}
    return httpx.post(f"{url}/api/v1/auth/signup", json=body, timeout=120).status_code


def sign_in(url: str, n: int) -> int:
    form = {"username": f"user{n}@example.org", "password": "correct horse battery"}
    return httpx.post(f"{url}/api/v1/auth/token", data=form, timeout=120).status_code


def test_fifty_concurrent_signups_grow_the_hub_by_at_most_300_mib(tmp_path: Path) -> None:
    """Then the same 50 sign in at once: every one is served (on SQLite, a sign-in that
    waited for its commit while others queued for a hashing turn once gave 503s)."""
    server = ServerProcess(
        tmp_path / "data",
        f"sqlite:///{tmp_path / 'hub.db'}",
        DOORSTEP_SIGNUP_LIMIT_PER_HOUR="1000",
        DOORSTEP_PASSWORD_HASH_MEMORY_KIB="65536",  # the production costs, not the suite's
        DOORSTEP_PASSWORD_HASH_TIME_COST="3",
    )
    server.start()
    try:
        assert server.process is not None
        pid = server.process.pid
        assert signup(server.url, -1) == 201  # everything a sign-up touches is loaded
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from now
        before = memory_kib(pid, "VmRSS")
        with ThreadPoolExecutor(SIGNUPS) as pool:
            statuses = list(pool.map(lambda n: signup(server.url, n), range(SIGNUPS)))
            sign_ins = list(pool.map(lambda n: sign_in(server.url, n), range(SIGNUPS)))
        peak = memory_kib(pid, "VmHWM")
    finally:
        server.stop()
    growth_mib = (peak - before) / 1024
    assert growth_mib <= MAX_GROWTH_MIB, f"the hub grew by {growth_mib:.0f} MiB"
    assert statuses == [201] * SIGNUPS  # every one served: in turn, none dropped
    assert sign_ins == [200] * SIGNUPS
