"""What the object detector costs where cameras run: in real time, on one core.

1. **CPU in real time.** The agent plays a 720p25 file paced like a live camera
   (``realtime``, the agent's ``--realtime``) with detection off and on, alternated; the
   process CPU time over the wall time of the run is its share of one core. Sources:
   ``traffic_camera.mp4`` (1280x720, 25 fps, H.264 with B-frames; whole frame as the zone:
   cars in view nearly all the time) and PETS09 made 720p25 (``vtest_h264.mp4`` scaled to
   960x720, padded to 1280x720, each frame repeated to 25 fps, H.264 without B-frames as
   many IP cameras send it; ffmpeg, into a temporary folder), its zone the person region
   of agent_quality (x 450-768, y 300-576 of the original), ``event_gap`` 1 s
   (``--pets-gap``: a shorter gap splits the visits into more events, more samples for 2).
2. **First ``person`` label** (the PETS run with detection on): the wall time of the
   first notification saying ``person`` (MQTT/webhook ``new`` or ``update``, recorded by
   an in-process notifier) minus (a) the wall time the event's starting frame left the
   decoder (what ``bench/agent_latency.py`` measures to) and (b) the moment the frame in
   which a person entered the region (gt.txt, agent_quality's visits) was due on the
   live clock; (b) includes motion confirmation. Visits that begin while an event is
   already labelled ``person`` are counted apart (their label was there before them).
3. **File replay speed** with detection off and on (not targeted): frames per second of
   the agent over each file as fast as it decodes, one decoder thread.

    python bench/detector_cost.py [--media ../shared/media] [--repeat 2] [--skip pets]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
from agent_quality import PETS_REGION, pets_labels, rect_zone, runs

from doorstep.agent.config import load_config
from doorstep.agent.outbox import Outbox
from doorstep.agent.runner import Agent
from doorstep.agent.source import Chunk, PyAVSource, Wanted

# PETS 768x576 -> 960x720 (x1.25), padded 160 px on each side to 1280x720.
PETS_SCALE, PETS_PAD = 1.25, 160


class PacedSource(PyAVSource):
    """Remembers when the first frame was handed out: the live clock's origin."""

    first_wall: float | None = None
    first_t: float | None = None

    def chunks(self, wanted: Wanted | None = None) -> Iterator[Chunk]:
        for chunk in super().chunks(wanted):
            if self.first_wall is None and chunk.frames and chunk.frames[0].time is not None:
                self.first_wall, self.first_t = time.time(), chunk.frames[0].time
            yield chunk


class LabelTimes:
    """A notifier that records when each event was first published as ``person``."""

    def __init__(self) -> None:
        self.person_at: dict[str, float] = {}
        self.lock = threading.Lock()

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        now = time.time()
        if kind == "event" and payload.get("label") == "person":
            with self.lock:
                self.person_at.setdefault(payload["id"], now)

    def close(self) -> None:
        pass


def detection_settings(on: bool) -> dict[str, Any]:
    """Detection on or off, by the agent's setting (``detection``; before issue 15 the HOG
    person detector's ``person_detection``, so the same script measures the baseline)."""
    from doorstep.agent.config import AgentConfig

    name = "detection" if "detection" in AgentConfig.model_fields else "person_detection"
    return {name: on}


def realtime_run(video: Path, data_dir: Path, on: bool, **settings: Any) -> dict[str, Any]:
    """One paced run: its CPU share of one core, its events and label times."""
    config = load_config(data_dir=data_dir, **detection_settings(on), **settings)
    source = PacedSource(str(video))
    notifier = LabelTimes()
    agent = Agent(config, source, outbox=Outbox(data_dir), notifier=notifier, realtime=True)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        result = agent.run()
    finally:
        agent.outbox.close()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "share": cpu / wall,
        "wall": wall,
        "result": result,
        "source": source,
        "person_at": notifier.person_at,
    }


def pets_720p25(media: Path, folder: Path) -> Path:
    """vtest_h264.mp4 as a 720p25 camera would send it (see the module docstring)."""
    out = folder / "pets_720p25.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-i", str(media / "pets09-s2l1" / "vtest_h264.mp4"),
            "-vf", f"fps=25,scale=960:720,pad=1280:720:{PETS_PAD}:0",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-bf", "0", "-g", "50",
            "-pix_fmt", "yuv420p", str(out),
        ],
        check=True,
    )  # fmt: skip
    return out


def pets_zone() -> list[list[float]]:
    x0, y0, x1, y1 = PETS_REGION
    s, p = PETS_SCALE, PETS_PAD
    return rect_zone(p + x0 * s, y0 * s, p + x1 * s, y1 * s, 1280, 720)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"n {len(values)}, p50 {statistics.median(values):.0f} ms, "
        f"p99 {percentile(values, 0.99):.0f} ms, max {max(values):.0f} ms"
        + (f" (all: {', '.join(f'{v:.0f}' for v in sorted(values))})" if len(values) <= 30 else "")
    )


