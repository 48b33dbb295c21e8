"""A live source that drops is reconnected with backoff, and detection goes on.

The camera is a real HTTP server streaming MPEG-TS (the traffic footage remuxed by
FFmpeg); its first connection is cut at 40 % and the next ones play in full.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from doorstep.agent.config import AgentConfig, load_config
from doorstep.agent.outbox import Outbox
from doorstep.agent.runner import RunResult, run_agent
from tests.agent.conftest import TRAFFIC_ZONE


class FlakyCamera(ThreadingHTTPServer):
    def __init__(self, stream: bytes, drops: int = 1) -> None:
        super().__init__(("127.0.0.1", 0), CameraHandler)
        self.stream = stream
        self.drops = drops  # the first connections are cut mid-stream
        self.connections = 0


class CameraHandler(BaseHTTPRequestHandler):
    server: FlakyCamera

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.connections += 1
        data = self.server.stream
        if self.server.connections <= self.server.drops:
            data = data[: int(len(data) * 0.4)]  # the network drops mid-stream
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.end_headers()
        for start in range(0, len(data), 65536):
            self.wfile.write(data[start : start + 65536])
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def camera(traffic: Path, tmp_path: Path) -> Iterator[FlakyCamera]:
    ts = tmp_path / "traffic.ts"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(traffic), "-c", "copy", "-f", "mpegts", str(ts)],
        check=True,
        timeout=60,
    )
    server = FlakyCamera(ts.read_bytes())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def run_until_connections(camera: FlakyCamera, config: AgentConfig, connections: int) -> RunResult:
    """Run the agent on the camera's stream until it has connected ``connections`` times."""
    url = f"http://127.0.0.1:{camera.server_address[1]}/stream.ts"
    stop = threading.Event()
    results: list[RunResult] = []
    runner = threading.Thread(target=lambda: results.append(run_agent(config, url, stop=stop)))
    runner.start()
    deadline = time.monotonic() + 120
    while camera.connections < connections and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    runner.join(60)
    assert camera.connections >= connections, "the agent did not reconnect after the drop"
    return results[0]


def test_dropped_stream_is_reconnected_and_detection_goes_on(
    camera: FlakyCamera, tmp_path: Path
) -> None:
    config = load_config(
        zones=[TRAFFIC_ZONE], event_gap=2.0, data_dir=tmp_path / "agent", reconnect_max=2.0
    )
    result = run_until_connections(camera, config, 3)
    assert result.error is None  # a live source reconnects instead of failing
    assert len(result.events) >= 4  # the cut first pass plus a whole second pass (3 events)


def test_backoff_starts_afresh_after_a_connection_that_worked(
    camera: FlakyCamera, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Three drops in a row, each after frames arrived: every reconnect waits 1 s."""
    camera.drops = 3
    config = load_config(data_dir=tmp_path / "agent", reconnect_max=8.0)
    with caplog.at_level(logging.WARNING, logger="doorstep.agent.runner"):
        run_until_connections(camera, config, 4)
    delays = re.findall(r"reconnecting in (\d+) s", caplog.text)
    assert len(delays) >= 3 and set(delays) == {"1"}, caplog.text


def test_an_event_left_open_by_a_killed_live_agent_ends_when_it_was_last_seen(
    camera: FlakyCamera, tmp_path: Path
) -> None:
    """A power cut mid-event: the restarted agent ends the event at the outbox's last write."""
    data_dir = tmp_path / "agent"
    box = Outbox(data_dir)
    start = datetime.now(UTC) - timedelta(minutes=10)
    event_id = "00000000-0000-0000-0000-0000000000aa"
    box.put_event(
        {"id": event_id, "start_time": start.isoformat(), "end_time": None, "label": "motion"}
    )
    box.close()
    last_seen = start.timestamp() + 30  # it died 30 s into the event, 9.5 minutes ago
    for path in data_dir.glob("outbox.sqlite3*"):
        os.utime(path, (last_seen, last_seen))

    run_until_connections(camera, load_config(data_dir=data_dir, reconnect_max=2.0), 1)

    box = Outbox(data_dir)
    (payload,) = [job.payload for job in box.due_events(time.time()) if job.id == event_id]
    box.close()
    ended = datetime.fromisoformat(payload["end_time"]).timestamp()
    assert abs(ended - last_seen) < 1
