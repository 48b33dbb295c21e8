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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from av.video.frame import VideoFrame
from av.video.reformatter import ColorRange, Interpolation, VideoReformatter

from doorstep.agent.config import AgentConfig

GreyImage = npt.NDArray[Any]
Box = tuple[float, float, float, float]

_BAND_KERNEL = 15
_WARMUP_ALPHA = 0.5
# Pixel formats whose first plane is the 8-bit luma, usable as the grey image as it is.
_LUMA_FIRST = ("yuv", "yuvj", "nv12", "nv21", "gray")
_SWS_AREA = Interpolation.AREA | Interpolation.ACCURATE_RND


@dataclass(frozen=True)
class MotionResult:
    """Motion in one analysed frame: the share of the zone that moved and where."""

    motion: bool
    area: float
    box: Box | None
    zones: tuple[str, ...] = ()
    """Names of the zones the motion is in (:func:`zone_names`); none without zones."""


def zone_names(count: int) -> list[str]:
    """The names of an agent's zones, by the order they were drawn: ``zone1``, ``zone2``...

    Events list the zones their motion entered by these names, and notification rules
    and MQTT sensors use them (docs/agent.md, "Labels and zones").
    """
    return [f"zone{i}" for i in range(1, count + 1)]


class Thumbnailer:
    """Scales frames' luma to one analysis size with area averaging (OpenCV's INTER_AREA).

    OpenCV's INTER_AREA is slow except at a ratio of 2 (SIMD): ~0.6 ms a frame at 4
    (1280 -> 320) and ~1.5 ms at 2.4 (768 -> 320), as much as decoding. So a ratio of
    4 or 8 is done as repeated halvings, and a non-integer ratio with libswscale's area
    filter (accurate rounding, one thread), ~0.1 and ~0.2 ms. Either is used only after
    it matched INTER_AREA within one grey level on the first frame (else INTER_AREA
    itself), so the detector sees the same image. Buffers are reused (a fresh image of
    this size is mmapped and page-faulted each time), so a caller must use the returned
    image before the next call.
    """

    def __init__(self, width: int, height: int) -> None:
        self.size = (width, height)
        self._out = np.empty((height, width), np.uint8)
        self._reformatter = VideoReformatter()
        self._scale: Callable[[GreyImage], GreyImage] | None = None  # chosen on the first frame
        self._source: VideoFrame | None = None
        self._direct = False  # swscale straight from the decoded frame (chosen on the first)
        self._small: VideoFrame | None = None  # owns the plane the last direct call returned
        self._format = ""  # the pixel format of the last frame, and whether its plane 0 is
        self._luma_8bit = False  # the 8-bit luma (a stream keeps its format; checked once)

    def __call__(self, frame: VideoFrame) -> GreyImage:
        name = frame.format.name
        if name != self._format:
            self._format, self._luma_8bit = name, _luma_is_8bit_plane(frame)
        if not self._luma_8bit:
            # 10-bit, RGB, paletted...: swscale makes 8-bit grey; no range conversion, as
            # the 8-bit luma is used as it is.
            width, height = self.size
            return frame.reformat(
                width=width,
                height=height,
                format="gray",
                interpolation=_SWS_AREA,
                src_color_range=ColorRange.JPEG,
                dst_color_range=ColorRange.JPEG,
            ).to_ndarray()
        if self._direct:
            return self._swscale_frame(frame)
        luma = _plane_view(frame, 0)
        if self._scale is None:
            self._scale = self._choose(frame, luma)
            if self._direct:
                return self._swscale_frame(frame)
        return self._scale(luma)

    def _choose(self, frame: VideoFrame, luma: GreyImage) -> Callable[[GreyImage], GreyImage]:
        """The fastest way that reproduces INTER_AREA on this frame within one grey level."""
        height, width = luma.shape
        ratio_x, ratio_y = width / self.size[0], height / self.size[1]
        reference = cv2.resize(luma, self.size, interpolation=cv2.INTER_AREA)

        def matches(image: GreyImage) -> bool:
            return int(cv2.absdiff(image, reference).max()) <= 1

        if ratio_x == ratio_y and ratio_x in (4, 8):
            return self._halvings if matches(self._halvings(luma)) else self._opencv
        if ratio_x.is_integer() and ratio_y.is_integer():
            return self._opencv
        # Scaling the decoded frame's luma directly saves copying it (and the result).
        if matches(self._swscale_frame(frame)):
            self._direct = True
            return self._swscale
        return self._swscale if matches(self._swscale(luma)) else self._opencv

    def _opencv(self, luma: GreyImage) -> GreyImage:
        return cv2.resize(luma, self.size, dst=self._out, interpolation=cv2.INTER_AREA)

    def _halvings(self, luma: GreyImage) -> GreyImage:
        image = luma
        while image.shape[1] > 2 * self.size[0]:
            half = (image.shape[1] // 2, image.shape[0] // 2)
            image = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
        return cv2.resize(image, self.size, dst=self._out, interpolation=cv2.INTER_AREA)

    def _swscale_frame(self, frame: VideoFrame) -> GreyImage:
        """The frame's luma scaled by libswscale, read from the decoded frame in place.

        Both ranges are given as full ("JPEG"), so swscale only scales the luma (no range
        conversion, no chroma: the output is grey). The result is a view of a frame this
        object keeps until the next call.
        """
        self._small = self._reformatter.reformat(
            frame,
            self.size[0],
            self.size[1],
            format="gray",
            interpolation=_SWS_AREA,
            src_color_range=ColorRange.JPEG,
            dst_color_range=ColorRange.JPEG,
            threads=1,
        )
        return _plane_view(self._small, 0)

    def _swscale(self, luma: GreyImage) -> GreyImage:
        height, width = luma.shape
        if self._source is None or (self._source.width, self._source.height) != (width, height):
            # An untagged grey frame: swscale only scales, no range or colour conversion.
            self._source = VideoFrame(width, height, "gray")
        np.copyto(_plane_view(self._source, 0), luma)
        small = self._reformatter.reformat(
            self._source, self.size[0], self.size[1], interpolation=_SWS_AREA, threads=1
        )
        np.copyto(self._out, _plane_view(small, 0))
        return self._out


def _luma_is_8bit_plane(frame: VideoFrame) -> bool:
    """Whether the frame's first plane is its luma at 8 bits, usable as a grey image."""
    luma = frame.format.components[0]
    return frame.format.name.startswith(_LUMA_FIRST) and luma.plane == 0 and luma.bits == 8


def _plane_view(frame: VideoFrame, index: int) -> GreyImage:
    """An 8-bit plane of the frame as a (height, width) array, without copying."""
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


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
        # Each named zone's own mask over the zone rectangle, to tell which ones motion entered.
        self._named = [
            (name, (polygon_mask([polygon], width, height) & zone)[y0:y1, x0:x1].astype(np.uint8))
            for name, polygon in zip(zone_names(len(config.zones)), config.zones, strict=True)
        ]
        self._kernel = np.ones((3, 3), np.uint8)
        # Work images reused on every frame (see Thumbnailer): cv2 writes into them in place.
        self._band = np.empty((height, width), np.float32)
        self._diff = np.empty((height, width), np.float32)
        self._binary = np.empty((height, width), np.bool_)
        self._changed = np.empty((height, width), np.uint8)
        self._background: GreyImage | None = None
        self._start: float | None = None
        self._busy_since: float | None = None

    def reset(self) -> None:
        """Forget the background (after a reconnect)."""
        self._background = None
        self._start = None
        self._busy_since = None

    def update(self, grey: GreyImage, t: float) -> MotionResult:
        """Analyse one grey frame taken at stream time ``t`` seconds."""
        band = self._band_pass(grey)
        if self._background is None or self._start is None:
            self._background = band.copy()
            self._start = t
            return MotionResult(False, 0.0, None)
        changed = self._changed_pixels(band, self._background)
        warming = t - self._start < self.warmup
        cv2.accumulateWeighted(band, self._background, _WARMUP_ALPHA if warming else self.alpha)
        if warming:
            return MotionResult(False, 0.0, None)
        self._recalibrate(changed, band, t)
        return self._zone_motion(changed)

    def _band_pass(self, grey: GreyImage) -> GreyImage:
        """The frame minus its 15x15 box blur: light changes cancel, edges remain.

        The blur reads the 8-bit image and writes float directly (integer running sums,
        faster than blurring a float copy; equal to within float rounding).
        """
        band = self._band
        cv2.boxFilter(grey, cv2.CV_32F, (_BAND_KERNEL, _BAND_KERNEL), dst=band)
        return cv2.subtract(grey, band, dst=band, dtype=cv2.CV_32F)

    def _changed_pixels(self, band: GreyImage, background: GreyImage) -> GreyImage:
        """Pixels (1) differing from the background by more than the threshold, opened."""
        cv2.absdiff(band, background, dst=self._diff)
        np.greater(self._diff, self.threshold, out=self._binary)
        binary = self._binary.view(np.uint8)  # 0/1, no copy
        return cv2.morphologyEx(binary, cv2.MORPH_OPEN, self._kernel, dst=self._changed)

    def _recalibrate(self, changed: GreyImage, band: GreyImage, t: float) -> None:
        """Reset the background when most of the frame has changed for a while (scene change)."""
        if cv2.countNonZero(changed) < self.recal_area * changed.size:
            self._busy_since = None
            return
        if self._busy_since is None:
            self._busy_since = t
        if t - self._busy_since >= self.recal_seconds:
            self._background = band.copy()
            self._busy_since = None

    def _zone_motion(self, changed: GreyImage) -> MotionResult:
        """Motion inside the zone: its share of the zone and its bounding box."""
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
        return MotionResult(True, area, box, self._zones_entered(inside))

    def _zones_entered(self, inside: GreyImage) -> tuple[str, ...]:
        """The named zones holding some of this frame's motion (only on motion frames)."""
        if len(self._named) == 1:
            return (self._named[0][0],)  # all motion counted is inside the one zone
        return tuple(
            name for name, mask in self._named if cv2.countNonZero(cv2.bitwise_and(inside, mask))
        )
