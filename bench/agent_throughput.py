"""Throughput of the agent pipeline against decode-only of the same file, same run.

Both arms open the file and demux and decode it through the same ``PyAVSource`` loop
with one decoder thread (``decode_threads=1``), and both time the same span (open to
end of file). The agent arm adds motion analysis, event tracking, optional person
labelling and clip cutting into the outbox (no upload, no notifications).

The agent runs twice: as configured by default, where the decoder drops the
non-reference frames analysis will not look at (``skip_unanalysed``), and decoding
every frame as decode-only does, which shows what analysis itself costs.

OpenCV is limited to one thread: by default it spreads resizes and filters over
every core, which would let the "one thread" pipeline borrow a second CPU.

Each file is read once untimed (page cache, lazy initialisation), then the arms
alternate ``--repeat`` times; the report gives the median frames/s of each arm and
the ratio of the medians, by wall clock and by process CPU time (the latter is the
steadier of the two on a shared machine).

    python bench/agent_throughput.py [--media ../shared/media] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2

from doorstep.agent.config import load_config
from doorstep.agent.outbox import Outbox
from doorstep.agent.runner import Agent
from doorstep.agent.source import PyAVSource

FILES = ["dvrscan/traffic_camera.mp4", "pets09-s2l1/vtest_h264.mp4"]


def timed(work: Callable[[], tuple[int, int]]) -> tuple[int, int, float, float]:
    """What ``work`` returns (frames, events) and the wall and CPU seconds it took."""
    wall, cpu = time.perf_counter(), time.process_time()
    frames, events = work()
    return frames, events, time.perf_counter() - wall, time.process_time() - cpu


def decode_only(path: Path) -> tuple[int, int]:
    """Frames of the file, decoded by the loop the agent uses (no events)."""
    source = PyAVSource(str(path), decode_threads=1)
    source.open()
    try:
        return sum(len(chunk.frames) for chunk in source.chunks()), 0
    finally:
        source.close()


def pipeline(path: Path, data_dir: Path, person: bool, skip: bool) -> tuple[int, int]:
    """Frames and events of one agent run (opens and closes the source itself)."""
    config = load_config(
        data_dir=data_dir, decode_threads=1, person_detection=person, skip_unanalysed=skip
    )
    agent = Agent(config, PyAVSource(str(path), decode_threads=1), outbox=Outbox(data_dir))
    result = agent.run()
    return result.frames, len(result.events)


def compare(path: Path, person: bool, repeat: int) -> str:
    """Alternate the arms ``repeat`` times; a line with the medians and ratios."""
    arms: dict[str, list[tuple[float, float]]] = {"decode": [], "agent": [], "agent_all": []}
    frames = events = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            frames, _, wall, cpu = timed(partial(decode_only, path))
            arms["decode"].append((wall, cpu))
            for arm, skip in (("agent", True), ("agent_all", False)):
                run_dir = Path(tmp) / f"{arm}{i}"
                got, events, wall, cpu = timed(partial(pipeline, path, run_dir, person, skip))
                arms[arm].append((wall, cpu))
                assert got == frames, (arm, got, frames)
    wall, cpu = {}, {}
    for arm, times in arms.items():
        wall[arm], cpu[arm] = (statistics.median(x) for x in zip(*times, strict=True))

    def ratio(arm: str) -> str:
        return f"{wall['decode'] / wall[arm]:.3f}x wall, {cpu['decode'] / cpu[arm]:.3f}x CPU"

    return (
        f"{path.name} (person labelling {'on' if person else 'off'}): {frames} frames, "
        f"{events} events; decode-only {frames / wall['decode']:.0f} fps; "
        f"agent {frames / wall['agent']:.0f} fps, ratio {ratio('agent')}; "
        f"agent decoding every frame {frames / wall['agent_all']:.0f} fps, "
        f"ratio {ratio('agent_all')} (median of {repeat})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--media", type=Path, default=Path(__file__).parents[2] / "shared" / "media"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--person", choices=["off", "on", "both"], default="both")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    for name in FILES:
        path = args.media / name
        decode_only(path)  # warm the page cache and the decoder libraries
        for person in (False, True):
            if args.person in ("both", "on" if person else "off"):
                print(compare(path, person, args.repeat), flush=True)


if __name__ == "__main__":
    main()
