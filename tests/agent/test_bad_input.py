"""Acceptance 7: bad input gives one clear error line and a non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.agent.conftest import agent_cmd, free_port
from tests.agent.receiver import KEY, Receiver


def make_bad(kind: str, media_dir: Path) -> str:
    vtest = (media_dir / "pets09-s2l1" / "vtest_h264.mp4").read_bytes()
    if kind == "zero-byte":
        Path("zero.mp4").write_bytes(b"")
        return "zero.mp4"
    if kind == "not-video":
        Path("notes.mp4").write_text("this is a shopping list, not a video\n")
        return "notes.mp4"
    if kind == "corrupt":
        Path("corrupt.mp4").write_bytes(b"\0" * 4096 + vtest[4096:])
        return "corrupt.mp4"
    if kind == "missing":
        return "no-such-file.mp4"
    if kind == "unreachable-url":
        return f"http://127.0.0.1:{free_port()}/camera.mp4"
    raise AssertionError(kind)


def assert_one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error")
    return lines[0]


@pytest.mark.parametrize(
    "kind", ["zero-byte", "not-video", "corrupt", "missing", "unreachable-url"]
)
def test_bad_source_one_error_line(kind: str, media_dir: Path) -> None:
    source = make_bad(kind, media_dir)
    proc = subprocess.run(agent_cmd(source), capture_output=True, text=True, timeout=60)
    line = assert_one_error_line(proc)
    assert source in line


def test_truncated_file_errors_but_delivers_detected_events(
    media_dir: Path, receiver: Receiver
) -> None:
    vtest = (media_dir / "pets09-s2l1" / "vtest_h264.mp4").read_bytes()
    Path("truncated.mp4").write_bytes(vtest[:3_000_000])
    proc = subprocess.run(
        agent_cmd("truncated.mp4", "--hub", receiver.url, "--camera-key", KEY),
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = assert_one_error_line(proc)
    assert "truncated" in line
    assert receiver.events, "events found before the cut were not delivered"
    for event_id in receiver.events:
        assert (event_id, "clip") in receiver.files


def test_invalid_config_one_error_line() -> None:
    Path("agent.json").write_text('{"pre_roll": 500}')
    proc = subprocess.run(
        agent_cmd("x.mp4", "--config", "agent.json"), capture_output=True, text=True, timeout=60
    )
    assert "pre_roll" in assert_one_error_line(proc)


def test_second_agent_on_the_same_data_dir_is_refused(traffic: Path) -> None:
    """Two agents sharing a data dir would clear each other's clips in progress."""
    first = subprocess.Popen(
        agent_cmd(traffic, "--realtime", "--data-dir", "shared"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not Path("shared/outbox.sqlite3").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        second = subprocess.run(
            agent_cmd(traffic, "--data-dir", "shared"), capture_output=True, text=True, timeout=60
        )
        assert "in use by another agent" in assert_one_error_line(second)
        assert first.poll() is None  # the first one goes on
    finally:
        first.terminate()
        first.wait(timeout=30)
    again = subprocess.run(
        agent_cmd(traffic, "--data-dir", "shared", "-q"), capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stderr  # free once the first has stopped