def latency(run: dict[str, Any], media: Path) -> None:
    """Print the two person-label latencies of a PETS run (see the module docstring)."""
    result, source, person_at = run["result"], run["source"], run["person_at"]
    since_start = [
        (person_at[e.id] - e.detected_at) * 1000 for e in result.events if e.id in person_at
    ]
    labels = pets_labels(media / "pets09-s2l1" / "gt.txt", 795)
    since_entry: list[float] = []
    already = unlabelled = 0
    for v0, _ in runs(labels):
        entered = source.first_wall + v0 / 10.0 - source.first_t
        # The event covering the entry (or starting after it, within the visit's motion).
        covering = [
            e for e in result.events if e.id in person_at and (e.end is None or e.end >= v0 / 10.0)
        ]
        if not covering:
            unlabelled += 1
            continue
        event = min(covering, key=lambda e: e.start)
        if person_at[event.id] <= entered:
            already += 1
            continue
        since_entry.append((person_at[event.id] - entered) * 1000)
    print(
        f"  person label after the event's start frame: {spread(since_start)} "
        f"({len(since_start)} of {len(result.events)} events labelled person)"
    )
    print(
        f"  person label after a person entered the region: {spread(since_entry)}; "
        f"{already} visits began inside an event already labelled person, "
        f"{unlabelled} visits never labelled"
    )


def file_speed(video: Path, data_dir: Path, on: bool) -> float:
    config = load_config(data_dir=data_dir, decode_threads=1, **detection_settings(on))
    agent = Agent(config, PyAVSource(str(video), decode_threads=1), outbox=Outbox(data_dir))
    started = time.perf_counter()
    try:
        result = agent.run()
    finally:
        agent.outbox.close()
    return result.frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--media", type=Path, default=Path(__file__).parents[2] / "shared" / "media"
    )
    parser.add_argument("--repeat", type=int, default=2, help="traffic runs of each arm")
    parser.add_argument("--skip", choices=["traffic", "pets", "speed"], action="append")
    parser.add_argument(
        "--pets-gap", type=float, default=1.0, help="event_gap of the PETS runs (s)"
    )
    parser.add_argument(
        "--pets-only-on", action="store_true", help="PETS with detection on only (latency)"
    )
    args = parser.parse_args()
    skip = set(args.skip or [])
    cv2.setNumThreads(1)
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "traffic" not in skip:
            video = args.media / "dvrscan" / "traffic_camera.mp4"
            shares: dict[bool, list[float]] = {False: [], True: []}
            for i in range(args.repeat):
                for on in (False, True):
                    run = realtime_run(video, folder / f"traffic{i}{on}", on)
                    shares[on].append(run["share"])
                    print(
                        f"traffic_camera.mp4 realtime, detection {'on ' if on else 'off'}: "
                        f"CPU {run['share'] * 100:.1f}% of one core over {run['wall']:.1f} s, "
                        f"{len(run['result'].events)} events",
                        flush=True,
                    )
            print(
                f"traffic_camera.mp4 realtime: median CPU off "
                f"{statistics.median(shares[False]) * 100:.1f}%, on "
                f"{statistics.median(shares[True]) * 100:.1f}% (of {args.repeat} runs each)",
                flush=True,
            )
        if "pets" not in skip:
            video = pets_720p25(args.media, folder)
            for on in (True,) if args.pets_only_on else (False, True):
                run = realtime_run(
                    video, folder / f"pets{on}", on, zones=[pets_zone()], event_gap=args.pets_gap
                )
                print(
                    f"PETS 720p25 realtime, detection {'on ' if on else 'off'}: "
                    f"CPU {run['share'] * 100:.1f}% of one core over {run['wall']:.1f} s, "
                    f"{len(run['result'].events)} events "
                    f"{[(round(e.start, 1), e.label) for e in run['result'].events]}",
                    flush=True,
                )
                if on:
                    latency(run, args.media)
        if "speed" not in skip:
            for name in ("dvrscan/traffic_camera.mp4", "pets09-s2l1/vtest_h264.mp4"):
                video = args.media / name
                speeds = {
                    on: file_speed(video, folder / f"speed{on}{video.stem}", on)
                    for on in (False, True)
                }
                print(
                    f"{video.name} file replay: detection off {speeds[False]:.0f} fps, "
                    f"on {speeds[True]:.0f} fps ({speeds[True] / speeds[False]:.2f}x)",
                    flush=True,
                )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
