"""Draw the app icons (doorstep/web/static/icons/*.png) with OpenCV; run once at dev time.

A door in a rounded square. ``maskable-*`` fill the whole square and keep the door inside
the centre 80 % (the safe zone a launcher's mask never cuts); ``badge-96`` is the white
silhouette Android shows in the status bar. Re-run after changing the drawing and commit
the PNGs: the hub serves them as static files and needs no image library.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "doorstep" / "web" / "static" / "icons"
TEAL = (0x6B, 0x5E, 0x0F, 255)  # BGRA of #0f5e6b, the theme colour
WHITE = (255, 255, 255, 255)
AMBER = (0x3B, 0xB5, 0xF2, 255)


def door(img: np.ndarray, scale: float, colour: tuple[int, ...], knob: tuple[int, ...]) -> None:
    """The door glyph, centred, ``scale`` of the image's side tall."""
    size = img.shape[0]
    h = size * scale
    w = h * 0.55
    x0, y0 = int((size - w) / 2), int((size - h) / 2)
    x1, y1 = int(x0 + w), int(y0 + h)
    cv2.rectangle(img, (x0, y0), (x1, y1), colour, thickness=-1, lineType=cv2.LINE_AA)
    inset = max(2, int(w * 0.12))
    r = max(2, int(w * 0.07))
    cv2.circle(img, (x1 - inset - r, (y0 + y1) // 2), r, knob, -1, cv2.LINE_AA)


def rounded(size: int, radius: int, colour: tuple[int, ...]) -> np.ndarray:
    img = np.zeros((size, size, 4), np.uint8)
    cv2.rectangle(img, (radius, 0), (size - radius, size), colour, -1)
    cv2.rectangle(img, (0, radius), (size, size - radius), colour, -1)
    for cx in (radius, size - radius - 1):
        for cy in (radius, size - radius - 1):
            cv2.circle(img, (cx, cy), radius, colour, -1, cv2.LINE_AA)
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon = rounded(size, size // 6, TEAL)
        door(icon, 0.62, WHITE, AMBER)
        cv2.imwrite(str(OUT / f"icon-{size}.png"), icon)
        maskable = np.zeros((size, size, 4), np.uint8)
        maskable[:] = TEAL
        door(maskable, 0.5, WHITE, AMBER)
        cv2.imwrite(str(OUT / f"maskable-{size}.png"), maskable)
    badge = np.zeros((96, 96, 4), np.uint8)
    door(badge, 0.8, WHITE, (0, 0, 0, 0))
    cv2.imwrite(str(OUT / "badge-96.png"), badge)


if __name__ == "__main__":
    main()
