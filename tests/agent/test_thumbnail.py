"""The analysis thumbnail: the same grey image whatever the decoder's pixel format."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from av.video.frame import VideoFrame

import doorstep.demo
from doorstep.agent.motion import Thumbnailer

DEMO_VIDEO = Path(doorstep.demo.__file__).parent / "vtest_h264.mp4"  # 768x576 yuv420p


def first_frame() -> VideoFrame:
    with av.open(str(DEMO_VIDEO)) as container:
        frame = next(container.decode(video=0))
        assert frame.format.name == "yuv420p"
        return frame


def test_8bit_thumbnail_matches_opencv_area_scaling() -> None:
    frame = first_frame()
    luma = frame.to_ndarray()[: frame.height]  # yuv420p as an array: the Y rows first
    reference = cv2.resize(luma, (320, 240), interpolation=cv2.INTER_AREA)
    image = Thumbnailer(320, 240)(frame)
    assert image.shape == (240, 320)
    assert int(cv2.absdiff(image, reference).max()) <= 1


@pytest.mark.parametrize("pixel_format", ["yuv420p10le", "p010le"])
def test_10bit_frames_give_the_same_thumbnail(pixel_format: str) -> None:
    """Wider samples must be scaled down, not read as bytes (a 10-bit HEVC camera)."""
    frame = first_frame()
    expected = Thumbnailer(320, 240)(frame).copy()
    image = Thumbnailer(320, 240)(frame.reformat(format=pixel_format))
    assert image.shape == (240, 320) and image.dtype == np.uint8
    assert int(cv2.absdiff(image, expected).max()) <= 2


def test_rgb_frames_give_their_full_range_grey() -> None:
    """RGB carries no limited-range luma: its grey is full range, the same picture stretched."""
    frame = first_frame()
    limited = Thumbnailer(320, 240)(frame).astype(np.float32)
    image = Thumbnailer(320, 240)(frame.reformat(format="rgb24"))
    stretched = np.clip((limited - 16) * 255 / 219, 0, 255)
    assert image.shape == (240, 320) and image.dtype == np.uint8
    # Within a few levels: YUV to RGB clips some colours before the grey is taken.
    assert np.percentile(np.abs(image - stretched), 99) <= 6
