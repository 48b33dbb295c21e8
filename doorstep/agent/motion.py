"""Motion detection on a small grey frame, built to ignore the classic false alarms.

Each analysed frame is high-pass filtered (the frame minus a wide box blur), so
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
from av.video.frame import VideoFrame

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


def grey_thumbnail(frame: VideoFrame, width: int, height: int) -> GreyImage:
    """The frame's luma scaled to the analysis size: a view of the Y plane, no conversion."""
    if frame.format.name.startswith(("yuv", "yuvj", "nv12", "nv21", "gray")):
        plane = frame.planes[0]
        luma = np.frombuffer(memoryview(plane), np.uint8).reshape(frame.height, plane.line_size)
        return cv2.resize(luma[:, : frame.width], (width, height), interpolation=cv2.INTER_AREA)
    return frame.reformat(width=width, height=height, format="gray").to_ndarray()


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
        x0, y0, x1, y1 = self.zone_rect
        # A rectangular zone needs no per-pixel mask at all.
        self._zone_u8 = None if zone[y0:y1, x0:x1].all() else zone[y0:y1, x0:x1].astype(np.uint8)
        self._kernel = np.ones((3, 3), np.uint8)
        self._background: npt.NDArray[Any] | None = None
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
        band = cv2.subtract(image, cv2.blur(image, (_BAND_KERNEL, _BAND_KERNEL)))
        if self._background is None or self._start is None:
            self._background = band
            self._start = t
            return MotionResult(False, 0.0, None)
        background = self._background
        diff = cv2.absdiff(band, background)
        binary = cv2.threshold(diff, self.threshold, 1, cv2.THRESH_BINARY)[1].astype(np.uint8)
        changed: npt.NDArray[Any] = cv2.morphologyEx(binary, cv2.MORPH_OPEN, self._kernel)
        warming = t - self._start < self.warmup
        cv2.accumulateWeighted(band, background, _WARMUP_ALPHA if warming else self.alpha)
        if warming:
            return MotionResult(False, 0.0, None)
        if cv2.countNonZero(changed) >= self.recal_area * changed.size:
            if self._busy_since is None:
                self._busy_since = t
            if t - self._busy_since >= self.recal_seconds:
                self._background = band
                self._busy_since = None
        else:
            self._busy_since = None
        x0, y0, x1, y1 = self.zone_rect
        inside: npt.NDArray[Any] = changed[y0:y1, x0:x1]
        if self._zone_u8 is not None:
            inside = cv2.bitwise_and(inside, self._zone_u8)
        count = cv2.countNonZero(inside)
        area = count / self.zone_pixels
        if count == 0 or area < self.min_area:
            return MotionResult(False, area, None)
        bx, by, bw, bh = cv2.boundingRect(inside)
        box = ((x0 + bx) / self.width, (y0 + by) / self.height, bw / self.width, bh / self.height)
        return MotionResult(True, area, box)
