"""Object detection on motion: what moved, as Doorstep's labels with scores and boxes.

The model is SSD MobileNetV2 trained on Open Images v4 (300x300 input, 24 classes),
from the npm package ``@mediapipe/objectron`` (Apache-2.0), vendored into
``doorstep/agent/models/`` by ``scripts/vendor-model`` and checked against its SHA-256
at load, so nothing is downloaded at run time and a damaged copy is refused. It runs
with ``ai-edge-litert`` (TensorFlow Lite) on one thread, about 15 ms an inference.

Like Frigate, the detector looks only where motion is: each motion box becomes a
square crop around it (at least the model's 300 px, so small things are not shrunk;
wide boxes are tiled), each crop is one inference, boxes are mapped back onto the
whole frame and merged by non-maximum suppression. Decoding follows MediaPipe's
graph for this model: sigmoid class scores, box encodings (yc, xc, h, w) scaled by
10/10/5/5 against the anchors of its ``SsdAnchorsCalculator``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from doorstep.errors import DoorstepError

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
"""(x, y, w, h) relative to the whole frame, 0..1."""

LABELS = ("person", "vehicle", "animal", "package")

MODEL_FILE = "ssd_mobilenetv2_oidv4_fp16.tflite"
MODEL_SHA256 = "d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6"
MODEL_PATH = Path(__file__).parent / "models" / MODEL_FILE

# The model's label map (object_detection_oidv4_labelmap.txt in the npm package); index 0
# is the background. scripts/vendor-model checks the package still says the same.
OIDV4_LABELS = (
    "???",
    "Bicycle",
    "Boot",
    "Laptop",
    "Person",
    "Chair",
    "Cattle",
    "Desk",
    "Cat",
    "Computer mouse",
    "Computer monitor",
    "Box",
    "Mug",
    "Coffee cup",
    "Stationary bicycle",
    "Table",
    "Bottle",
    "High heels",
    "Vehicle",
    "Footwear",
    "Dog",
    "Book",
    "Camera",
    "Car",
)
# Open Images classes that mean something at a door or on a street; the rest are ignored.
CLASS_MAP = {
    "Person": "person",
    "Car": "vehicle",
    "Vehicle": "vehicle",
    "Bicycle": "vehicle",
    "Dog": "animal",
    "Cat": "animal",
    "Cattle": "animal",
    "Box": "package",
}

INPUT_SIZE = 300
MIN_CROP = INPUT_SIZE  # crop side in frame pixels: small things are never scaled down
MAX_CROPS = 3
CROP_MARGIN = 1.25  # a crop's side over the motion box's longer side
NMS_IOU = 0.45
NESTED = 0.7


@dataclass(frozen=True)
class Detection:
    """A thing the model recognised: one of ``LABELS``, its 0..1 score and its box."""

    label: str
    score: float
    box: Box


class Detector(Protocol):
    """Finds labelled things in a colour (H, W, 3) RGB frame, looking at the given regions
    (relative boxes; an empty list means the whole frame)."""

    def detect(self, frame: NDArray[np.uint8], regions: list[Box]) -> list[Detection]: ...


class ModelError(DoorstepError):
    """The detector's model is missing, damaged or cannot be loaded."""


@cache
def ssd_anchors() -> NDArray[np.float32]:
    """MediaPipe's SSD anchors for this model, (1917, 4) as (yc, xc, h, w), relative.

    The options of the objectron graph's ``SsdAnchorsCalculator``: 6 layers, scales
    0.2 to 0.95, strides 16-512 (feature maps 19, 10, 5, 3, 2, 1), aspect ratios 1, 2,
    0.5, 3, 1/3 plus one interpolated scale at ratio 1, and only 3 anchors (scale 0.1
    at ratio 1, then 2 and 0.5) in the lowest layer: 19*19*3 + (100+25+9+4+1)*6 = 1917.
    """
    strides = (16, 32, 64, 128, 256, 512)
    ratios = (1.0, 2.0, 0.5, 3.0, 0.3333)
    min_scale, max_scale, layers = 0.2, 0.95, len(strides)

    def scale(i: int) -> float:
        return min_scale + (max_scale - min_scale) * i / (layers - 1)

    anchors: list[tuple[float, float, float, float]] = []
    for layer, stride in enumerate(strides):
        if layer == 0:
            shapes = [(0.1, 1.0), (scale(0), 2.0), (scale(0), 0.5)]
        else:
            shapes = [(scale(layer), r) for r in ratios]
            following = 1.0 if layer == layers - 1 else scale(layer + 1)
            shapes.append((math.sqrt(scale(layer) * following), 1.0))
        size = math.ceil(INPUT_SIZE / stride)
        for y in range(size):
            for x in range(size):
                for s, r in shapes:
                    anchors.append(
                        ((y + 0.5) / size, (x + 0.5) / size, s / math.sqrt(r), s * math.sqrt(r))
                    )
    return np.asarray(anchors, np.float32)


