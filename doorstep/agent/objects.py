"""The detect-and-track stage between motion and events.

On an analysed frame with motion it runs the detector on the motion (at most
``detect_fps`` inferences a second), feeds the tracker (``tracking``), and says how
events should see the frame:

- motion that lies only on stationary objects (a parked car's hazard lights, its
  reflections, the background still learning it) is no motion: it neither starts an
  event nor keeps one open, while motion anywhere else still does;
- while an event runs, the detector also looks where people are being followed, and a
  person seen standing in the zone (feet inside it) keeps the event open although a
  still person soon makes no motion;
- the things it reports for labels are the active (not stationary) tracks seen in this
  inference, each with its best score so far, so an event's label is its best tracked
  object's and a parked car labels nothing new.

Motion explained by stationary objects is checked at most once a second (does the
thing stay, has something joined it), not at ``detect_fps``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from doorstep.agent.detector import Detection, Detector, as_rgb
from doorstep.agent.motion import MotionResult
from doorstep.agent.tracking import Box, Track, Tracker

RECENT_SECONDS = 1.0
"""How far back a new event takes its first label from (its motion's confirmation)."""
STATIONARY_CHECK = 1.0
"""Seconds between inferences while all motion is on stationary objects."""


class ObjectStage:
    """One camera's detector and tracker, and the rule of what motion counts."""

    def __init__(
        self,
        detector: Detector | None,
        zone: NDArray[np.bool_],
        *,
        detect_fps: float,
        stationary_seconds: float,
    ) -> None:
        self.detector = detector
        self.zone = zone
        self.detect_fps = detect_fps
        self.tracker = Tracker(stationary_seconds)
        self._next = 0.0  # stream time of the next inference allowed

    def look(
        self, frame: Any, t: float, result: MotionResult, event_open: bool
    ) -> tuple[MotionResult, list[Detection]]:
        """The frame's motion as events should count it, and the active things seen now."""
        if self.detector is None:
            return result, []
        explained = result.box is not None and self.tracker.explains([result.box])
        active = self.tracker.active() if event_open else []
        people = [track.box for track in active if track.label == "person"]
        regions = ([result.box] if result.box is not None else []) + people
        seen: list[Track] = []
        if regions and t >= self._next:
            before = getattr(self.detector, "inferences", None)
            found = self.detector.detect(as_rgb(frame), regions)
            after = getattr(self.detector, "inferences", None)
            spent = after - before if isinstance(before, int) and isinstance(after, int) else 1
            rate = 1 / STATIONARY_CHECK if explained and not people else self.detect_fps
            self._next = t + max(1, spent) / max(rate, 1e-9)
            tracks = self.tracker.update(found, t, regions)
            seen = [track for track in tracks if track.last_seen == t and not track.stationary]
            explained = result.box is not None and self.tracker.explains([result.box])
        if result.motion and explained:
            result = MotionResult(False, 0.0, None)
        elif not result.motion and event_open:
            standing = [track for track in seen if track.label == "person" and self._inside(track)]
            if standing:
                box = max(standing, key=lambda track: track.best_score).box
                result = replace(result, motion=True, box=box)
        return result, [Detection(track.label, track.best_score, track.box) for track in seen]

    def recent(self, t: float, within: float = RECENT_SECONDS) -> list[Detection]:
        """The active things seen in the last ``within`` seconds: what a new event saw
        while its motion was being confirmed (the inference budget was spent then, so the
        next one may be 200-400 ms away)."""
        return [
            Detection(track.label, track.best_score, track.box)
            for track in self.tracker.active()
            if track.last_seen >= t - within and not track.stationary
        ]

    def _inside(self, track: Track) -> bool:
        """Whether the track's feet (its box's bottom centre) are in the motion zone."""
        return feet_in(self.zone, track.box)


def feet_in(zone: NDArray[np.bool_], box: Box) -> bool:
    """Whether a box's bottom centre lies in the zone mask (at the mask's resolution)."""
    height, width = zone.shape
    x = min(width - 1, max(0, int((box[0] + box[2] / 2) * width)))
    y = min(height - 1, max(0, int((box[1] + box[3]) * height) - 1))
    return bool(zone[y, x])
