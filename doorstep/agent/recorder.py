"""Recording: each event's clip from its pre-roll to its end, and its snapshot.

Detection (``runner``) decides when an event starts, when it ends and which frames
show it best; the recorder turns that into files. It opens a clip writer with the
pre-roll when an event starts, gives it every packet until ``post_roll`` after the
event, says when a running event's clip has reached ``max_clip`` (the caller splits
the event there), and on finishing publishes the clip and the snapshot into the
outbox. Every event that has a clip gets a snapshot: the best frame detection
offered, or else the clip's first frame.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from doorstep.agent.clips import (
    ClipWriter,
    open_writer,
    packet_time,
    publish_file,
    snapshot_jpeg,
    write_bytes_atomic,
)
from doorstep.agent.events import Event
from doorstep.agent.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass
class Recording:
    """The clip of one event while it is being written, and its best frame so far."""

    event: Event
    writer: ClipWriter
    end: float | None = None
    snapshot: VideoFrame | None = None
    snapshot_score: float = -1.0


class Recorder:
    """The open clips, written from the source's encoded packets into the outbox."""

    def __init__(
        self,
        outbox: Outbox,
        masks: Sequence[Sequence[tuple[float, float]]],
        max_clip: float,
    ) -> None:
        self.outbox = outbox
        self.masks = masks
        self.max_clip = max_clip
        self.recordings: list[Recording] = []

    def start(self, event: Event, stream: VideoStream, pre_roll: list[Packet]) -> None:
        """Open the event's clip of ``stream``; it begins with ``pre_roll`` (from a keyframe)."""
        path = self.outbox.tmp_dir / f"{event.id}.mp4"
        rec = Recording(event, open_writer(path, stream, self.masks))
        if pre_roll:
            event.extra["clip_start"] = packet_time(pre_roll[0])
        for packet in pre_roll:
            rec.writer.add(packet)
        self.recordings.append(rec)

    def end(self, event: Event, clip_end: float) -> None:
        """The event ended: its clip takes packets up to ``clip_end`` s, then finishes."""
        for rec in self.recordings:
            if rec.event is event and rec.end is None:
                rec.end = clip_end

    def offer_snapshot(self, event: Event, frame: VideoFrame, score: float) -> None:
        """Keep ``frame`` as the event's snapshot if it scores higher than the one kept."""
        for rec in self.recordings:
            if rec.event is event and score > rec.snapshot_score:
                rec.snapshot, rec.snapshot_score = frame, score

    def feed(self, packet: Packet, t: float, running: Event | None, gop: float) -> bool:
        """Give the packet (decode time ``t`` s) to the open clips; finish those done.

        Returns True when the clip of the ``running`` event has reached ``max_clip``
        at this keyframe: the caller ends that event, ``finish_event``s it, and starts
        the next one with this packet. The cut is the last keyframe before ``max_clip``
        going by the stream's keyframe interval (``gop`` s), so consecutive clips join
        without overlap or gap. A stream whose keyframes are further apart than
        ``max_clip`` can only be cut at the next keyframe (cutting elsewhere would need
        re-encoding), so its clips run that long.
        """
        limit = self.max_clip - 0.5
        split = False
        for rec in list(self.recordings):
            if rec.end is not None and t > rec.end:
                self._finish(rec)
                continue
            is_running = rec.end is None and running is rec.event
            if is_running and packet.is_keyframe and rec.writer.duration + gop >= limit:
                split = True
                continue
            if not is_running and rec.writer.duration >= limit:
                self._finish(rec)  # post-roll of an ended event, cut at the cap
                continue
            rec.writer.add(packet)
        return split

    def finish_event(self, event: Event) -> None:
        """Finish the event's clip now, whatever is left of its post-roll."""
        for rec in [r for r in self.recordings if r.event is event]:
            self._finish(rec)

    def finish_all(self) -> None:
        """Finish every open clip (the source ended or the agent stops)."""
        for rec in list(self.recordings):
            self._finish(rec)

    def _finish(self, rec: Recording) -> None:
        """Close the clip and publish it and the snapshot into the outbox."""
        self.recordings.remove(rec)
        event = rec.event
        try:
            path = rec.writer.close()
        except av.error.FFmpegError as exc:
            log.error("clip of event %s could not be written: %s", event.id, exc)
            path = None
        # A re-run of a file (after a crash) records and labels its events again, so they
        # come out the same; what an earlier run already queued is kept, not replaced.
        clip = self.outbox.files_dir / f"{event.id}.mp4"
        if path is not None and self.outbox.has_file(event.id, "clip"):
            path.unlink(missing_ok=True)
        elif path is not None:
            sha, size = publish_file(path, clip)
            self.outbox.enqueue_file(event.id, "clip", clip, sha, size)
        if self.outbox.has_file(event.id, "snapshot"):
            return
        data: bytes | None = None
        if rec.snapshot is not None:
            data = snapshot_jpeg(rec.snapshot, self.masks)
        elif self.outbox.has_file(event.id, "clip"):
            # No analysed frame with motion fell in this clip (an event split just before
            # the source ended): its first frame, the event's start, stands in.
            data = self._first_frame_jpeg(clip)
        if data is None:
            return
        dest = self.outbox.files_dir / f"{event.id}.jpg"
        sha = write_bytes_atomic(data, dest)
        self.outbox.enqueue_file(event.id, "snapshot", dest, sha, len(data))

    def _first_frame_jpeg(self, clip: Path) -> bytes | None:
        try:
            with av.open(str(clip)) as container:
                for frame in container.decode(video=0):
                    return snapshot_jpeg(frame, self.masks)
        except av.error.FFmpegError as exc:
            log.error("no snapshot from clip %s: %s", clip.name, exc)
        return None