def _class_targets() -> tuple[NDArray[np.int64], list[str]]:
    index = [i for i, name in enumerate(OIDV4_LABELS) if name in CLASS_MAP]
    return np.asarray(index), [CLASS_MAP[OIDV4_LABELS[i]] for i in index]


def square_crops(regions: list[Box], width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Pixel crops (x0, y0, x1, y1) to run the model on: squares around the motion boxes.

    A square is ``CROP_MARGIN`` times the box's longer side, at least ``MIN_CROP`` px
    (or the frame's shorter side), centred on the box and moved inside the frame; a box
    longer than the frame's shorter side is tiled with squares of that side. Squares
    mostly inside a larger one are dropped; the largest ``MAX_CROPS`` are kept.
    """
    if not regions:
        return [(0, 0, width, height)]
    short = min(width, height)
    squares: list[tuple[int, int, int, int]] = []
    for rx, ry, rw, rh in regions:
        cx, cy = (rx + rw / 2) * width, (ry + rh / 2) * height
        bw, bh = rw * width * CROP_MARGIN, rh * height * CROP_MARGIN
        side = int(min(short, max(bw, bh, MIN_CROP)))
        along_x = bw >= bh
        long_side = bw if along_x else bh
        count = max(1, math.ceil(long_side / side - 0.15))  # a little overhang is fine
        for k in range(count):
            offset = (
                (k + 0.5 - count / 2) * (long_side - side) / max(1, count - 1) if count > 1 else 0
            )
            sx = cx + (offset if along_x else 0) - side / 2
            sy = cy + (0 if along_x else offset) - side / 2
            x0 = int(min(max(0.0, sx), width - side))
            y0 = int(min(max(0.0, sy), height - side))
            squares.append((x0, y0, x0 + side, y0 + side))
    squares.sort(key=lambda s: -(s[2] - s[0]))
    kept: list[tuple[int, int, int, int]] = []
    for sq in squares:
        area = (sq[2] - sq[0]) * (sq[3] - sq[1])
        if all(_overlap(sq, k) < 0.8 * area for k in kept):
            kept.append(sq)
    return kept[:MAX_CROPS]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


class SsdDetector:
    """The vendored SSD MobileNetV2 (Open Images v4) on motion crops, one thread."""

    def __init__(self, path: Path, *, min_score: float = 0.4, threads: int = 1) -> None:
        # Imported here: the hub and the CLI import the agent's modules without needing it.
        from ai_edge_litert.interpreter import Interpreter

        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise ModelError(
                f"the detector model {path} is missing; reinstall Doorstep, or run "
                "scripts/vendor-model in a source checkout (or set detection to false)"
            ) from None
        except OSError as exc:
            raise ModelError(f"cannot read the detector model {path}: {exc.strerror}") from None
        digest = hashlib.sha256(content).hexdigest()
        if digest != MODEL_SHA256:
            raise ModelError(
                f"the detector model {path} is damaged or not the expected one (SHA-256 "
                f"{digest[:12]}..., expected {MODEL_SHA256[:12]}...); reinstall Doorstep "
                "or run scripts/vendor-model"
            )
        try:
            self._interpreter = Interpreter(model_content=content, num_threads=threads)
            with _native_stderr_to_log():
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load the detector model {path}: {exc}") from None
        self.min_score = min_score
        self.inferences = 0
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._boxes = outputs["raw_outputs/box_encodings"]
        self._classes = outputs["raw_outputs/class_predictions"]
        self._anchors = ssd_anchors()
        self._targets, self._target_labels = _class_targets()
        self._tensor = np.empty((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)
        # A logit at or below this cannot pass min_score (sigmoid is monotonic).
        clipped = min(max(min_score, 1e-6), 1 - 1e-6)
        self._min_logit = math.log(clipped / (1 - clipped))

    def detect(self, frame: NDArray[np.uint8], regions: list[Box]) -> list[Detection]:
        """Run the model on the crops around ``regions``; labelled boxes above ``min_score``."""
        height, width = frame.shape[:2]
        found: list[Detection] = []
        for x0, y0, x1, y1 in square_crops(regions, width, height):
            for label, score, (bx, by, bw, bh) in self.infer(frame[y0:y1, x0:x1]):
                cw, ch = x1 - x0, y1 - y0
                box = (
                    (x0 + bx * cw) / width,
                    (y0 + by * ch) / height,
                    bw * cw / width,
                    bh * ch / height,
                )
                found.append(Detection(label, score, box))
        return merge(found)

    def infer(self, image: NDArray[np.uint8]) -> list[tuple[str, float, Box]]:
        """One inference on an RGB image (squashed to 300x300); boxes relative to it."""
        small = cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        # MediaPipe feeds this model pixels scaled to -1..1.
        np.multiply(small, 1 / 127.5, out=self._tensor[0], casting="unsafe")
        self._tensor -= 1.0
        self._interpreter.set_tensor(self._input, self._tensor)
        self._interpreter.invoke()
        self.inferences += 1
        logits = self._interpreter.get_tensor(self._classes)[0]
        # MediaPipe keeps each anchor's best class (background excluded).
        best = logits[:, 1:].argmax(axis=1) + 1
        best_logit = logits[np.arange(len(best)), best]
        wanted = np.isin(best, self._targets) & (best_logit > self._min_logit)
        if not wanted.any():
            return []
        rows = np.nonzero(wanted)[0]
        raw = self._interpreter.get_tensor(self._boxes)[0][rows]
        anchors = self._anchors[rows]
        yc = raw[:, 0] / 10.0 * anchors[:, 2] + anchors[:, 0]
        xc = raw[:, 1] / 10.0 * anchors[:, 3] + anchors[:, 1]
        h = np.exp(raw[:, 2] / 5.0) * anchors[:, 2]
        w = np.exp(raw[:, 3] / 5.0) * anchors[:, 3]
        scores = 1.0 / (1.0 + np.exp(-best_logit[rows]))
        names = {int(i): label for i, label in zip(self._targets, self._target_labels, strict=True)}
        out: list[tuple[str, float, Box]] = []
        for k in range(len(rows)):
            x0, y0 = max(0.0, float(xc[k] - w[k] / 2)), max(0.0, float(yc[k] - h[k] / 2))
            x1, y1 = min(1.0, float(xc[k] + w[k] / 2)), min(1.0, float(yc[k] + h[k] / 2))
            if x1 > x0 and y1 > y0:
                out.append(
                    (names[int(best[rows[k]])], float(scores[k]), (x0, y0, x1 - x0, y1 - y0))
                )
        return [(d.label, d.score, d.box) for d in merge([Detection(*o) for o in out])]


@contextmanager
def _native_stderr_to_log() -> Iterator[None]:
    """TensorFlow Lite's C++ runtime prints "INFO: Created TensorFlow Lite XNNPACK
    delegate for CPU." on file descriptor 2 when the tensors are allocated; the agent's
    standard error is for errors (one line each, which tests and scripts rely on). For
    that moment fd 2 goes to a temporary file whose lines become log records (INFO
    lines at debug level). Called at start-up, before the agent starts its threads."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines():
                if line.strip():
                    log.log(logging.DEBUG if line.startswith("INFO") else logging.WARNING, line)


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def inside(a: Box, b: Box) -> float:
    """The share of the smaller box that lies in the other."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0


def merge(found: list[Detection], threshold: float = NMS_IOU) -> list[Detection]:
    """Non-maximum suppression per label: of boxes that overlap (IoU above ``threshold``)
    or nest (``NESTED`` of the smaller inside the other: a person's upper half, the
    same car cut by two crops), the best one."""
    kept: list[Detection] = []
    for det in sorted(found, key=lambda d: -d.score):
        if all(
            k.label != det.label
            or (iou(k.box, det.box) <= threshold and inside(k.box, det.box) < NESTED)
            for k in kept
        ):
            kept.append(det)
    return kept


def load_detector(path: Path | None = None, *, min_score: float = 0.4) -> SsdDetector:
    """The vendored model (or the one at ``path``), checked; raises ``ModelError``."""
    return SsdDetector(path or MODEL_PATH, min_score=min_score)


def model_available() -> bool:
    """Whether the vendored model file is present (detection is on by default then)."""
    return MODEL_PATH.is_file()


def as_rgb(frame: Any) -> NDArray[np.uint8]:
    """A PyAV frame as the (H, W, 3) RGB array the detector takes."""
    array: NDArray[np.uint8] = frame.to_ndarray(format="rgb24")
    return array
