"""The agent against the real hub (`doorstep serve`): zones from the owner, clips in, once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from doorstep.agent.config import load_config
from doorstep.agent.runner import run_agent
from tests.agent.conftest import TRAFFIC_ZONE
from tests.hub_fixtures import Api, bearer
from tests.server_process import ServerProcess

MASK = [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]  # top-left quarter


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServerProcess]:
    data = tmp_path / "hub"
    server = ServerProcess(data, f"sqlite:///{tmp_path / 'hub.db'}")
    server.start()
    yield server
    server.stop()


def test_agent_uses_the_owners_zones_and_delivers_each_event_once(
    hub: ServerProcess, traffic: Path, tmp_path: Path
) -> None:
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        api = Api(client)
        token = api.signup("ann@example.org")
        camera = api.camera(token)
        saved = client.patch(
            f"/api/v1/cameras/{camera['id']}",
            json={"agent_config": {"zones": [TRAFFIC_ZONE], "masks": [MASK]}},
            headers=bearer(token),
        )
        assert saved.status_code == 200, saved.text

        config = load_config(
            camera="front",
            hub_url=hub.url,
            camera_key=camera["api_key"],
            event_gap=2.0,
            data_dir=tmp_path / "agent",
        )
        first = run_agent(config, str(traffic))
        assert first.error is None and first.queued == 0
        assert len(first.events) == 3  # the zone from the hub was applied

        events = client.get("/api/v1/events", headers=bearer(token)).json()
        assert events["total"] == 3
        for event in events["items"]:
            assert event["has_clip"] and event["has_snapshot"]
            clip = client.get(f"/api/v1/events/{event['id']}/clip", headers=bearer(token)).content
            assert hashlib.sha256(clip).hexdigest() == event["clip_sha256"]
            jpeg = client.get(
                f"/api/v1/events/{event['id']}/snapshot", headers=bearer(token)
            ).content
            picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
            h, w = picture.shape
            assert picture[: h // 2 - 4, : w // 2 - 4].max() < 20  # the hub's mask is black

        again = run_agent(config, str(traffic))  # the same file again: same ids, no duplicates
        assert again.error is None
        assert client.get("/api/v1/events", headers=bearer(token)).json()["total"] == 3
