"""A clip composed from traffic_camera.mp4 in which a car drives into a zone and parks.

Real pixels throughout, at 640x360 and 12.5 fps: outside the zone the footage plays on
(traffic on every other lane: motion elsewhere in the frame); inside it, the empty road
(the per-pixel median of the footage), onto which two real cars are cut from the
footage where the detector saw them: car A drives in and stops, and from then on is
the same pixels of its last frame, with its hazard lights blinking (the motion a parked
car goes on making: lights, reflections, shadows; pixels held perfectly still would
make none, and nothing would be left for stationary handling to do); later car B
passes beside it in the next lane.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from tests.agent.conftest import rect_zone

WIDTH, HEIGHT = 640, 360
FPS = 12.5
ZONE_PX = (340, 180, 180, 165)  # x, y, w, h at 640x360: the inner lanes near the camera
ZONE = rect_zone(*ZONE_PX, WIDTH, HEIGHT)
# The empty road reaches this far beyond the zone: motion is measured on the frame minus
# its 15x15 blur (at 320 px), so a car passing outside right at the edge of the pasted
# road would otherwise reach into the zone as motion (an artefact of the composition).
ROAD_MARGIN = 24

# Boxes (x, y, w, h at 640x360) the detector found on the source frames, by frame.
CAR_A = {355: (359, 200, 28, 28), 360: (366, 208, 33, 38), 365: (375, 226, 36, 41),
         370: (386, 255, 49, 57)}  # fmt: skip
CAR_B = {240: (397, 188, 25, 22), 245: (409, 195, 28, 28), 250: (420, 208, 38, 33),
         255: (440, 226, 47, 41), 260: (467, 251, 64, 56)}  # fmt: skip
LIGHTS = ((389, 292, 10, 7), (423, 292, 10, 7))  # car A's indicators, front corners
AMBER = (255, 176, 0)

BACKGROUND_FROM = 150  # output frame i shows source frame 150 + 2i outside the zone
A_ARRIVES = 19  # output frames: car A drives in over 8 frames, then is parked
A_PARKED = A_ARRIVES + 8
B_PASSES = 107  # car B passes over 12 frames
B_GONE = B_PASSES + 12
FRAMES = 160

PARKED_AT = A_PARKED / FPS  # seconds into the clip
B_AT = B_PASSES / FPS


def _box_at(track: dict[int, tuple[int, int, int, int]], frame: int) -> tuple[int, ...]:
    """The box at a source frame, linear between the detector's boxes."""
    keys = sorted(track)
    frame = min(max(frame, keys[0]), keys[-1])
    for a, b in zip(keys, keys[1:], strict=False):
        if a <= frame <= b:
            w = (frame - a) / (b - a)
            return tuple(round(p + (q - p) * w) for p, q in zip(track[a], track[b], strict=True))
    return track[keys[-1]]


def _paste(canvas: np.ndarray, source: np.ndarray, box: tuple[int, ...], grow: int = 3) -> None:
    x, y, w, h = box
    x0, y0 = max(0, x - grow), max(0, y - grow)
    x1, y1 = min(WIDTH, x + w + grow), min(HEIGHT, y + h + grow)
    canvas[y0:y1, x0:x1] = source[y0:y1, x0:x1]


def compose(traffic: Path, out: Path) -> Path:
    """Write the clip to ``out`` (H.264 MP4) and return it."""
    wanted = set(range(BACKGROUND_FROM, BACKGROUND_FROM + 2 * FRAMES, 2))
    wanted |= set(range(355, 371)) | set(range(240, 263))
    source: dict[int, np.ndarray] = {}
    with av.open(str(traffic)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for k, frame in enumerate(container.decode(stream)):
            if k in wanted:
                image = frame.to_ndarray(format="rgb24")
                source[k] = cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
            if k >= max(wanted):
                break
    zx, zy = ZONE_PX[0] - ROAD_MARGIN, ZONE_PX[1] - ROAD_MARGIN
    zw, zh = (
        min(WIDTH - zx, ZONE_PX[2] + 2 * ROAD_MARGIN),
        min(HEIGHT - zy, ZONE_PX[3] + 2 * ROAD_MARGIN),
    )
    road = np.median(
        np.stack([source[k][zy : zy + zh, zx : zx + zw] for k in sorted(source)[::4]]), axis=0
    ).astype(np.uint8)
    parked = source[370]
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25, 2))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for i in range(FRAMES):
            image = source[BACKGROUND_FROM + 2 * i].copy()
            image[zy : zy + zh, zx : zx + zw] = road
            if B_PASSES <= i < B_GONE:
                k = 240 + 2 * (i - B_PASSES)
                _paste(image, source[k], _box_at(CAR_B, k))
            if A_ARRIVES <= i < A_PARKED:
                k = 355 + 2 * (i - A_ARRIVES)
                _paste(image, source[k], _box_at(CAR_A, k))
            elif i >= A_PARKED:
                _paste(image, parked, CAR_A[370])
                if (i - A_PARKED) // 4 % 2 == 0:  # 1.6 Hz
                    for lx, ly, lw, lh in LIGHTS:
                        image[ly : ly + lh, lx : lx + lw] = AMBER
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out
