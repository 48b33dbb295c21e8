"""Which frames motion analysis looks at: ``analysis_fps`` of them a second, on a grid.

The first frame at or after each tick of a grid of ``1 / analysis_fps`` seconds from
the first frame is analysed. Because that depends only on a frame's own time and the
one shown before it, the source can be told before decoding which frames will be
analysed (``wanted``) and let the decoder drop the others it can.

While motion waits for confirmation (``motion_min_frames``), the runner sets ``hurry``
and every frame is analysed: a short passage is then confirmed whatever the phase of
the grid (a car crossing a zone in 0.4 s is seen in two frames 40 ms apart, not in
one, or two, 200 ms apart depending on luck), and the notification goes out a frame
after motion starts instead of a grid period after.
"""

from __future__ import annotations

import math

_EPSILON = 1e-6  # seconds: frame times are rounded, a frame on a tick belongs to it


class AnalysisSchedule:
    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self._origin: float | None = None
        self._last_tick = 0
        self.hurry = False

    def _tick(self, t: float) -> int:
        assert self._origin is not None
        return math.floor((t - self._origin) / self.period + _EPSILON)

    def due(self, t: float) -> bool:
        """Whether the decoded frame at ``t`` s is analysed; frames come in time order."""
        if self._origin is None:
            self._origin = t
            return True
        tick = self._tick(t)
        if tick <= self._last_tick and not self.hurry:
            return False
        self._last_tick = max(tick, self._last_tick)
        return True

    def wanted(self, t: float, previous: float) -> bool:
        """Whether a frame at ``t`` s, shown after one at ``previous`` s, will be analysed.

        ``due`` analyses a frame when its tick is past the last analysed frame's, and
        that is always the tick of the frame before it: the same test, before decoding.
        """
        if self._origin is None or self.hurry:
            return True  # the grid starts at the first decoded frame
        return self._tick(t) > self._tick(previous)
