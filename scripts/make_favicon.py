"""Make doorstep/web/static/icons/favicon.ico from the app icon; run after make_icons.py.

Browsers ask for /favicon.ico before they read a page's <link rel="icon">, so the hub
answers it. An ICO file here is a directory of PNG images (allowed since Windows Vista,
read by every current browser) at 16, 32 and 48 px, scaled down from icon-512.png with
OpenCV's area filter; the hub serves the committed file and needs no image library.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2

ICONS = Path(__file__).resolve().parents[1] / "doorstep" / "web" / "static" / "icons"
SIZES = (16, 32, 48)


def ico(pngs: list[tuple[int, bytes]]) -> bytes:
    """An ICONDIR, one ICONDIRENTRY per image, then the PNG bytes (little-endian)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, png in pngs:
        side = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def main() -> None:
    source = cv2.imread(str(ICONS / "icon-512.png"), cv2.IMREAD_UNCHANGED)
    pngs = []
    for size in SIZES:
        small = cv2.resize(source, (size, size), interpolation=cv2.INTER_AREA)
        ok, png = cv2.imencode(".png", small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        assert ok
        pngs.append((size, png.tobytes()))
    (ICONS / "favicon.ico").write_bytes(ico(pngs))


if __name__ == "__main__":
    main()
