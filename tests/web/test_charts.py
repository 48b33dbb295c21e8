"""The report's SVG charts: one bar per agency and month, scaled to the largest value."""

from __future__ import annotations

import re

from doorstep.web.charts import grouped_bars


def test_one_bar_per_group_and_series_scaled_to_the_top() -> None:
    rows = [
        {"month": "2026-10", "agency": "North PD", "requests": 2},
        {"month": "2026-11", "agency": "North PD", "requests": 4},
        {"month": "2026-11", "agency": "<South>", "requests": 1},
    ]
    svg = grouped_bars(rows, "month", "agency", "requests", "Requests")
    heights = {
        title: float(h)
        for h, title in re.findall(r'height="([\d.]+)" fill="[^"]+"><title>([^<]+)</title>', svg)
    }
    assert set(heights) == {
        "North PD, 2026-10: 2",
        "North PD, 2026-11: 4",
        "&lt;South&gt;, 2026-10: 0",
        "&lt;South&gt;, 2026-11: 1",
    }
    assert heights["North PD, 2026-11: 4"] == 2 * heights["North PD, 2026-10: 2"]
    assert heights["&lt;South&gt;, 2026-10: 0"] == 0
    assert "<South>" not in svg  # names are escaped
