"""Object tracking: ids across frames, and which objects have stopped (``stationary``).

The detector says what is in a frame; the tracker says whether it is the same thing as
before. Detections are matched to live tracks greedily by box overlap (IoU), same label
first; a detection that overlaps nothing may still continue a track of its label whose
centre is within one box size (a car at motorway speed moves more than its length
between two inferences at 5 per second). A track ends after ``max_misses`` updates in
which the detector looked at its place and did not find it; where it did not look (no
motion there, so no crop) is no miss, so a parked car stays tracked while nothing moves.

A track is ``stationary`` once its box has not moved for ``stationary_seconds``: moved
means both an IoU below 0.9 with its box when it last moved and a centre shift of 2% of
the frame or more (an SSD box jitters a little on a still object). People are never
stationary: a person standing at the door is still a visit. An object that moves again
is active again. The runner uses stationary tracks to discount the motion they explain
(a parked car's reflections, hazard lights, shadows), as Frigate does.

Pure: no video, no clock; the caller passes stream time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

Box = tuple[float, float, float, float]
"""(x, y, w, h) relative to the whole frame."""

STILL_IOU = 0.9
STILL_SHIFT = 0.02
NEVER_STATIONARY = frozenset({"person"})


class Observation(Protocol):
    """What the tracker needs of a detection (``doorstep.agent.detector.Detection``)."""

    @property
    def label(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def box(self) -> Box: ...


@dataclass
class Track:
    """One object followed across frames; times are stream seconds."""

    id: int
    label: str
    best_score: float
    box: Box
    first_seen: float
    last_moved: float
    stationary: bool = False
    last_seen: float = 0.0
    misses: int = 0
    anchor: Box | None = None
    """The box when the object last moved: stillness is measured against it, so a slow
    crawl adds up and counts as moving."""


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    inter = _intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _intersection(a: Box, b: Box) -> float:
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return ix * iy if ix > 0 and iy > 0 else 0.0


def centre_shift(a: Box, b: Box) -> float:
    """Distance between the boxes' centres, in frame units (1 = the frame's width/height)."""
    return math.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2)


def moved(box: Box, anchor: Box) -> bool:
    """Whether an object at ``box`` has moved from ``anchor`` (its box when it last moved)."""
    return iou(box, anchor) < STILL_IOU and centre_shift(box, anchor) >= STILL_SHIFT


class Tracker:
    """IoU tracker for one camera's detections."""

    def __init__(
        self,
        stationary_seconds: float = 10.0,
        *,
        min_iou: float = 0.2,
        max_misses: int = 5,
    ) -> None:
        self.stationary_seconds = stationary_seconds
        self.min_iou = min_iou
        self.max_misses = max_misses
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(
        self,
        detections: Sequence[Observation],
        t: float,
        regions: Iterable[Box] | None = None,
    ) -> list[Track]:
        """Feed one inference's detections at stream time ``t``; returns the live tracks.

        ``regions`` are the areas the detector looked at (the motion boxes it cropped
        around); a track outside all of them is not missed. None: the whole frame.
        """
        looked = None if regions is None else list(regions)
        matched = self._match(detections)
        seen: set[int] = set()
        for index, track in matched.items():
            self._observe(track, detections[index], t)
            seen.add(track.id)
        for index, det in enumerate(detections):
            if index not in matched:
                track = Track(
                    self._next_id, det.label, det.score, det.box, t, t, last_seen=t, anchor=det.box
                )
                self._next_id += 1
                self.tracks.append(track)
                seen.add(track.id)
        kept = []
        for track in self.tracks:
            if track.id not in seen and (
                looked is None or any(_intersection(track.box, r) > 0 for r in looked)
            ):
                track.misses += 1
            if track.misses <= self.max_misses:
                track.stationary = self._is_stationary(track, t)
                kept.append(track)
        self.tracks = kept
        return list(kept)

    def _match(self, detections: Sequence[Observation]) -> dict[int, Track]:
        """Detection index -> the track it continues (each track at most once)."""
        pairs: list[tuple[int, float, int, Track]] = []
        for track in self.tracks:
            for index, det in enumerate(detections):
                same = int(det.label == track.label)
                overlap = iou(track.box, det.box)
                if overlap >= self.min_iou:
                    pairs.append((1, same + overlap, index, track))
                elif same:
                    size = max(track.box[2], track.box[3], det.box[2], det.box[3])
                    shift = centre_shift(track.box, det.box)
                    if shift < size:
                        pairs.append((0, 1.0 - shift / size, index, track))
        pairs.sort(key=lambda p: (p[0], p[1]), reverse=True)
        matched: dict[int, Track] = {}
        taken: set[int] = set()
        for _, _, index, track in pairs:
            if index in matched or track.id in taken:
                continue
            matched[index] = track
            taken.add(track.id)
        return matched

    def _observe(self, track: Track, det: Observation, t: float) -> None:
        if det.score > track.best_score:
            track.best_score, track.label = det.score, det.label
        track.box = det.box
        track.last_seen = t
        track.misses = 0
        if track.anchor is None or moved(det.box, track.anchor):
            track.anchor = det.box
            track.last_moved = t

    def _is_stationary(self, track: Track, t: float) -> bool:
        return (
            track.label not in NEVER_STATIONARY and t - track.last_moved >= self.stationary_seconds
        )

    # -- what the runner asks ----------------------------------------------------------------
    def active(self) -> list[Track]:
        """Live tracks that are not stationary."""
        return [track for track in self.tracks if not track.stationary]

    def best(self) -> Track | None:
        """The active track with the highest score (an event's label)."""
        return max(self.active(), key=lambda track: track.best_score, default=None)

    def explains(self, boxes: Iterable[Box], margin: float = 0.25) -> bool:
        """Whether every motion box lies inside a stationary track's box, grown by
        ``margin`` of its size on each side: motion only where parked things are
        (their lights, reflections, shadows), which starts no event and keeps none open.
        """
        parked = [_grow(track.box, margin) for track in self.tracks if track.stationary]
        if not parked:
            return False
        listed = list(boxes)
        return bool(listed) and all(
            any(_intersection(box, p) >= 0.9 * box[2] * box[3] for p in parked) for box in listed
        )


def _grow(box: Box, margin: float) -> Box:
    x, y, w, h = box
    return (x - margin * w, y - margin * h, w * (1 + 2 * margin), h * (1 + 2 * margin))
