"""`doorstep demo` as a newcomer runs it: seeded accounts, and events arriving live."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from doorstep.demo.seed import DEMO_PASSWORD, OWNERS
from tests.server_process import free_port


def test_demo_starts_seeds_and_receives_live_events(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DOORSTEP_MAP_TILE_URL": ""}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "doorstep",
            "demo",
            "--data-dir",
            str(tmp_path / "demo"),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "press Ctrl+C" not in banner and time.monotonic() < deadline:
            line = process.stdout.readline() if process.stdout else ""
            if not line and process.poll() is not None:
                break
            banner += line
        assert f"http://127.0.0.1:{port}" in banner, banner
        assert "officer@example.org" in banner and DEMO_PASSWORD in banner
        base = f"http://127.0.0.1:{port}"
        email = OWNERS[0][0]
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": email, "password": DEMO_PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        seeded = httpx.get(f"{base}/api/v1/events", headers=headers).json()["total"]
        assert seeded >= 2
        deadline = time.monotonic() + 90
        total = seeded
        while total == seeded and time.monotonic() < deadline:
            time.sleep(2)
            total = httpx.get(f"{base}/api/v1/events", headers=headers).json()["total"]
        assert total > seeded, "no live event arrived from the demo's camera agents"
        assert httpx.get(f"{base}/transparency").status_code == 200
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
