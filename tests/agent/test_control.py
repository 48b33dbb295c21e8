"""The control connection end to end: a real hub (`doorstep serve`), a running agent on
real footage at real-time pace, and the owner changing things through the API (issue 13,
item 5): Off stops recording within 5 s, Home resumes it, zones and masks saved on the
hub reach the running agent within 5 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from doorstep.agent.config import load_config
from doorstep.agent.control import ControlClient, ControlState
from doorstep.agent.runner import RunResult, run_agent
from tests.hub_fixtures import Api, bearer
from tests.server_process import ServerProcess, free_port

TOP_LEFT = [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]
SKY = [[0.6, 0.02], [0.95, 0.02], [0.95, 0.15], [0.6, 0.15]]  # nothing moves up there
WITHIN = 5.0  # the promise: a change reaches the agent within 5 s


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("control_hub")
    server = ServerProcess(
        root / "data",
        f"sqlite:///{root / 'hub.db'}",
        DOORSTEP_PASSWORD_HASH_MEMORY_KIB="1024",
        DOORSTEP_PASSWORD_HASH_TIME_COST="1",
    )
    server.start()
    yield server
    server.stop()


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def wall(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_modes_zones_and_masks_reach_a_running_agent(
    hub: ServerProcess, traffic: Path, tmp_path: Path
) -> None:
    http = httpx.Client(base_url=hub.url, timeout=30)
    api = Api(http)
    token = api.signup("ann@example.org")
    owner = bearer(token)
    camera = api.camera(token)
    key = bearer(camera["api_key"])

    def version() -> int:
        return int(http.get("/api/v1/ingest/control", headers=key).json()["version"])

    def hub_events() -> list[dict[str, Any]]:
        return list(http.get("/api/v1/events", headers=owner).json()["items"])

    config = load_config(
        camera="front",
        hub_url=hub.url,
        camera_key=camera["api_key"],
        clock="wall",
        event_gap=1.0,
        pre_roll=1.0,
        post_roll=1.0,
        detection=False,
        data_dir=tmp_path / "agent",
    )
    stop = threading.Event()
    outcome: dict[str, RunResult] = {}
    runner = threading.Thread(
        target=lambda: outcome.setdefault(
            "result", run_agent(config, str(traffic), realtime=True, stop=stop)
        )
    )
    runner.start()
    try:
        wait_for(hub_events, 10, "the agent's first event at the hub")

        # Off: the running event ends, no new one starts
        assert http.put("/api/v1/mode", json={"mode": "off"}, headers=owner).is_success
        t_off, v_off = time.time(), version()
        time.sleep(WITHIN + 0.5)

        # masks while Off, then Home: recording resumes, with the mask
        saved = http.patch(
            f"/api/v1/cameras/{camera['id']}",
            json={"agent_config": {"masks": [TOP_LEFT]}},
            headers=owner,
        )
        assert saved.status_code == 200, saved.text
        assert http.put("/api/v1/mode", json={"mode": "home"}, headers=owner).is_success
        t_home, v_home = time.time(), version()
        resumed = wait_for(
            lambda: [e for e in hub_events() if wall(e["start_time"]) > t_home],
            WITHIN,
            "an event after switching back to Home",
        )[0]

        # a zone where nothing moves: the running event ends, none starts
        saved = http.patch(
            f"/api/v1/cameras/{camera['id']}",
            json={"agent_config": {"zones": [SKY]}},
            headers=owner,
        )
        assert saved.status_code == 200, saved.text
        t_zone, v_zone = time.time(), version()
        wait_for(
            lambda: any(e["id"] == resumed["id"] and e["has_snapshot"] for e in hub_events()),
            WITHIN + 3,
            "the resumed event ended, with its snapshot, once the zone arrived",
        )
        time.sleep(max(0.0, t_zone + WITHIN + 1.5 - time.time()))
    finally:
        stop.set()
        runner.join(timeout=60)
    result = outcome["result"]
    assert result.error is None

    seen = result.versions
    assert seen[0] < v_off and {v_off, v_home, v_zone} <= set(seen), seen
    starts = [e.wall_base + e.start for e in result.events]
    ends = [e.wall_base + (e.end if e.end is not None else e.last_motion) for e in result.events]
    assert not [s for s in starts if t_off + WITHIN < s < t_home], "an event started while Off"
    assert all(end <= t_off + WITHIN for s, end in zip(starts, ends, strict=True) if s < t_off)
    assert [s for s in starts if t_home < s < t_home + WITHIN], "recording did not resume"
    assert not [s for s in starts if s > t_zone + WITHIN], "an event started outside the zone"
    late = [end for s, end in zip(starts, ends, strict=True) if s < t_zone]
    assert max(late) <= t_zone + WITHIN + config.event_gap

    jpeg = http.get(f"/api/v1/events/{resumed['id']}/snapshot", headers=owner).content
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    h, w = picture.shape
    assert picture[: h // 2 - 4, : w // 2 - 4].max() < 20  # the hub's mask, applied mid-run
    assert picture[h // 2 + 4 :, w // 2 + 4 :].max() > 60
    http.close()


def test_the_control_thread_survives_the_hub_going_away_and_honours_retry_after(
    hub: ServerProcess,
) -> None:
    """No hub on the port at first: the thread backs off and keeps trying; once a hub
    answers it delivers the state."""
    api = Api(httpx.Client(base_url=hub.url, timeout=30))
    camera = api.camera(api.signup("bob@example.org"))
    down = ControlClient(f"http://127.0.0.1:{free_port()}", camera["api_key"], initial=0.05)
    assert down.first() is None
    state, pause = down.poll(0, 1)
    assert state is None and pause == 0.0  # back off, then again
    down.stop()

    got: list[ControlState] = []
    client = ControlClient(hub.url, camera["api_key"], wait=2, initial=0.05)
    first = client.first()
    assert first is not None and first.record and first.mode == "home"
    client.on_state = got.append
    client.start()
    try:
        reply = api.client.put(
            "/api/v1/mode", json={"mode": "away"}, headers=bearer(api.login("bob@example.org"))
        )
        assert reply.is_success
        wait_for(lambda: got, WITHIN, "the new state on the control thread")
        assert got[0].mode == "away" and got[0].version > first.version
    finally:
        client.stop()
    refused = ControlClient(hub.url, "dsk_wrong", maximum=7.0)
    assert refused.poll(None, 0) == (None, 7.0)  # a refused key waits the longest backoff
    refused.stop()
