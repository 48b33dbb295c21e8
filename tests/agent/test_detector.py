"""The object detector (issue 15, item 1): the vendored model, its checks, what it sees.

Real model, real footage: PETS09 frames against gt.txt's boxes, the traffic camera's
cars, the brightness ramp. One detector for the module (loading is ~0.1 s, but the
frames are decoded once too).
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from doorstep.agent.config import load_config
from doorstep.agent.detector import (
    LABELS,
    MODEL_PATH,
    MODEL_SHA256,
    Detection,
    ModelError,
    SsdDetector,
    iou,
    load_detector,
    square_crops,
    ssd_anchors,
)
from doorstep.agent.outbox import Outbox
from doorstep.agent.runner import Agent
from doorstep.agent.source import PyAVSource
from tests.agent.conftest import TRAFFIC_ROI

PETS_FRAMES = (0, 120, 240, 360, 480, 600, 720)
PETS_SIZE = (768, 576)


def frames(path: Path, wanted: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """The wanted frames (by index from 0) of a video as RGB arrays, decoded in order."""
    with av.open(str(path)) as container:
        for k, frame in enumerate(container.decode(video=0)):
            if k in wanted:
                yield k, frame.to_ndarray(format="rgb24")
            if k >= max(wanted):
                return


@pytest.fixture(scope="module")
def detector() -> SsdDetector:
    return load_detector()


def test_the_vendored_model_loads_offline_and_is_the_pinned_one(
    detector: SsdDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No network at load or inference: any connection attempt fails the test."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the detector tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    offline = load_detector()
    assert offline.detect(np.zeros((360, 640, 3), np.uint8), []) == []
    assert hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest() == MODEL_SHA256
    licence = (MODEL_PATH.parent / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence
    assert "@mediapipe/objectron" in (MODEL_PATH.parent / "README.md").read_text()


def test_a_damaged_model_is_refused_by_its_hash(tmp_path: Path) -> None:
    """One flipped byte in the weights: the model would still load and give wrong
    answers, so the hash is what catches it."""
    content = bytearray(MODEL_PATH.read_bytes())
    content[len(content) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.tflite"
    damaged.write_bytes(bytes(content))
    with pytest.raises(ModelError, match="damaged or not the expected one"):
        load_detector(damaged)
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(bytes(content[:1000]))
    with pytest.raises(ModelError, match="SHA-256"):
        load_detector(truncated)


def test_a_missing_model_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is missing") as caught:
        load_detector(tmp_path / "nowhere.tflite")
    assert "scripts/vendor-model" in caught.value.message


def test_the_anchors_are_mediapipes() -> None:
    """19x19x3 in the lowest layer, then 6 per cell on 10, 5, 3, 2 and 1."""
    anchors = ssd_anchors()
    assert anchors.shape == (1917, 4)
    first = anchors[0]  # cell (0, 0) of the 19x19 map, scale 0.1 at ratio 1
    assert np.allclose(first, (0.5 / 19, 0.5 / 19, 0.1, 0.1))
    last = anchors[-1]  # the 1x1 map's interpolated anchor: sqrt(0.95 * 1.0)
    assert np.allclose(last, (0.5, 0.5, 0.95**0.5, 0.95**0.5), atol=1e-6)


def test_crops_are_squares_around_motion_never_shrinking_small_things() -> None:
    small = square_crops([(0.5, 0.5, 0.05, 0.1)], 1280, 720)
    assert small == [(522, 246, 822, 546)]  # 300 px centred on a 64x72 px box
    wide = square_crops([(0.0, 0.1, 1.0, 0.6)], 768, 576)
    assert len(wide) == 2 and all(x1 - x0 == y1 - y0 == 576 for x0, y0, x1, y1 in wide)
    assert wide[0][0] == 0 and wide[-1][2] == 768  # the tiles cover the width
    assert square_crops([], 640, 360) == [(0, 0, 640, 360)]


def pets_truth(gt: Path) -> dict[int, list[tuple[float, float, float, float]]]:
    width, height = PETS_SIZE
    boxes: dict[int, list[tuple[float, float, float, float]]] = {}
    for line in gt.read_text().splitlines():
        f, _, x, y, w, h = (float(v) for v in line.split(",")[:6])
        boxes.setdefault(int(f) - 1, []).append((x / width, y / height, w / width, h / height))
    return boxes


def test_people_on_pets_are_person_boxes_on_the_ground_truth(
    detector: SsdDetector, media_dir: Path
) -> None:
    """Seven frames, the scene as two motion regions (left and right halves): person
    boxes match gt.txt's at IoU >= 0.5 with the precision and recall the issue measured."""
    pets = media_dir / "pets09-s2l1"
    truth = pets_truth(pets / "gt.txt")
    matched = predicted = expected = 0
    for k, image in frames(pets / "vtest_h264.mp4", set(PETS_FRAMES)):
        found = detector.detect(image, [(0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 0.5, 1.0)])
        people = [d for d in found if d.label == "person"]
        assert all(0.4 <= d.score <= 1 for d in found)
        predicted += len(people)
        expected += len(truth[k])
        matched += sum(any(iou(d.box, box) >= 0.5 for box in truth[k]) for d in people)
    assert expected > 30
    precision, recall = matched / predicted, matched / expected
    assert precision >= 0.85 and recall >= 0.75, (precision, recall, predicted, expected)


