"""Every event that has a clip has a snapshot (issue 10, E.11), split events included."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from doorstep.agent.clips import packet_time
from doorstep.agent.config import load_config
from doorstep.agent.events import Event
from doorstep.agent.outbox import Outbox
from doorstep.agent.recorder import Recorder
from doorstep.agent.runner import run_agent


def test_an_event_continued_after_a_split_and_ended_by_the_source_has_a_snapshot(
    media_dir: Path,
) -> None:
    """PETS has people in view for all of its 79.5 s: one long event, split at keyframes.

    The part that continues a split inherits the label 'person'; it used to get no
    snapshot, so the event that ends when the source ends had none (a third of the
    demo's events).
    """
    video = media_dir / "pets09-s2l1" / "vtest_h264.mp4"
    data_dir = Path("agent")
    config = load_config(data_dir=data_dir, max_clip=20.0)
    result = run_agent(config, str(video))
    assert result.error is None
    events = result.events
    assert len(events) >= 3, [(e.start, e.end) for e in events]
    assert any(e.label == "person" for e in events[1:])  # a continuation, labelled by its first
    last_frame = 79.4
    assert events[-1].end is not None and abs(events[-1].end - last_frame) < 0.05
    outbox = Outbox(data_dir)
    for event in events:
        assert (data_dir / "files" / f"{event.id}.mp4").is_file()
        snapshot = data_dir / "files" / f"{event.id}.jpg"
        assert snapshot.is_file(), f"event {event.id} ({event.start}-{event.end}) has no snapshot"
        image = cv2.imread(str(snapshot))
        assert image is not None and image.shape == (576, 768, 3)
        assert outbox.has_file(event.id, "clip") and outbox.has_file(event.id, "snapshot")
    outbox.close()


def test_a_clip_without_an_offered_frame_gets_its_first_frame_as_snapshot(
    segments: dict[str, Path],
) -> None:
    """The recorder's own promise: no clip is queued without a snapshot, masks included."""
    mask = [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]
    outbox = Outbox(Path("agent"))
    recorder = Recorder(outbox, [mask], max_clip=60.0)
    event = Event("no-frame-offered", 0.0, 0.0, 0.0)
    with av.open(str(segments["first"])) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        recorder.start(event, stream, packets[:1])
        for packet in packets[1:50]:
            assert not recorder.feed(packet, packet_time(packet), event, 0.0)
        recorder.end(event, 0.0)
        recorder.finish_all()
    with av.open(str(segments["first"])) as container:
        first = next(container.decode(video=0)).to_ndarray(format="gray")
    snapshot = cv2.imread(str(Path("agent/files") / f"{event.id}.jpg"), cv2.IMREAD_GRAYSCALE)
    assert snapshot is not None and snapshot.shape == first.shape == (720, 1280)
    assert snapshot[: 360 - 8, : 640 - 8].max() <= 24  # the mask holds in the stand-in too
    unmasked = np.abs(snapshot[368:, 648:].astype(int) - first[368:, 648:].astype(int))
    assert unmasked.mean() < 4  # the clip's first frame: the source's first frame
    assert outbox.has_file(event.id, "clip") and outbox.has_file(event.id, "snapshot")
    outbox.close()
