"""Throughput of the agent pipeline against decode-only of the same file, same run.

Both passes demux and decode with one decoder thread (``decode_threads=1``); the
agent pass adds motion analysis, event tracking, person labelling and clip cutting
into the outbox (no upload, no notifications). Prints frames/s of each and the ratio.

    python bench/agent_throughput.py [--media ../shared/media] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from doorstep.agent.config import load_config
from doorstep.agent.outbox import Outbox
from doorstep.agent.runner import Agent
from doorstep.agent.source import PyAVSource

FILES = ["dvrscan/traffic_camera.mp4", "pets09-s2l1/vtest_h264.mp4"]


def decode_only(path: Path) -> tuple[int, float]:
    source = PyAVSource(str(path), decode_threads=1)
    source.open()
    start = time.perf_counter()
    frames = sum(len(chunk.frames) for chunk in source.chunks())
    elapsed = time.perf_counter() - start
    source.close()
    return frames, elapsed


def pipeline(path: Path, data_dir: Path, person: bool) -> tuple[int, float, int]:
    config = load_config(data_dir=data_dir, decode_threads=1, person_detection=person)
    source = PyAVSource(str(path), decode_threads=1)
    agent = Agent(config, source, outbox=Outbox(data_dir))
    start = time.perf_counter()
    result = agent.run()
    elapsed = time.perf_counter() - start
    return result.frames, elapsed, len(result.events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--media", type=Path, default=Path(__file__).parents[2] / "shared" / "media"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name in FILES:
        path = args.media / name
        for person in (False, True):
            best_decode, best_agent = float("inf"), float("inf")
            for i in range(args.repeat):
                frames, t_decode = decode_only(path)
                with tempfile.TemporaryDirectory() as tmp:
                    frames_agent, t_agent, events = pipeline(path, Path(tmp) / f"run{i}", person)
                assert frames == frames_agent
                best_decode, best_agent = min(best_decode, t_decode), min(best_agent, t_agent)
            decode_fps, agent_fps = frames / best_decode, frames / best_agent
            print(
                f"{name} (person labelling {'on' if person else 'off'}): {frames} frames, "
                f"{events} events; decode-only {decode_fps:.0f} fps, agent {agent_fps:.0f} fps, "
                f"ratio {agent_fps / decode_fps:.3f}x (best of {args.repeat})"
            )


if __name__ == "__main__":
    main()
