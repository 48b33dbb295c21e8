"""Event clips: a pre-roll ring of encoded packets, MP4 writers, snapshots, hashing.

Without privacy masks a clip is cut from the encoded packets (no re-encoding, so it
costs almost nothing); the ring keeps packets from a keyframe at least ``pre_roll``
seconds old, so every clip starts decodable. With masks, or for codecs MP4 cannot
carry, the writer decodes its packets, blacks out the masks and encodes H.264.
Clips are written with ``movflags=faststart`` to a temporary file and then published
into the outbox: the file is fsynced, hashed and renamed into place, so the outbox
never holds a partial clip.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, cast

import av
import cv2
import numpy as np
import numpy.typing as npt
from av.packet import Packet
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from doorstep.agent.motion import polygon_mask
from doorstep.fsutil import fsync_dir

REMUX_CODECS = {"h264", "hevc", "av1", "vp9", "mpeg4"}
_CHUNK = 1 << 20


def packet_time(packet: Packet, time_base: float | None = None) -> float:
    """The packet's decode time in seconds.

    Pass the stream's ``time_base`` as a float where it is known: ``packet.time_base``
    builds a ``Fraction`` on every access, a cost that shows at hundreds of packets/s.
    """
    ts = packet.dts if packet.dts is not None else packet.pts
    if ts is None:
        return 0.0
    if time_base is None:
        tb = packet.time_base
        if tb is None:
            return 0.0
        time_base = float(tb)
    return ts * time_base


class PacketRing:
    """Encoded packets of the last ``pre_roll`` seconds, always starting at a keyframe.

    Packets are kept per GOP; the oldest GOP is dropped only once the next one starts
    at or before ``now - pre_roll``, so the ring always reaches back far enough.
    """

    def __init__(self, pre_roll: float) -> None:
        self.pre_roll = pre_roll
        self.gop = 0.0  # seconds between the last two keyframes; 0 until two were seen
        self._gops: deque[tuple[float, list[Packet]]] = deque()

    def push(self, packet: Packet, t: float | None = None) -> None:
        """Keep ``packet`` (decode time ``t`` s, computed if not given); drop what aged out."""
        if t is None:
            t = packet_time(packet)
        if packet.is_keyframe or not self._gops:
            if not packet.is_keyframe:
                return  # nothing decodable before the first keyframe
            if self._gops:
                self.gop = t - self._gops[-1][0]
            self._gops.append((t, [packet]))
        else:
            self._gops[-1][1].append(packet)
        horizon = t - self.pre_roll
        while len(self._gops) > 1 and self._gops[1][0] <= horizon:
            self._gops.popleft()

    def packets(self) -> list[Packet]:
        return [packet for _, gop in self._gops for packet in gop]

    def clear(self) -> None:
        self._gops.clear()


def publish_file(src: Path, dest: Path) -> tuple[str, int]:
    """Move the finished ``src`` to ``dest`` atomically and return its SHA-256 and size.

    ``src`` is fsynced, hashed (read back from the page cache) and renamed into place,
    then the folder is fsynced: a crash leaves either no file or the whole one. The
    outbox's tmp and files folders share a file system, so nothing is copied (a clip
    is megabytes); across file systems it falls back to copying.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with src.open("rb") as reader:
        os.fsync(reader.fileno())
        while block := reader.read(_CHUNK):
            digest.update(block)
            size += len(block)
    try:
        os.replace(src, dest)
    except OSError:
        _copy_atomic(src, dest)
    fsync_dir(dest.parent)
    return digest.hexdigest(), size


def _copy_atomic(src: Path, dest: Path) -> None:
    """Copy via a fsynced temporary file in the destination folder, then rename."""
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    with src.open("rb") as reader, tmp.open("wb") as writer:
        while block := reader.read(_CHUNK):
            writer.write(block)
        writer.flush()
        os.fsync(writer.fileno())
    os.replace(tmp, dest)
    src.unlink(missing_ok=True)


