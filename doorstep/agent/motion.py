"""Motion detection on a small grey frame, built to ignore the classic false alarms.

Each analysed frame is band-pass filtered (a light blur minus a wide box blur), so
slow, smooth changes of light (clouds, auto-exposure, a lamp switched on) cancel
out while edges of moving things remain. The result is compared with a running
background; pixels that differ by more than the threshold, after a morphological
opening that removes sensor noise, count as motion when they cover enough of the
zone. The background always keeps learning, so a busy scene never stalls it, and a
change of most of the frame at once resets it (a camera knocked, a scene cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from doorstep.agent.config import AgentConfig

GreyImage = npt.NDArray[Any]
Box = tuple[float, float, float, float]

_BAND_KERNEL = 15
_WARMUP_ALPHA = 0.5


@dataclass(frozen=True)
class MotionResult:
    """Motion in one analysed frame: the share of the zone that moved and where."""

    motion: bool
    area: float
    box: Box | None


def polygon_mask(
    polygons: Sequence[Sequence[tuple[float, float]]], width: int, height: int
) -> npt.NDArray[np.bool_]:
    """Rasterise relative polygons into a boolean mask of the given size."""
    canvas = np.zeros((height, width), np.uint8)
    for poly in polygons:
        points = np.array([[x * width, y * height] for x, y in poly], np.float32)
        cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 1)
    return canvas.astype(bool)


class MotionDetector:
    """Running-background motion detector for frames of one fixed size."""

    def __init__(self, config: AgentConfig, width: int, height: int) -> None:
        self.threshold = config.motion_threshold
        self.min_area = config.motion_min_area
        self.alpha = config.background_alpha
        self.warmup = config.warmup_seconds
        self.recal_area = config.recalibrate_area
        self.recal_seconds = config.recalibrate_seconds
        zone = polygon_mask(config.zones, width, height) if config.zones else None
        if zone is None:
            zone = np.ones((height, width), bool)
        if config.masks:
            zone &= ~polygon_mask(config.masks, width, height)
        self.zone = zone
        self.zone_pixels = max(int(zone.sum()), 1)
        ys, xs = np.nonzero(zone)
        self.zone_rect = (
            (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
            if len(xs)
            else (0, 0, width, height)
        )
        self.width, self.height = width, height
        self._kernel = np.ones((3, 3), np.uint8)
        self._background: npt.NDArray[np.float32] | None = None
        self._start: float | None = None
        self._busy_since: float | None = None

    def reset(self) -> None:
        """Forget the background (after a reconnect)."""
        self._background = None
        self._start = None
        self._busy_since = None

    def update(self, grey: GreyImage, t: float) -> MotionResult:
        """Analyse one grey frame taken at stream time ``t`` seconds."""
        image = grey.astype(np.float32)
        band = cv2.GaussianBlur(image, (3, 3), 0) - cv2.blur(image, (_BAND_KERNEL, _BAND_KERNEL))
        if self._background is None or self._start is None:
            self._background = band
            self._start = t
            return MotionResult(False, 0.0, None)
        background = self._background
        changed = (cv2.absdiff(band, background) > self.threshold).astype(np.uint8)
        changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, self._kernel).astype(np.uint8)
        warming = t - self._start < self.warmup
        cv2.accumulateWeighted(band, background, _WARMUP_ALPHA if warming else self.alpha)
        if warming:
            return MotionResult(False, 0.0, None)
        if changed.mean() >= self.recal_area:
            if self._busy_since is None:
                self._busy_since = t
            if t - self._busy_since >= self.recal_seconds:
                self._background = band
                self._busy_since = None
        else:
            self._busy_since = None
        x0, y0, x1, y1 = self.zone_rect
        inside = changed[y0:y1, x0:x1] & self.zone[y0:y1, x0:x1]
        count = int(np.count_nonzero(inside))
        area = count / self.zone_pixels
        if count == 0 or area < self.min_area:
            return MotionResult(False, area, None)
        ys, xs = np.nonzero(inside)
        box = (
            (x0 + int(xs.min())) / self.width,
            (y0 + int(ys.min())) / self.height,
            (int(xs.max()) - int(xs.min()) + 1) / self.width,
            (int(ys.max()) - int(ys.min()) + 1) / self.height,
        )
        return MotionResult(True, area, box)
