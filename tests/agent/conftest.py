"""Fixtures of the agent tests: real footage, short segments of it, a contract receiver."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.receiver import Receiver

TRAFFIC_ROI = (631, 532, 210, 127)
TRAFFIC_REFERENCE = [(10, 148), (359, 490), (543, 575)]
DOORSTEP = str(Path(sys.executable).parent / "doorstep")


def rect_zone(x: float, y: float, w: float, h: float, fw: float, fh: float) -> list[list[float]]:
    return [
        [x / fw, y / fh],
        [(x + w) / fw, y / fh],
        [(x + w) / fw, (y + h) / fh],
        [x / fw, (y + h) / fh],
    ]


TRAFFIC_ZONE = rect_zone(*TRAFFIC_ROI, 1280, 720)


@pytest.fixture(scope="session")
def traffic(media_dir: Path) -> Path:
    return media_dir / "dvrscan" / "traffic_camera.mp4"


@pytest.fixture(scope="session")
def segments(tmp_path_factory: pytest.TempPathFactory, traffic: Path) -> dict[str, Path]:
    """Short copies of the traffic footage (stream copy, so they are real camera output)."""
    folder = tmp_path_factory.mktemp("segments")
    out = {}
    for name, seconds in {"first": 9, "two": 16}.items():
        path = folder / f"traffic_{name}.mp4"
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-i",
                str(traffic),
                "-t",
                str(seconds),
                "-an",
                "-c",
                "copy",
                str(path),
            ],
            check=True,
        )
        out[name] = path
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, **settings: Any) -> Path:
    path.write_text(json.dumps(settings))
    return path


def agent_cmd(source: Path | str, *args: str) -> list[str]:
    return [DOORSTEP, "agent", "run", "--source", str(source), *args]
