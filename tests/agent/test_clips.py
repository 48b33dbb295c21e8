"""Acceptance 4 and the clip machinery: masks are black, rings start at keyframes."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from doorstep.agent.clips import PacketRing, packet_time
from doorstep.agent.config import load_config
from doorstep.agent.runner import run_agent
from tests.agent.conftest import TRAFFIC_ZONE

MASK = [[0.05, 0.05], [0.45, 0.05], [0.45, 0.5], [0.05, 0.5]]


def inner(image: np.ndarray) -> np.ndarray:
    """The mask area shrunk by 8 px, away from chroma and compression bleed at its edge."""
    h, w = image.shape[:2]
    return image[int(0.05 * h) + 8 : int(0.5 * h) - 8, int(0.05 * w) + 8 : int(0.45 * w) - 8]


def test_privacy_mask_is_black_in_every_clip_frame_and_snapshot(segments: dict[str, Path]) -> None:
    config = load_config(zones=[TRAFFIC_ZONE], masks=[MASK], data_dir=Path("agent"))
    result = run_agent(config, str(segments["first"]))
    assert result.events
    for event in result.events:
        clip = Path("agent/files") / f"{event.id}.mp4"
        with av.open(str(clip)) as container:
            frames = 0
            for frame in container.decode(video=0):
                grey = frame.to_ndarray(format="gray")
                assert inner(grey).max() <= 24, f"unmasked pixels in frame {frames}"
                assert grey.mean() > 40  # the rest of the picture is still there
                frames += 1
        assert frames > 50
        snapshot = cv2.imread(str(Path("agent/files") / f"{event.id}.jpg"), cv2.IMREAD_GRAYSCALE)
        assert inner(snapshot).max() <= 24


def test_without_masks_clip_is_the_source_packets(segments: dict[str, Path]) -> None:
    config = load_config(zones=[TRAFFIC_ZONE], data_dir=Path("agent"))
    result = run_agent(config, str(segments["first"]))
    event = result.events[0]
    with av.open(str(segments["first"])) as src:
        source = {bytes(p) for p in src.demux(video=0) if p.size}
    with av.open(str(Path("agent/files") / f"{event.id}.mp4")) as clip:
        copied = [bytes(p) for p in clip.demux(video=0) if p.size]
    assert copied and all(p in source for p in copied)


def test_ring_starts_at_a_keyframe_at_least_pre_roll_old(traffic: Path) -> None:
    ring = PacketRing(pre_roll=2.0)
    with av.open(str(traffic)) as container:
        for packet in container.demux(video=0):
            if not packet.size:
                continue
            ring.push(packet)
            kept = ring.packets()
            assert kept[0].is_keyframe
            now = packet_time(packet)
            first = packet_time(kept[0])
            assert first <= max(0.0, now - 2.0) + 1e-6 or first == 0.0 or now < 2.0
            # never more than one GOP (5.12 s) beyond the pre-roll
            assert now - first <= 2.0 + 5.12 + 0.1
