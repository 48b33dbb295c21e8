"""Analysis schedule and decoder frame skipping: fewer frames decoded, nothing else changes."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import av
import pytest

import doorstep.demo
from doorstep.agent.config import load_config
from doorstep.agent.outbox import Outbox
from doorstep.agent.runner import Agent, RunResult, run_agent
from doorstep.agent.schedule import AnalysisSchedule
from doorstep.agent.source import PyAVSource
from tests.agent.conftest import TRAFFIC_ZONE

DEMO_VIDEO = Path(doorstep.demo.__file__).parent / "vtest_h264.mp4"  # 10 fps H.264 with B-frames


def test_schedule_takes_the_first_frame_at_or_after_each_tick() -> None:
    schedule = AnalysisSchedule(fps=5)
    times = [k / 10 for k in range(20)]  # 10 fps
    due = [t for t in times if schedule.due(t)]
    assert due == pytest.approx([k / 10 for k in range(0, 20, 2)])


def test_schedule_handles_rates_that_do_not_divide() -> None:
    schedule = AnalysisSchedule(fps=4)  # every 0.25 s of a 30 fps stream
    due = [k for k in range(60) if schedule.due(k / 30)]
    assert due == [0, 8, 15, 23, 30, 38, 45, 53]


def test_wanted_predicts_due_before_decoding() -> None:
    schedule = AnalysisSchedule(fps=5)
    duration = 1 / 25
    assert schedule.wanted(0.0, -duration)  # before the first frame everything is wanted
    predicted, due = [], []
    for k in range(100):
        t = k / 25
        predicted.append(schedule.wanted(t, t - duration) if k else True)
        due.append(schedule.due(t))
    assert predicted == due
    assert sum(due) == 20


def test_hurry_analyses_every_frame_then_the_grid_resumes() -> None:
    schedule = AnalysisSchedule(fps=5)
    due = []
    for k in range(15):
        t = k / 25
        schedule.hurry = 3 <= k < 8  # motion waiting for confirmation
        assert schedule.wanted(t, t - 1 / 25) == (k == 0 or schedule.hurry or k % 5 == 0)
        if schedule.due(t):
            due.append(k)
    assert due == [0, 3, 4, 5, 6, 7, 10]


def test_a_short_passage_is_confirmed_whatever_the_grid_phase(traffic: Path) -> None:
    """traffic_camera: something crosses the ROI in frames 10-20 (0.4 s), then a car from 50.

    On the 5 fps grid from frame 0 only frame 15 sees it; confirming on the next frame
    starts the event there, as the reference does (frame 10), not at the car (frame 50).
    """
    config = load_config(zones=[TRAFFIC_ZONE], event_gap=2.0, data_dir=Path("agent"))
    result = run_agent(config, str(traffic))
    first = result.events[0]
    assert round(first.start * 25) == 15


def run(
    video: Path, data_dir: Path, zones: list[list[tuple[float, float]]], *, skip: bool
) -> RunResult:
    config = load_config(
        data_dir=data_dir, zones=zones, event_gap=2.0, decode_threads=1, skip_unanalysed=skip
    )
    return Agent(config, PyAVSource(str(video), decode_threads=1), outbox=Outbox(data_dir)).run()


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def variable_rate_copy(folder: Path) -> Path:
    """30 s of PETS with frames dropped irregularly, re-encoded with B-frames: a VFR stream."""
    path = folder / "vfr.mp4"
    keep = "not(eq(mod(n\\,7)\\,3))*not(eq(mod(n\\,5)\\,1))*not(eq(mod(n\\,11)\\,4))"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(DEMO_VIDEO), "-t", "30", "-vf", f"select='{keep}'"]
        + ["-fps_mode", "vfr", "-an", "-c:v", "libx264", "-preset", "veryfast", "-bf", "3"]
        + [str(path)],
        check=True,
    )
    return path


@pytest.mark.parametrize("name", ["vtest", "traffic", "variable-rate"])
def test_skipping_unanalysed_frames_decodes_less_and_changes_nothing(
    name: str, traffic: Path, tmp_path: Path
) -> None:
    """All are H.264 with B-frames; traffic has a zone and a short passage, one a VFR."""
    video, zones = {
        "vtest": lambda: (DEMO_VIDEO, []),
        "traffic": lambda: (traffic, [TRAFFIC_ZONE]),
        "variable-rate": lambda: (variable_rate_copy(tmp_path), []),
    }[name]()
    with av.open(str(video)) as container:
        frames = sum(1 for packet in container.demux(video=0) if packet.size)
    every = run(video, tmp_path / "every", zones, skip=False)
    skipping = run(video, tmp_path / "skip", zones, skip=True)
    assert every.error is None and skipping.error is None
    assert every.skipped == 0
    # The decoder really dropped B-frames, yet every frame of the file is accounted for.
    assert skipping.skipped > frames // 10
    assert skipping.frames == every.frames == frames
    assert skipping.analysed == every.analysed
    assert [(e.start, e.end, e.label, e.score) for e in skipping.events] == [
        (e.start, e.end, e.label, e.score) for e in every.events
    ]
    assert every.events
    # Clips are cut from packets, never from decoded frames; snapshots come from the same
    # analysed frames: the files are identical.
    files = digests(tmp_path / "every" / "files")
    assert any(name.endswith(".mp4") for name in files)
    assert digests(tmp_path / "skip" / "files") == files
