"""The detect-and-track stage with the real detector on a PETS09 frame: a person standing
still in the zone keeps an event open; outside the zone, or with no event, they do not."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from doorstep.agent.detector import load_detector, model_available
from doorstep.agent.motion import MotionResult
from doorstep.agent.objects import ObjectStage, feet_in

pytestmark = pytest.mark.skipif(not model_available(), reason="the detector model is absent")

WIDTH, HEIGHT = 768, 576
STILL = MotionResult(False, 0.0, None)


@pytest.fixture(scope="module")
def person(media_dir: Path) -> tuple[av.VideoFrame, tuple[float, float, float, float]]:
    """PETS09 frame 20 and the ground truth box of its largest person (relative)."""
    folder = media_dir / "pets09-s2l1"
    rows = [[float(v) for v in line.split(",")[:6]] for line in (folder / "gt.txt").open()]
    inner = [r[2:6] for r in rows if r[0] == 21 and 150 < r[2] < WIDTH - 200]
    x, y, w, h = max(inner, key=lambda b: b[2] * b[3])
    with av.open(str(folder / "vtest_h264.mp4")) as container:
        for k, frame in enumerate(container.decode(video=0)):
            if k == 20:
                image = frame.to_ndarray(format="rgb24")
                break
    return av.VideoFrame.from_ndarray(image, format="rgb24"), (
        x / WIDTH,
        y / HEIGHT,
        w / WIDTH,
        h / HEIGHT,
    )


def stage(zone: np.ndarray) -> ObjectStage:
    return ObjectStage(load_detector(), zone, detect_fps=5.0, stationary_seconds=1.0)


def test_a_person_standing_in_the_zone_keeps_the_event_open(person: tuple) -> None:
    frame, box = person
    zone = np.ones((HEIGHT // 4, WIDTH // 4), bool)
    objects = stage(zone)
    moving = MotionResult(True, 0.05, box)
    counted, found = objects.look(frame, 0.0, moving, event_open=True)
    assert counted.motion and "person" in {d.label for d in found}
    # Standing still for 3 s (longer than stationary_seconds): no motion, yet the event
    # stays open, and the person is still what the event sees.
    for t in (1.0, 2.0, 3.0):
        counted, found = objects.look(frame, t, STILL, event_open=True)
        assert counted.motion, t
        assert "person" in {d.label for d in found}
    assert all(not track.stationary for track in objects.tracker.tracks)
    # No event open: a person standing starts none (only motion does).
    counted, _ = objects.look(frame, 4.0, STILL, event_open=False)
    assert not counted.motion


def test_a_person_standing_outside_the_zone_does_not(person: tuple) -> None:
    frame, box = person
    zone = np.zeros((HEIGHT // 4, WIDTH // 4), bool)
    zone[:12, :12] = True  # a corner of trees, where no one walks
    assert not feet_in(zone, box)
    objects = stage(zone)
    objects.look(frame, 0.0, MotionResult(True, 0.05, box), event_open=True)
    counted, _ = objects.look(frame, 1.0, STILL, event_open=True)
    assert not counted.motion
