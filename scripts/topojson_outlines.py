"""Turn a world-atlas TopoJSON into the small GeoJSON the offline map draws.

Run by scripts/vendor-js (a maintainer's step, not at run time). Each arc of the
topology is written once, as a line, so shared borders are not drawn twice: arcs the
``land`` object uses are coastlines, the other arcs of ``countries`` are borders.
Coordinates are rounded to 0.01 degree (about 1 km), which is what the data's own
1:50m scale can resolve, and each line is simplified (Douglas-Peucker, 0.02 degree),
which keeps the file well under 1 MB.

Usage: python3 scripts/topojson_outlines.py countries-50m.json outlines.geojson
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

DIGITS = 2
TOLERANCE = 0.02  # degrees (~2 km): keeps the file well under 1 MB


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Absolute lon/lat points of each arc (quantized arcs are delta-encoded)."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in (p[:2] for p in arc):
            if transform:
                x, y = x + dx, y + dy
                lon = x * transform["scale"][0] + transform["translate"][0]
                lat = y * transform["scale"][1] + transform["translate"][1]
            else:
                lon, lat = dx, dy
            points.append((round(lon, DIGITS), round(lat, DIGITS)))
        arcs.append(points)
    return arcs


def arc_indexes(value: Any) -> Iterator[int]:
    """Every arc an object refers to (a negative index is the arc reversed, ~i)."""
    if isinstance(value, int):
        yield value if value >= 0 else ~value
    elif isinstance(value, list):
        for item in value:
            yield from arc_indexes(item)


def used_arcs(obj: dict[str, Any]) -> set[int]:
    found: set[int] = set()
    for geometry in obj.get("geometries", [obj]):
        found.update(arc_indexes(geometry.get("arcs", [])))
    return found


def _distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """How far p lies from the segment a-b, in degrees (flat: fine at this tolerance)."""
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
    return float(((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5)


def simplify(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Douglas-Peucker: the fewest points that stay within TOLERANCE of the arc."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        far, index = 0.0, 0
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > far:
                far, index = d, i
        if far > TOLERANCE:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def line(points: list[tuple[float, float]]) -> list[list[float]]:
    kept: list[list[float]] = []
    for lon, lat in simplify(points):
        if not kept or kept[-1] != [lon, lat]:
            kept.append([lon, lat])
    return kept


def outlines(topology: dict[str, Any]) -> dict[str, Any]:
    arcs = decode_arcs(topology)
    coast = used_arcs(topology["objects"]["land"])
    borders = used_arcs(topology["objects"]["countries"]) - coast

    def feature(kind: str, indexes: set[int]) -> dict[str, Any]:
        lines = [pts for pts in (line(arcs[i]) for i in sorted(indexes)) if len(pts) > 1]
        return {
            "type": "Feature",
            "properties": {"kind": kind},
            "geometry": {"type": "MultiLineString", "coordinates": lines},
        }

    return {
        "type": "FeatureCollection",
        "features": [feature("coast", coast), feature("border", borders)],
    }


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as f:
        topology = json.load(f)
    with open(target, "w", encoding="utf-8") as f:
        json.dump(outlines(topology), f, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
