"""Acceptance 4 and the clip machinery: masks are black, rings start at keyframes."""

from __future__ import annotations

import subprocess
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
                if frames == 0:
                    assert frame.time == 0  # the re-encoded clip starts with its first frame
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


def split_run(video: Path) -> list[tuple[float, float, float]]:
    """Run on ``video`` with a 20 s cap: (start, end, clip seconds) of each event."""
    config = load_config(max_clip=20.0, data_dir=Path("agent"), detection=False)
    result = run_agent(config, str(video))
    assert result.error is None
    events = []
    for event in result.events:
        with av.open(str(Path("agent/files") / f"{event.id}.mp4")) as clip:
            stream = clip.streams.video[0]
            assert stream.duration is not None and stream.time_base is not None
            first = next(clip.demux(stream))
            assert first.is_keyframe  # every clip, split or not, starts decodable
            assert event.end is not None
            events.append((event.start, event.end, float(stream.duration * stream.time_base)))
    for before, after in zip(events, events[1:], strict=False):
        assert after[0] == before[1]  # the event goes on in the next one, no gap
    return events


def test_a_long_event_is_split_at_a_keyframe_before_the_maximum_length(
    media_dir: Path, tmp_path: Path
) -> None:
    """PETS has people in view for all of its 79.5 s: one long event, cut under 20 s."""
    video = tmp_path / "pets_gop2s.mp4"  # as a camera encodes it: a keyframe every 2 s
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(media_dir / "pets09-s2l1" / "vtest_h264.mp4")]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-an", str(video)],
        check=True,
    )
    events = split_run(video)
    assert len(events) >= 4, events
    for _, _, seconds in events:
        assert seconds <= 20.0, events
    for _, _, seconds in events[:-1]:
        assert seconds >= 20.0 - 0.5 - 2.0 - 0.2, events  # the last keyframe before the cap


def test_keyframes_further_apart_than_the_maximum_are_where_clips_are_cut(
    media_dir: Path,
) -> None:
    """The original PETS file has a keyframe every 25 s: clips of 25 s, not a split storm."""
    events = split_run(media_dir / "pets09-s2l1" / "vtest_h264.mp4")
    assert 3 <= len(events) <= 4, events
    for _, _, seconds in events:
        assert seconds <= 25.0 + 0.5, events
