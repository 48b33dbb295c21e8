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


@dataclass(frozen=True)
class Detection:
    """A person found in a frame: a box relative to the frame (x, y, w, h) and a 0..1 score."""

    box: Box
    score: float


class Detector(Protocol):
    """Finds people in a grey frame, optionally restricted to a relative rectangle."""

    def detect(self, frame: npt.NDArray[Any], region: Box | None = None) -> list[Detection]: ...


class HogPersonDetector:
    """OpenCV's default HOG people detector, scaled so that people of typical size fit."""

    def __init__(self, min_person_height: int = 96) -> None:
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector()))
        # The HOG window is 128 px tall; upscale so that the smallest expected person fills it.
        self._scale = max(1.0, 128 / min_person_height)

    def detect(self, frame: npt.NDArray[Any], region: Box | None = None) -> list[Detection]:
        height, width = frame.shape[:2]
        x0, y0, x1, y1 = 0, 0, width, height
        if region is not None:
            rx, ry, rw, rh = region
            x0, y0 = max(0, int(rx * width)), max(0, int(ry * height))
            x1, y1 = min(width, int((rx + rw) * width)), min(height, int((ry + rh) * height))
        crop = frame[y0:y1, x0:x1]
        if crop.shape[0] < 64 or crop.shape[1] < 32:
            return []
        if self._scale != 1.0:
            crop = cv2.resize(crop, None, fx=self._scale, fy=self._scale)
        if crop.shape[0] < 128 or crop.shape[1] < 64:
            return []
        rects, weights = self._hog.detectMultiScale(
            crop, winStride=(8, 8), padding=(8, 8), scale=1.1
        )
        found = []
        for (rx_, ry_, rw_, rh_), weight in zip(rects, np.ravel(weights), strict=True):
            bx = (x0 + rx_ / self._scale) / width
            by = (y0 + ry_ / self._scale) / height
            box = (bx, by, rw_ / self._scale / width, rh_ / self._scale / height)
            # The SVM margin is unbounded; a logistic squashes it into 0..1.
            found.append(Detection(box, 1.0 / (1.0 + math.exp(-2.0 * float(weight)))))
        return found
