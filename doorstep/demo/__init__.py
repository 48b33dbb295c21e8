"""Sample footage for `doorstep demo`.

vtest_h264.mp4: PETS 2009 S2.L1 View 001 (University of Reading), as shipped with
OpenCV's sample data (Apache-2.0 / BSD-3-Clause), transcoded to H.264.
"""

from pathlib import Path

SAMPLE_VIDEO = Path(__file__).with_name("vtest_h264.mp4")
