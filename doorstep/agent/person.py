"""Person labelling behind a one-method interface, so a better model can replace it.

The default detector is OpenCV's built-in HOG + linear SVM people detector: it ships
inside opencv-python-headless, runs on a CPU and needs no download at run time. It
is run only on sampled frames of an active event and only on the motion zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

Box = tuple[float, float, float, float]

_MAX_PIXELS = 250_000


@dataclass(frozen=True)
class Detection:
    """A person found in a frame: a box relative to the frame (x, y, w, h) and a 0..1 score."""

    box: Box
    score: float


class Detector(Protocol):
    """Finds people in a grey frame, optionally restricted to a relative rectangle."""

    def detect(self, frame: npt.NDArray[Any], region: Box | None = None) -> list[Detection]: ...


class HogPersonDetector:
    """OpenCV's default HOG people detector, scaled so that people of typical size fit.

    The search area is the region grown by ``margin`` of the frame on each side (twice
    that upwards, where heads stick out of a zone drawn on the ground), so people at
    its edge are seen whole; a detection counts when ``min_inside`` of its box lies in
    the region.
    """

    def __init__(
        self, min_person_height: int = 85, margin: float = 0.07, min_inside: float = 0.3
    ) -> None:
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector()))
        # The HOG window is 128 px tall; upscale so that the smallest expected person fills it.
        self._scale = max(1.0, 128 / min_person_height)
        self._margin = margin
        self._min_inside = min_inside

    def detect(self, frame: npt.NDArray[Any], region: Box | None = None) -> list[Detection]:
        height, width = frame.shape[:2]
        rx, ry, rw, rh = region if region is not None else (0.0, 0.0, 1.0, 1.0)
        x0 = max(0, int((rx - self._margin) * width))
        y0 = max(0, int((ry - 2 * self._margin) * height))
        x1 = min(width, int((rx + rw + self._margin) * width))
        y1 = min(height, int((ry + rh + self._margin) * height))
        crop = frame[y0:y1, x0:x1]
        # Bound the work: a large search area is scaled down (people in it are large too).
        scale = min(self._scale, math.sqrt(_MAX_PIXELS / max(1, crop.shape[0] * crop.shape[1])))
        if scale != 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale)
        if crop.shape[0] < 128 or crop.shape[1] < 64:
            return []
        rects, weights = self._hog.detectMultiScale(
            crop, winStride=(8, 8), padding=(16, 16), scale=1.05
        )
        found = []
        for (cx, cy, cw, ch), weight in zip(rects, np.ravel(weights), strict=True):
            bx, by = (x0 + cx / scale) / width, (y0 + cy / scale) / height
            bw, bh = cw / scale / width, ch / scale / height
            ix = max(0.0, min(bx + bw, rx + rw) - max(bx, rx))
            iy = max(0.0, min(by + bh, ry + rh) - max(by, ry))
            if ix * iy < self._min_inside * bw * bh:
                continue
            # The SVM margin is unbounded; a logistic squashes it into 0..1.
            found.append(Detection((bx, by, bw, bh), 1.0 / (1.0 + math.exp(-2.0 * float(weight)))))
        return found
