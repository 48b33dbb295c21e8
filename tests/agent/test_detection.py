"""Acceptance 1-3: events on real footage match the references; no false alarm."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from doorstep.agent.config import load_config
from doorstep.agent.runner import run_agent
from tests.agent.conftest import (
    TRAFFIC_REFERENCE,
    TRAFFIC_ZONE,
    agent_cmd,
    rect_zone,
    write_config,
)

FPS = 25.0


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_traffic_camera_three_reference_events_with_pre_roll_clips(traffic: Path) -> None:
    config = load_config(zones=[TRAFFIC_ZONE], event_gap=2.0, data_dir=Path("agent"))
    result = run_agent(config, str(traffic))
    assert result.error is None
    frames = [(round(e.start * FPS), round(e.end * FPS)) for e in result.events]  # type: ignore[operator]
    assert len(frames) == 3, frames
    for (start, end), (ref_start, ref_end) in zip(frames, TRAFFIC_REFERENCE, strict=True):
        assert abs(start - ref_start) <= 25 and abs(end - ref_end) <= 25, (
            frames,
            TRAFFIC_REFERENCE,
        )
    for event in result.events:
        clip = Path("agent/files") / f"{event.id}.mp4"
        info = ffprobe(clip)
        assert info["streams"][0]["codec_name"] == "h264"
        assert float(info["format"]["duration"]) > 3
        # The clip starts at a keyframe at least pre_roll before the first motion, or at 0.
        clip_start = event.extra["clip_start"]
        assert clip_start <= max(0.0, event.start - config.pre_roll) + 0.05
        clip_end = clip_start + float(info["format"]["duration"])
        assert clip_end >= min(event.last_motion + config.post_roll, 575 / FPS) - 0.1
        # faststart: the index (moov) precedes the media data (mdat).
        head = clip.read_bytes()[:4096]
        assert 0 <= head.find(b"moov") < max(head.find(b"mdat"), 4096)
        assert (Path("agent/files") / f"{event.id}.jpg").read_bytes()[:2] == b"\xff\xd8"


def test_brightness_change_gives_no_event(media_dir: Path) -> None:
    config = load_config(data_dir=Path("agent"))
    result = run_agent(config, str(media_dir / "dvrscan" / "issue53_brightness_change.avi"))
    assert result.error is None
    assert result.frames == 59
    assert result.events == []


def pets_visits(gt: Path, frames: int) -> list[tuple[int, int]]:
    """Runs of frames with at least 30% of a person's box inside x 450-768, y 300-576."""
    present = [False] * frames
    for line in gt.read_text().splitlines():
        f, _, x, y, w, h = (float(v) for v in line.split(",")[:6])
        ix = max(0.0, min(x + w, 768) - max(x, 450))
        iy = max(0.0, min(y + h, 576) - max(y, 300))
        if 0 <= int(f) - 1 < frames and ix * iy >= 0.3 * w * h:
            present[int(f) - 1] = True
    visits, start = [], None
    for k, p in enumerate([*present, False]):
        if p and start is None:
            start = k
        elif not p and start is not None:
            visits.append((start, k - 1))
            start = None
    return visits


def test_pets_person_visits_give_person_events(media_dir: Path) -> None:
    pets = media_dir / "pets09-s2l1"
    config = load_config(
        zones=[rect_zone(450, 300, 318, 276, 768, 576)], event_gap=1.0, data_dir=Path("agent")
    )
    result = run_agent(config, str(pets / "vtest_h264.mp4"))
    visits = pets_visits(pets / "gt.txt", result.frames)
    assert len(visits) == 8
    events = [(e.start * 10, e.end * 10, e.label) for e in result.events]  # type: ignore[operator]
    hits = [
        any(s <= v1 and e >= v0 and label == "person" for s, e, label in events)
        for v0, v1 in visits
    ]
    assert sum(hits) / len(hits) >= 0.9, (visits, events)


def test_cli_prints_each_event_as_it_happens(traffic: Path) -> None:
    """`doorstep agent run` on a file: a line per event start and end on stdout, in order."""
    config = write_config(Path("agent.json"), zones=[TRAFFIC_ZONE], event_gap=2.0, data_dir="agent")
    proc = subprocess.run(
        agent_cmd(traffic, "--config", str(config)), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    # "<time>  event <id8> started: motion", "... labelled vehicle (0.82)",
    # "<time>  event <id8> ended: vehicle (0.82), 5.2 s"
    lines = [line.split() for line in proc.stdout.splitlines()]
    steps = [(words[2], words[3]) for words in lines if words[3] != "labelled"]
    assert len(steps) == 6, proc.stdout
    assert [words[4] for words in lines if words[3] == "ended:"] == ["vehicle"] * 3, proc.stdout
    for (start_id, started), (end_id, ended) in zip(steps[::2], steps[1::2], strict=True):
        assert (started, ended) == ("started:", "ended:") and start_id == end_id, proc.stdout
    assert "3 events from 576 frames" in proc.stderr
    quiet = subprocess.run(
        agent_cmd(traffic, "--config", str(config), "--quiet"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_raw_h264_without_timestamps_gives_the_same_events(traffic: Path, tmp_path: Path) -> None:
    """Raw Annex-B H.264 (a camera's TCP stream, a .h264 file) carries no pts or dts."""
    raw = tmp_path / "traffic.h264"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(traffic), "-c", "copy"]
        + ["-bsf:v", "h264_mp4toannexb", "-f", "h264", str(raw)],
        check=True,
    )
    runs = {}
    for name, source in {"mp4": traffic, "raw": raw}.items():
        config = load_config(zones=[TRAFFIC_ZONE], event_gap=2.0, data_dir=tmp_path / name)
        result = run_agent(config, str(source))
        assert result.error is None
        runs[name] = result
    assert [(e.start, e.end) for e in runs["raw"].events] == [
        (e.start, e.end) for e in runs["mp4"].events
    ]
    assert len(runs["raw"].events) == 3
    last = runs["raw"].events[-1]
    duration = float(ffprobe(tmp_path / "raw" / "files" / f"{last.id}.mp4")["format"]["duration"])
    assert duration < 12  # pre-roll from the last keyframes, not the whole stream
