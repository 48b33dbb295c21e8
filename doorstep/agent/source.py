"""Video sources: a file, a network stream or a V4L2 device, demuxed and decoded by PyAV.

The runner needs both the encoded packets (clips are cut from them without
re-encoding) and the decoded frames (for analysis), so a source yields each packet
together with the frames it decoded to.

Analysis looks at a few frames a second, so the runner may say which frames it wants:
a packet of a frame it does not want is decoded with ``skip_frame=NONREF``, so the
decoder drops it if no other frame refers to it (the B-frames between analysed
frames: a tenth to a half of the decoding time of a typical H.264 camera stream) and
decodes it anyway if it is a reference frame. Packets are never skipped, so clips
are whole.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import av
import av.error
from av.container import InputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from doorstep.errors import VideoError

_SEEN = 64  # packet times remembered to find a frame's predecessor (a GOP's reordering)
LIVE_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass
class Chunk:
    """One demuxed packet (None at the end of a stream) and the frames it decoded to.

    ``skipped`` counts the frames the decoder is now known to have dropped unseen
    (see ``Wanted``), so decoded plus skipped frames add up to the frames of the source.
    """

    packet: Packet | None
    frames: list[VideoFrame] = field(default_factory=list)
    skipped: int = 0


# Whether the frame at ``time`` seconds, shown after the one at ``previous`` seconds, must be
# decoded.
Wanted = Callable[[float, float], bool]


class VideoSource(Protocol):
    """What the runner reads video from."""

    live: bool
    identity: str

    def open(self) -> VideoStream: ...

    def chunks(self, wanted: Wanted | None = None) -> Iterator[Chunk]: ...

    def close(self) -> None: ...


def is_live(url: str) -> bool:
    return url.startswith(LIVE_PREFIXES) or url.startswith("/dev/video")


class PyAVSource:
    """A source opened with PyAV; live sources are marked so the runner reconnects them."""

    def __init__(self, url: str, *, decode_threads: int = 0, open_timeout: float = 10.0) -> None:
        self.url = url
        self.live = is_live(url)
        self.decode_threads = decode_threads
        self.open_timeout = open_timeout
        self.identity = _identity(url, self.live)
        self._container: InputContainer | None = None
        self._stream: VideoStream | None = None
        self.decode_errors = 0

    def open(self) -> VideoStream:
        options: dict[str, str] = {}
        fmt: str | None = None
        if self.url.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        if self.url.startswith("/dev/video"):
            fmt = "video4linux2"
        try:
            container = av.open(self.url, format=fmt, options=options, timeout=self.open_timeout)
        except av.error.FFmpegError as exc:
            raise VideoError(f"cannot open {self.url}: {_reason(exc)}") from None
        if not container.streams.video:
            container.close()
            raise VideoError(f"{self.url} has no video stream")
        stream = container.streams.video[0]
        if self.decode_threads != 1:
            stream.thread_type = "AUTO"
        stream.codec_context.thread_count = self.decode_threads
        self._container = container
        self._stream = stream
        return stream

    def chunks(self, wanted: Wanted | None = None) -> Iterator[Chunk]:
        """Each packet with the frames it decoded to; unwanted frames may be dropped."""
        assert self._container is not None and self._stream is not None
        stream = self._stream
        skips = _SkipTracker(stream, wanted)
        clock = _Clock(stream)
        try:
            for packet in self._container.demux(stream):
                clock.stamp_packet(packet)
                skips.before_decode(packet)
                try:
                    frames = list(packet.decode())  # type: ignore[arg-type]
                except av.error.FFmpegError:
                    self.decode_errors += 1
                    frames = []
                for frame in frames:
                    clock.stamp_frame(frame)
                skipped = skips.after_decode(frames, flushed=not packet.size)
                yield Chunk(packet if packet.size else None, frames, skipped)  # type: ignore[arg-type]
        except av.error.FFmpegError as exc:
            raise VideoError(f"reading {self.url} failed: {_reason(exc)}") from None

    def check_complete(self, last_time: float | None) -> None:
        """Raise if a file ended well before its declared length or had undecodable data."""
        if self.live or self._stream is None:
            return
        stream = self._stream
        declared = (
            float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base
            else None
        )
        frame_time = 1.0 / float(stream.average_rate) if stream.average_rate else 0.1
        if declared and (last_time is None or last_time + 2 * frame_time < declared - 0.5):
            got = f"{last_time:.1f}" if last_time is not None else "0"
            raise VideoError(f"{self.url} is truncated: decoded {got} s of {declared:.1f} s")
        if self.decode_errors:
            raise VideoError(f"{self.url} is corrupt: {self.decode_errors} packets undecodable")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


def _reason(exc: av.error.FFmpegError) -> str:
    return exc.strerror or str(exc)


def _identity(url: str, live: bool) -> str:
    """A stable name for the source; for files it changes when the file does."""
    if live:
        return url
    try:
        stat = os.stat(url)
    except OSError:
        return url
    key = f"{Path(url).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class _Clock:
    """Times for a source that carries none (raw H.264 from a file, a pipe or TCP).

    Such packets have no pts or dts and decode to frames without a time, which would
    leave nothing to analyse and a pre-roll ring that never ages. Packets get a decode
    time and frames a presentation time, each counted at the stream's frame rate in the
    order they come; sources with timestamps pass through untouched. A clip cut from
    such a stream has its frames in decode order, right for the I/P streams cameras send
    raw; B-frames would show out of order.
    """

    def __init__(self, stream: VideoStream) -> None:
        rate = stream.average_rate or stream.guessed_rate or 25
        time_base = float(stream.time_base) if stream.time_base else 0.0
        self._ticks = max(1, round(1 / (float(rate) * time_base))) if time_base else 0
        self._packet = 0
        self._frame = 0

    def stamp_packet(self, packet: Packet) -> None:
        if self._ticks and packet.size and packet.pts is None and packet.dts is None:
            packet.dts = self._packet  # only dts: the decoder must not reorder made-up pts
            self._packet += packet.duration or self._ticks

    def stamp_frame(self, frame: VideoFrame) -> None:
        if self._ticks and frame.pts is None:
            frame.pts = self._frame
            self._frame += self._ticks


class _SkipTracker:
    """Sets ``skip_frame`` per packet and counts the frames the decoder really dropped.

    A packet sent with NONREF is dropped only if it is not a reference frame, which
    the decoder alone knows; frames leave the decoder in presentation order, so a
    frame marked for skipping whose time has been passed by a decoded frame (or is
    still pending at the end of the stream) was dropped.
    """

    def __init__(self, stream: VideoStream, wanted: Wanted | None) -> None:
        self._wanted = wanted
        self._context = stream.codec_context
        self._time_base = float(stream.time_base) if stream.time_base else 0.0
        self._seen: list[int] = []  # pts of the latest packets, sorted (see _previous)
        self._pending: list[int] = []  # pts of frames sent with NONREF, not yet accounted for
        self._skipping = False

    def before_decode(self, packet: Packet) -> None:
        skip = self._skippable(packet)
        if skip != self._skipping:
            self._context.skip_frame = "NONREF" if skip else "DEFAULT"
            self._skipping = skip
        if skip:
            assert packet.pts is not None
            self._pending.append(packet.pts)

    def _skippable(self, packet: Packet) -> bool:
        if self._wanted is None or not packet.size or packet.pts is None:
            return False
        previous = self._previous(packet.pts)
        if packet.is_keyframe or previous is None:
            return False
        return not self._wanted(packet.pts * self._time_base, previous * self._time_base)

    def _previous(self, pts: int) -> int | None:
        """The pts of the frame shown just before this one, among the packets seen so far.

        Remembers ``pts`` too. A non-reference frame comes after every frame shown before
        it in decode order (B-frames follow the frames they sit between), so for the frames
        that may be skipped this is exact, also at a variable frame rate. Were a frame
        missing, the one found would be earlier, which can only make a frame wanted.
        """
        index = bisect.bisect_left(self._seen, pts)
        previous = self._seen[index - 1] if index else None
        self._seen.insert(index, pts)
        if len(self._seen) > _SEEN:
            del self._seen[0]
        return previous

    def after_decode(self, frames: list[VideoFrame], *, flushed: bool) -> int:
        if not self._pending:
            return 0
        before = len(self._pending)
        for frame in frames:
            if frame.pts is None:
                continue
            if frame.pts in self._pending:
                self._pending.remove(frame.pts)  # a reference frame: decoded after all
                before -= 1
            self._pending = [pts for pts in self._pending if pts > frame.pts]
        if flushed:
            self._pending.clear()
        return before - len(self._pending)
