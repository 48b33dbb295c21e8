"""Video sources: a file, a network stream or a V4L2 device, demuxed and decoded by PyAV.

The runner needs both the encoded packets (clips are cut from them without
re-encoding) and the decoded frames (for analysis), so a source yields each packet
together with the frames it decoded to.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
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

LIVE_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass
class Chunk:
    """One demuxed packet (None at the end of a stream) and the frames it decoded to."""

    packet: Packet | None
    frames: list[VideoFrame] = field(default_factory=list)


class VideoSource(Protocol):
    """What the runner reads video from."""

    live: bool
    identity: str

    def open(self) -> VideoStream: ...

    def chunks(self) -> Iterator[Chunk]: ...

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

    def chunks(self) -> Iterator[Chunk]:
        assert self._container is not None and self._stream is not None
        try:
            for packet in self._container.demux(self._stream):
                try:
                    frames = list(packet.decode())  # type: ignore[arg-type]
                except av.error.FFmpegError:
                    self.decode_errors += 1
                    frames = []
                yield Chunk(packet if packet.size else None, frames)  # type: ignore[arg-type]
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
