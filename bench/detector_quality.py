"""Label-level quality of the agent's object detector on real footage (issue 15).

``agent_quality.py`` counts every frame inside any event whatever its label; this script
measures what the detector itself says:

1. **PETS09-S2L1 boxes.** The agent runs over ``vtest_h264.mp4`` as configured (whole
   frame as the zone, so the detector looks wherever people move) and every call of its
   detector is recorded: the frame (by stream time), the motion regions it was given and
   the labelled boxes it returned. The detector is loaded with the lowest threshold
   measured, so one run serves every threshold. On those frames, ``person`` boxes are
   matched to ``gt.txt`` boxes at IoU >= 0.5 (greedy, best score first; decoded frame k =
   gt frame k+1; gt rows flagged 0, a few tiny far-away people, are "don't care": a box on
   one is neither right nor wrong). Precision and recall at each threshold against:
   *every* person of the frame (end to end: people no motion region covered are misses)
   and the people *in reach* (centre inside a motion region the detector was given: the
   detector alone). The same frames through the detector as one whole-frame inference
   (no regions: the frame squashed to 300x300) show what cropping around motion adds.
2. **PETS09 visits** (agent_quality's zone x 450-768, y 300-576, ``event_gap`` 1 s): the
   8 person visits, each with an event labelled ``person``.
3. **traffic_camera.mp4** (its ROI as the zone, ``event_gap`` 2 s): the 3 reference
   events found (within 25 frames), each labelled ``vehicle``.
4. **issue53_brightness_change.avi**: no event (and no detector call).

    python bench/detector_quality.py [--media ../shared/media] [--thresholds 0.3,0.4,0.5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from agent_quality import (
    PETS_REGION,
    PETS_SIZE,
    TRAFFIC_REFERENCE,
    TRAFFIC_ROI,
    event_frames,
    pets_labels,
    rect_zone,
    runs,
)

from doorstep.agent.config import load_config
from doorstep.agent.outbox import Outbox
from doorstep.agent.runner import Agent
from doorstep.agent.source import Chunk, PyAVSource, Wanted

PixelBox = tuple[float, float, float, float]  # x, y, w, h in pixels
IOU_MATCH = 0.5


# -- ground truth and matching ---------------------------------------------------------------
@dataclass(frozen=True)
class Truth:
    """A ground-truth person: its box in pixels and whether it counts (gt flag 1)."""

    box: PixelBox
    counted: bool


def read_gt(path: Path) -> dict[int, list[Truth]]:
    """gt.txt (MOTChallenge CSV ``frame,id,x,y,w,h,flag,...``) by decoded frame (gt frame - 1)."""
    frames: dict[int, list[Truth]] = {}
    for line in path.read_text().splitlines():
        parts = line.split(",")
        if len(parts) < 7:
            continue
        box = (float(parts[2]), float(parts[3]), float(parts[4]), float(parts[5]))
        frames.setdefault(int(parts[0]) - 1, []).append(Truth(box, parts[6].strip() != "0"))
    return frames


def iou(a: PixelBox, b: PixelBox) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Counts:
    """True positives, false positives and persons to find (recall's denominator)."""

    tp: int = 0
    fp: int = 0
    positives: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.positives += other.positives

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.positives if self.positives else 1.0

    def __str__(self) -> str:
        return (
            f"precision {self.precision:.3f} recall {self.recall:.3f} "
            f"(TP {self.tp}, FP {self.fp}, FN {self.positives - self.tp})"
        )


def match(
    boxes: Sequence[tuple[PixelBox, float]], truths: Sequence[Truth], cares: Sequence[bool]
) -> Counts:
    """Greedy matching at IoU >= 0.5, highest score first (the PASCAL VOC rule).

    ``cares[i]`` says whether truth i is to be found; a box matched to a truth that is
    not (a gt "don't care", or out of the detector's reach) is neither right nor wrong.
    """
    counts = Counts(positives=sum(cares))
    taken = [False] * len(truths)
    for box, _ in sorted(boxes, key=lambda b: -b[1]):
        best, best_iou = -1, IOU_MATCH
        for i, truth in enumerate(truths):
            overlap = iou(box, truth.box)
            if not taken[i] and overlap >= best_iou:
                best, best_iou = i, overlap
        if best < 0:
            counts.fp += 1
        else:
            taken[best] = True
            if cares[best]:
                counts.tp += 1
    return counts


def centre_in(box: PixelBox, regions: Sequence[PixelBox]) -> bool:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return any(r[0] <= cx <= r[0] + r[2] and r[1] <= cy <= r[1] + r[3] for r in regions)


# -- recording the agent's detector calls ----------------------------------------------------
@dataclass
class Call:
    """One detector call in the running agent: the frame, its regions and what it found."""

    frame: int
    size: tuple[int, int]  # width, height
    regions: list[PixelBox]
    found: list[tuple[str, PixelBox, float]]  # label, box in pixels, score
    image: Any = None  # the RGB frame, kept for the whole-frame comparison


@dataclass
class Recorder:
    """What the detector was asked and answered, and which frame the agent was on."""

    fps: float
    keep_images: bool = False
    current_t: float | None = None
    calls: list[Call] = field(default_factory=list)
    seconds: float = 0.0


class TrackedSource(PyAVSource):
    """A PyAVSource that tells the recorder which frame the agent is looking at.

    The agent's loop is single-threaded and runs the detector while handling a frame,
    so the frame most recently handed out is the one being detected on.
    """

    def __init__(self, url: str, recorder: Recorder) -> None:
        super().__init__(url, decode_threads=1)
        self.recorder = recorder

    def chunks(self, wanted: Wanted | None = None) -> Iterator[Chunk]:
        for chunk in super().chunks(wanted):
            chunk.frames = _Frames(chunk.frames, self.recorder)
            yield chunk


class _Frames(list[Any]):
    def __init__(self, frames: list[Any], recorder: Recorder) -> None:
        super().__init__(frames)
        self._recorder = recorder

    def __iter__(self) -> Iterator[Any]:
        for frame in list.__iter__(self):
            self._recorder.current_t = frame.time
            yield frame


class RecordingDetector:
    """Wraps the real detector; records each call (same results, same cost)."""

    def __init__(self, inner: Any, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def detect(self, frame: Any, regions: list[Any]) -> list[Any]:
        started = time.perf_counter()
        found = self.inner.detect(frame, regions)
        self.recorder.seconds += time.perf_counter() - started
        h, w = frame.shape[:2]
        t = self.recorder.current_t
        self.recorder.calls.append(
            Call(
                frame=round((t or 0.0) * self.recorder.fps),
                size=(w, h),
                regions=[_pixels(r, w, h) for r in regions],
                found=[(d.label, _pixels(d.box, w, h), d.score) for d in found],
                image=frame.copy() if self.recorder.keep_images else None,
            )
        )
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _pixels(box: Sequence[float], w: int, h: int) -> PixelBox:
    return (box[0] * w, box[1] * h, box[2] * w, box[3] * h)


def run_recorded(
    config: Any, video: Path, recorder: Recorder, detector: Any
) -> tuple[Any, list[Call]]:
    """Run the agent over ``video`` with ``detector`` recorded; the run's result and calls."""
    agent = Agent(
        config,
        TrackedSource(str(video), recorder),
        outbox=Outbox(config.data_dir),
        detector=RecordingDetector(detector, recorder),
    )
    try:
        return agent.run(), recorder.calls
    finally:
        agent.outbox.close()


def load(min_score: float) -> Any:
    from doorstep.agent.detector import load_detector

    return load_detector(min_score=min_score)


# -- the measures ----------------------------------------------------------------------------
def pets_boxes(media: Path, data_dir: Path, thresholds: list[float]) -> None:
    video = media / "pets09-s2l1" / "vtest_h264.mp4"
    gt = read_gt(media / "pets09-s2l1" / "gt.txt")
    lowest = min(thresholds)
    detector = load(lowest)
    recorder = Recorder(fps=10.0, keep_images=True)
    config = load_config(data_dir=data_dir / "pets_boxes", event_gap=1.0, decode_threads=1)
    started = time.perf_counter()
    result, calls = run_recorded(config, video, recorder, detector)
    wall = time.perf_counter() - started
    inferences = getattr(detector, "inferences", 0)
    frames = sorted({c.frame for c in calls})
    regions = [len(c.regions) for c in calls]
    print(
        f"PETS boxes: {result.frames} frames, {result.analysed} analysed, {len(calls)} detector "
        f"calls on {len(frames)} frames ({len(calls) / max(1, result.frames) * 100:.0f}% of "
        f"frames), regions per call mean {np.mean(regions):.2f} max {max(regions, default=0)}; "
        f"{inferences} inferences ({inferences / max(1, len(calls)):.2f} crops per call), "
        f"detector {recorder.seconds / max(1, len(calls)) * 1000:.1f} ms per call, "
        f"run {wall:.1f} s; {len(result.events)} events"
    )
    whole: dict[int, list[tuple[str, PixelBox, float]]] = {}
    whole_seconds = 0.0
    for call in calls:
        if call.frame not in whole and call.image is not None:
            t0 = time.perf_counter()
            found = detector.detect(call.image, [])  # the whole frame, one inference
            whole_seconds += time.perf_counter() - t0
            w, h = call.size
            whole[call.frame] = [(d.label, _pixels(d.box, w, h), d.score) for d in found]
        call.image = None
    for threshold in thresholds:
        every, reach, full = Counts(), Counts(), Counts()
        labels: dict[str, int] = {}
        for call in calls:
            truths = gt.get(call.frame, [])
            boxes = [(b, s) for label, b, s in call.found if label == "person" and s >= threshold]
            for label, _, s in call.found:
                if s >= threshold:
                    labels[label] = labels.get(label, 0) + 1
            every.add(match(boxes, truths, [t.counted for t in truths]))
            in_reach = [t.counted and centre_in(t.box, call.regions) for t in truths]
            reach.add(match(boxes, truths, in_reach))
        for frame, found in whole.items():
            truths = gt.get(frame, [])
            boxes = [(b, s) for label, b, s in found if label == "person" and s >= threshold]
            full.add(match(boxes, truths, [t.counted for t in truths]))
        print(f"PETS boxes, score >= {threshold:.2f}: labels {dict(sorted(labels.items()))}")
        print(f"  every person in the frame:     {every}")
        print(f"  people in the motion regions:  {reach}")
        print(f"  whole frame, one inference:     {full}")
    print(
        f"PETS boxes: whole-frame detector {whole_seconds / max(1, len(whole)) * 1000:.1f} ms "
        f"per frame over {len(whole)} frames"
    )


def pets_visits(media: Path, data_dir: Path) -> None:
    video = media / "pets09-s2l1" / "vtest_h264.mp4"
    recorder = Recorder(fps=10.0)
    config = load_config(
        zones=[rect_zone(*PETS_REGION, *PETS_SIZE)], event_gap=1.0, data_dir=data_dir / "visits"
    )
    result, calls = run_recorded(config, video, recorder, load(config_score(config)))
    labels = pets_labels(media / "pets09-s2l1" / "gt.txt", result.frames)
    events = event_frames(result.events, 10.0)
    visits = runs(labels)
    hit = [
        any(s <= v1 and e >= v0 and label == "person" for s, e, label in events)
        for v0, v1 in visits
    ]
    print(f"PETS visits: events {_listed(events, result.events)}")
    print(f"PETS visits: visits {visits}; {len(calls)} detector calls")
    print(f"PETS visits: person visits with a person event {sum(hit)}/{len(visits)}")


def traffic(media: Path, data_dir: Path) -> None:
    w, h = 1280, 720
    x, y, rw, rh = TRAFFIC_ROI
    recorder = Recorder(fps=25.0)
    config = load_config(
        zones=[rect_zone(x, y, x + rw, y + rh, w, h)], event_gap=2.0, data_dir=data_dir / "traffic"
    )
    result, calls = run_recorded(
        config, media / "dvrscan" / "traffic_camera.mp4", recorder, load(config_score(config))
    )
    events = event_frames(result.events, 25.0)
    found = labelled = 0
    for rs, re in TRAFFIC_REFERENCE:
        near = [label for s, e, label in events if abs(s - rs) <= 25 and abs(e - re) <= 25]
        found += bool(near)
        labelled += "vehicle" in near
    seen: dict[str, int] = {}
    for call in calls:
        for label, _, _ in call.found:
            seen[label] = seen.get(label, 0) + 1
    print(
        f"traffic_camera: events {_listed(events, result.events)}; "
        f"reference {TRAFFIC_REFERENCE}; found {found}/3, labelled vehicle {labelled}/3; "
        f"{len(calls)} detector calls, boxes by label {seen}"
    )


def brightness(media: Path, data_dir: Path) -> None:
    recorder = Recorder(fps=12.0)
    config = load_config(data_dir=data_dir / "issue53")
    result, calls = run_recorded(
        config,
        media / "dvrscan" / "issue53_brightness_change.avi",
        recorder,
        load(config_score(config)),
    )
    print(
        f"issue53_brightness_change: {len(result.events)} events (expected 0), "
        f"{len(calls)} detector calls"
    )


def config_score(config: Any) -> float:
    """The agent's own threshold (``detect_min_score``), as ``run_agent`` would load it."""
    return float(getattr(config, "detect_min_score", 0.4))


def _listed(frames: list[tuple[int, int, str]], events: list[Any]) -> list[Any]:
    """Each event as (first frame, last frame, label, labels seen)."""
    return [(*f, e.payload().get("labels")) for f, e in zip(frames, events, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--media", type=Path, default=Path(__file__).parents[2] / "shared" / "media"
    )
    parser.add_argument("--thresholds", default="0.3,0.4,0.5")
    parser.add_argument(
        "--only", choices=["boxes", "visits", "traffic", "brightness"], action="append"
    )
    args = parser.parse_args()
    cv2.setNumThreads(1)
    thresholds = sorted(float(v) for v in args.thresholds.split(","))
    only = set(args.only or ["boxes", "visits", "traffic", "brightness"])
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        if "boxes" in only:
            pets_boxes(args.media, data, thresholds)
        if "visits" in only:
            pets_visits(args.media, data)
        if "traffic" in only:
            traffic(args.media, data)
        if "brightness" in only:
            brightness(args.media, data)


if __name__ == "__main__":
    main()