def test_cars_on_the_traffic_camera_are_vehicles(detector: SsdDetector, traffic: Path) -> None:
    """Frames inside the three reference events with a car in or near the ROI (the
    motion region; the crop around it is 300 px, cars are 40-100 px here)."""
    x, y, w, h = TRAFFIC_ROI
    roi = (x / 1280, y / 720, w / 1280, h / 720)
    seen = {}
    for k, image in frames(traffic, {10, 50, 90, 370, 400, 430, 540, 550}):
        found = detector.detect(image, [roi])
        assert {d.label for d in found} <= {"vehicle"}, (k, found)
        seen[k] = len(found)
    assert sum(n > 0 for n in seen.values()) >= 7, seen


def test_the_brightness_ramp_shows_nothing(detector: SsdDetector, media_dir: Path) -> None:
    """Every sixth frame of the ramp (mean luma 89 to 104), the whole frame looked at."""
    ramp = media_dir / "dvrscan" / "issue53_brightness_change.avi"
    for k, image in frames(ramp, set(range(0, 59, 6))):
        assert detector.detect(image, []) == [], k


class Counting:
    """The real detector, counting calls; it reports how many inferences it ran."""

    def __init__(self, inner: SsdDetector) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def inferences(self) -> int:
        return self.inner.inferences

    def detect(self, frame: np.ndarray, regions: list) -> list[Detection]:
        self.calls += 1
        return self.inner.detect(frame, regions)


@pytest.mark.parametrize("fps", [1.0, 5.0])
def test_the_agent_labels_events_and_keeps_to_detect_fps(
    detector: SsdDetector, segments: dict[str, Path], fps: float, tmp_path: Path
) -> None:
    """The first 9 s of traffic (one event): labelled vehicle, and no more than
    detect_fps inferences in any second of it."""
    config = load_config(data_dir=tmp_path, detect_fps=fps)
    outbox = Outbox(tmp_path)
    counting = Counting(load_detector())
    agent = Agent(config, PyAVSource(str(segments["first"])), outbox=outbox, detector=counting)
    result = agent.run()
    outbox.close()
    assert result.error is None and result.events
    event = result.events[0]
    assert event.label == "vehicle" and "vehicle" in event.labels and event.score >= 0.4
    seconds = sum((e.end or 0) - e.start for e in result.events)
    assert 0 < counting.inferences <= fps * seconds + 3, (counting.inferences, seconds)
    if fps == 1.0:
        assert counting.inferences <= 12


def test_old_person_settings_still_load() -> None:
    """person_detection switches detection; the HOG tuning settings are ignored."""
    assert load_config(person_detection=False).detection is False
    config = load_config(person_max_checks=3, person_interval=1.0, person_min_score=0.9)
    assert config.detection is True and config.detect_min_score == 0.4
    assert LABELS == ("person", "vehicle", "animal", "package")
