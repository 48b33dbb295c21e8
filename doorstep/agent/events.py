"""The event state machine: when motion becomes an event, and when the event ends.

An event starts after ``motion_min_frames`` consecutive analysed frames with motion,
at the first of them. It ends once no motion has been seen for ``event_gap``
seconds; its end time is the last motion plus the gap (the moment it was known to be
over), or the end of the video. A caller may split a long event: the running event
ends and a new one starts at the same instant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from doorstep.agent.motion import Box, MotionResult

EVENT_NAMESPACE = uuid.UUID("6f1d3c1e-7c2b-4a53-9b55-3f0f0b3c8d21")


@dataclass
class Event:
    """One motion event; times are seconds of stream time, ``wall_base`` maps them to UTC."""

    id: str
    start: float
    last_motion: float
    wall_base: float
    end: float | None = None
    label: str = "motion"
    score: float = 0.0
    box: Box | None = None
    peak_area: float = 0.0
    detected_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)
    """Every label recognised during the event (``label`` is the best one)."""
    zones: list[str] = field(default_factory=list)
    """The named zones the motion entered, in the order it entered them."""

    def iso(self, t: float) -> str:
        return datetime.fromtimestamp(self.wall_base + t, UTC).isoformat(timespec="milliseconds")

    def payload(self, kind: str | None = None) -> dict[str, Any]:
        """The event as the hub, MQTT and webhooks see it."""
        data: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "score": round(self.score, 4),
            "start_time": self.iso(self.start),
            "end_time": self.iso(self.end) if self.end is not None else None,
            "box": [round(v, 4) for v in self.box] if self.box else None,
            "labels": sorted((self.labels | {self.label}) - {"motion"}),
            "zones": list(self.zones),
        }
        if kind is not None:
            data = {"type": kind, **data}
        return data


def event_id(source: str, start: float) -> str:
    """Deterministic per source and start, so a re-run of a file reuses the same ids."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{source}|{start:.3f}"))


class EventTracker:
    """Turns per-frame motion into started and ended events."""

    def __init__(self, source: str, wall_base: float, gap: float, min_frames: int) -> None:
        self.source = source
        self.wall_base = wall_base
        self.gap = gap
        self.min_frames = min_frames
        self.current: Event | None = None
        self._streak: list[float] = []

    def update(self, t: float, result: MotionResult) -> tuple[Event | None, Event | None]:
        """Feed one analysed frame; returns (event that ended, event that started)."""
        ended: Event | None = None
        started: Event | None = None
        event = self.current
        if event is not None and not result.motion and t - event.last_motion >= self.gap:
            ended = self.finish(event.last_motion + self.gap)
            event = None
        if result.motion:
            self._streak.append(t)
            if event is not None:
                event.last_motion = t
                self._grow(event, result)
            elif len(self._streak) >= self.min_frames:
                started = self._start(self._streak[0], t, result)
        else:
            self._streak.clear()
        return ended, started

    @property
    def confirming(self) -> bool:
        """Motion was seen but not yet for ``min_frames`` analysed frames: no event yet."""
        return self.current is None and bool(self._streak)

    def split(self, t: float) -> tuple[Event, Event]:
        """End the current event at ``t`` and continue with a new one (clip length cap)."""
        old = self.current
        assert old is not None
        new = Event(
            event_id(self.source, self.wall_base + t),
            t,
            t,
            self.wall_base,
            label=old.label,
            score=old.score,
        )
        new.box = old.box
        new.labels = {old.label} - {"motion"}
        self.finish(t)
        self.current = new
        return old, new

    def finish(self, t: float) -> Event:
        """End the current event at stream time ``t`` (gap elapsed or the stream ended)."""
        event = self.current
        assert event is not None
        event.end = max(t, event.start)
        self.current = None
        self._streak.clear()
        return event

    def _start(self, start: float, t: float, result: MotionResult) -> Event:
        event = Event(event_id(self.source, self.wall_base + start), start, t, self.wall_base)
        self._grow(event, result)
        self.current = event
        return event

    @staticmethod
    def _grow(event: Event, result: MotionResult) -> None:
        event.zones.extend(z for z in result.zones if z not in event.zones)
        if result.area > event.peak_area:
            event.peak_area = result.area
            if event.label == "motion":
                event.score = min(1.0, 0.5 + result.area)
        if result.box is not None:
            if event.box is None:
                event.box = result.box
            else:
                x0 = min(event.box[0], result.box[0])
                y0 = min(event.box[1], result.box[1])
                x1 = max(event.box[0] + event.box[2], result.box[0] + result.box[2])
                y1 = max(event.box[1] + event.box[3], result.box[1] + result.box[3])
                event.box = (x0, y0, x1 - x0, y1 - y0)
