"""Small server-rendered SVG charts: readable without JavaScript, printable, no library."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape
from typing import Any

PALETTE = ["#0b5fff", "#e8590c", "#2b8a3e", "#862e9c", "#c92a2a", "#1098ad"]


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
    width, height, left, bottom = 640, 240, 40, 40
    slot = (width - left) / max(1, len(groups))
    bar = min(48.0, max(4.0, slot * 0.8 / max(1, len(names))))  # a lone bar does not fill the chart
    parts = [
        f'<svg viewBox="0 0 {width} {height + 30}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" '
        'stroke="#999"/>',
        f'<text x="4" y="12">{top:g}</text><text x="4" y="{height - bottom}">0</text>',
    ]
    for gi, g in enumerate(groups):
        x0 = left + gi * slot + slot * 0.1
        parts.append(f'<text x="{x0:.1f}" y="{height - bottom + 16}">{escape(g)}</text>')
        for si, name in enumerate(names):
            v = values.get((g, name), 0.0)
            h = (height - bottom - 20) * v / top
            x = x0 + si * bar
            y = height - bottom - h
            colour = PALETTE[si % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{colour}">'
                f"<title>{escape(name)}, {escape(g)}: {v:g}</title></rect>"
            )
    for si, name in enumerate(names):
        colour = PALETTE[si % len(PALETTE)]
        x = left + si * 160
        parts.append(f'<rect x="{x}" y="{height + 8}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{height + 18}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
