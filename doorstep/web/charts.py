"""Small server-rendered SVG charts: readable without JavaScript, printable, no library.

An SVG scales its text with its width, so the chart is drawn narrow (``WIDTH`` units) and
the stylesheet shows it between about 320 px (a phone) and 440 px (``.chart svg``'s
max-width) wide: text of ``FONT`` units then renders at 12-17 px, never the 6 px a
640-unit chart squeezed onto a phone gave. Axis labels that would overlap are thinned,
and the legend wraps onto as many rows as it needs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from html import escape
from typing import Any

PALETTE = ["#0b5fff", "#e8590c", "#2b8a3e", "#862e9c", "#c92a2a", "#1098ad"]
WIDTH = 340  # viewBox units across
FONT = 13  # text size in viewBox units
CHAR = FONT * 0.62  # a generous average glyph width, to lay text out without measuring it
LEFT, TOP, PLOT = 36, 18, 140  # y-axis gutter, room above the tallest bar, plot height
LEGEND_ROW = 20


def _text_width(text: str) -> float:
    return len(text) * CHAR


def _clip(text: str, room: float) -> str:
    """``text`` cut with an ellipsis to fit ``room`` units (the full text is in a title)."""
    fits = max(1, int(room / CHAR))
    return text if len(text) <= fits else text[: fits - 1] + "…"


def _legend(names: list[str], y0: float) -> tuple[list[str], float]:
    """Swatches and names, wrapped into rows across the chart; returns parts and height."""
    parts: list[str] = []
    x, y = 0.0, y0
    for si, name in enumerate(names):
        shown = _clip(name, WIDTH - 18)
        need = 18 + _text_width(shown) + 12
        if x > 0 and x + need > WIDTH:
            x, y = 0.0, y + LEGEND_ROW
        colour = PALETTE[si % len(PALETTE)]
        parts.append(
            f'<g><title>{escape(name)}</title><rect x="{x:.1f}" y="{y - 11:.1f}" width="12" '
            f'height="12" fill="{colour}"/>'
            f'<text x="{x + 16:.1f}" y="{y}">{escape(shown)}</text></g>'
        )
        x += need
    return parts, (y - y0 + LEGEND_ROW) if names else 0.0


def grouped_bars(
    rows: Sequence[dict[str, Any]], group: str, series: str, value: str, title: str
) -> str:
    """Bars of `value` per `group` (x axis), one colour per `series`, as an SVG string."""
    groups = sorted({str(r[group]) for r in rows})
    names = sorted({str(r[series]) for r in rows})
    values: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        values[(str(r[group]), str(r[series]))] += float(r[value] or 0)
    top = max(values.values(), default=0) or 1
    base = TOP + PLOT  # the x axis
    slot = (WIDTH - LEFT) / max(1, len(groups))
    bar = min(32.0, max(3.0, slot * 0.8 / max(1, len(names))))  # a lone bar does not fill it
    widest = max((_text_width(g) for g in groups), default=0.0)
    every = max(1, math.ceil((widest + 8) / slot))  # label every n-th group so none overlap
    legend, legend_height = _legend(names, base + 2 * FONT + 16)
    height = base + 2 * FONT + 10 + legend_height
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height:.0f}" font-size="{FONT}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#999"/>',
        f'<text x="{LEFT - 4}" y="{TOP}" text-anchor="end">{top:g}</text>'
        f'<text x="{LEFT - 4}" y="{base}" text-anchor="end">0</text>',
    ]
    for gi, g in enumerate(groups):
        x0 = LEFT + gi * slot + slot * 0.1
        if gi % every == 0:
            parts.append(f'<text x="{x0:.1f}" y="{base + FONT + 4}">{escape(g)}</text>')
        for si, name in enumerate(names):
            v = values.get((g, name), 0.0)
            h = (PLOT - 4) * v / top
            x = x0 + si * bar
            y = base - h
            colour = PALETTE[si % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{colour}">'
                f"<title>{escape(name)}, {escape(g)}: {v:g}</title></rect>"
            )
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)