def write_bytes_atomic(data: bytes, dest: Path) -> str:
    """Write bytes atomically and return their SHA-256."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    with tmp.open("wb") as writer:
        writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())
    os.replace(tmp, dest)
    fsync_dir(dest.parent)
    return hashlib.sha256(data).hexdigest()


class ClipWriter(Protocol):
    """Receives the packets of one clip in decode order and writes an MP4."""

    duration: float

    def add(self, packet: Packet) -> None: ...

    def close(self) -> Path | None: ...


class RemuxClipWriter:
    """Copies encoded packets into an MP4 with faststart; no decoding, no encoding."""

    def __init__(self, path: Path, template: VideoStream) -> None:
        self.path = path
        self._out = av.open(str(path), "w", format="mp4", options={"movflags": "faststart"})
        self._stream = self._out.add_stream_from_template(template)
        self._offset: int | None = None
        self._last_dts: int | None = None
        # Taken from the first packet: reading packet.time_base builds a Fraction each time.
        self._time_base: Fraction | None = None
        self._seconds = 0.0
        self.duration = 0.0
        self.count = 0

    def add(self, packet: Packet) -> None:
        dts = packet.dts if packet.dts is not None else packet.pts
        if dts is None:
            return
        if self._time_base is None:
            if packet.time_base is None:
                return
            self._time_base = packet.time_base
            self._seconds = float(self._time_base)
        if self._offset is None:
            self._offset = dts
        if self._last_dts is not None and dts <= self._last_dts:
            return
        self._last_dts = dts
        # The muxer takes ownership of what it writes: give it a copy, the ring keeps the original.
        copy = Packet(bytes(packet))
        copy.dts = dts - self._offset
        copy.pts = (packet.pts if packet.pts is not None else dts) - self._offset
        copy.time_base = self._time_base
        copy.is_keyframe = packet.is_keyframe
        if packet.duration:
            copy.duration = packet.duration
        copy.stream = self._stream
        self._out.mux(copy)
        self.duration = (dts - self._offset) * self._seconds
        self.count += 1

    def close(self) -> Path | None:
        self._out.close()
        return self.path if self.count else None


class EncodeClipWriter:
    """Decodes packets, blacks out privacy masks, and encodes H.264 into an MP4."""

    def __init__(
        self,
        path: Path,
        template: VideoStream,
        masks: Sequence[Sequence[tuple[float, float]]],
    ) -> None:
        self.path = path
        ctx = template.codec_context
        self._decoder = cast(VideoCodecContext, av.CodecContext.create(ctx.name, "r"))
        if ctx.extradata:
            self._decoder.extradata = ctx.extradata
        self._decoder.width, self._decoder.height = ctx.width, ctx.height  # type: ignore[attr-defined]
        self._out = av.open(str(path), "w", format="mp4", options={"movflags": "faststart"})
        rate = template.average_rate or Fraction(25)
        self._stream = self._out.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = ctx.width, ctx.height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"preset": "veryfast", "crf": "23"}
        self._stream.time_base = Fraction(1, 90000)
        self._mask = polygon_mask(masks, ctx.width, ctx.height) if masks else None
        self._time_base = template.time_base or Fraction(1, 90000)
        self._first: float | None = None  # decode time of the first packet (for duration)
        self._origin: float | None = None  # presentation time of the first frame (time 0)
        self._last_pts = -1
        self.duration = 0.0
        self.count = 0

    def add(self, packet: Packet) -> None:
        copy = Packet(bytes(packet))
        copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
        copy.is_keyframe = packet.is_keyframe
        t = packet_time(packet)
        if self._first is None:
            self._first = t
        self.duration = t - self._first
        try:
            frames = self._decoder.decode(copy)
        except av.error.FFmpegError:
            return
        for frame in frames:
            self._encode(frame)  # type: ignore[arg-type]

    def _encode(self, frame: VideoFrame) -> None:
        if frame.pts is None:
            return
        # A standalone decoder has no time base of its own: use the stream's.
        t = float(frame.pts * self._time_base)
        image = mask_image(frame.to_ndarray(format="bgr24"), self._mask)
        out = VideoFrame.from_ndarray(image, format="bgr24")
        if self._origin is None:
            self._origin = t
        pts = round((t - self._origin) * 90000)
        if pts <= self._last_pts:
            return
        self._last_pts = pts
        out.pts, out.time_base = pts, Fraction(1, 90000)
        for packet in self._stream.encode(out):
            self._out.mux(packet)
        self.count += 1

    def close(self) -> Path | None:
        try:
            for frame in self._decoder.decode(None):
                self._encode(frame)  # type: ignore[arg-type]
        except av.error.FFmpegError:
            pass
        for packet in self._stream.encode(None):
            self._out.mux(packet)
        self._out.close()
        return self.path if self.count else None


def mask_image(image: npt.NDArray[Any], mask: npt.NDArray[np.bool_] | None) -> npt.NDArray[Any]:
    if mask is not None:
        image = image.copy()
        image[mask] = 0
    return image


def open_writer(
    path: Path, template: VideoStream, masks: Sequence[Sequence[tuple[float, float]]]
) -> ClipWriter:
    """The cheapest writer that honours the masks and the source codec."""
    if not masks and template.codec_context.name in REMUX_CODECS:
        return RemuxClipWriter(path, template)
    return EncodeClipWriter(path, template, masks)


def snapshot_jpeg(
    frame: VideoFrame, masks: Sequence[Sequence[tuple[float, float]]], quality: int = 85
) -> bytes:
    """The JPEG of one frame with the privacy masks blacked out."""
    image = frame.to_ndarray(format="bgr24")
    mask = polygon_mask(masks, image.shape[1], image.shape[0]) if masks else None
    ok, data = cv2.imencode(".jpg", mask_image(image, mask), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(data.tobytes())
