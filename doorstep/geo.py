"""Request areas and time windows: parsing, validation, matching and coarsening.

A police request names an area (a GeoJSON Polygon or a circle) and a time window.
This module turns user input into an :class:`Area`, enforces the domain limits of
DESIGN.md with messages an officer can act on, answers "is this camera inside?",
and coarsens an area for the public report. It is pure: no database, no I/O.

Decisions
---------
* Sizes are measured on the ground: the geodesic area on the WGS84 ellipsoid
  (``pyproj.Geod.geometry_area_perimeter``), never square degrees, which shrink
  with latitude.
* A circle becomes a 64-vertex polygon whose vertices are computed with
  ``Geod.fwd``, so it is round on the ground rather than in degrees. The polygon
  is what gets matched and stored; it is inscribed, so for a 640 m radius its
  edges lie at most ~0.8 m inside the true circle.
* An unclosed ring is accepted and closed (drawing tools differ on this); a
  GeoJSON Feature wrapping a Polygon or circle is unwrapped.
* Holes (more than one ring) are rejected: an officer who wants to leave out a
  block should draw a smaller area. This keeps matching and the public report
  simple. Coordinates may carry a third value (altitude); it is ignored.
* Areas that cross the 180th meridian or enclose a pole are rejected: no
  neighbourhood needs one, and planar lon/lat containment would be wrong there.
* ``contains`` is a planar test in lon/lat with boundary points counted inside.
  Over areas this small the error is millimetres.
* Time windows must be timezone-aware: a naive time is ambiguous by up to a day,
  and a request is an accountable record, so it is rejected rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeGuard

import h3
import shapely
from pyproj import Geod
from shapely.geometry import Polygon

from doorstep.errors import InvalidArea, InvalidWindow

GEOD = Geod(ellps="WGS84")
SQ_METRES_PER_SQ_MILE = 2_589_988.110336
MIN_AREA_SQ_MI = 0.025
MAX_AREA_SQ_MI = 0.5
MIN_COMPACTNESS = 0.2
CIRCLE_VERTICES = 64
MIN_WINDOW = timedelta(minutes=15)
MAX_WINDOW = timedelta(hours=12)
MAX_WINDOW_AGE = timedelta(days=30)
COARSE_H3_RESOLUTION = 7
_HUGE_RADIUS_M = 50_000.0

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Area:
    """A validated request area; ``polygon`` is in (lon, lat) order."""

    polygon: Polygon
    area_sq_mi: float
    bbox: BBox
    centroid: tuple[float, float]
    kind: Literal["polygon", "circle"] = "polygon"
    center: tuple[float, float] | None = None
    radius_m: float | None = None

    def to_geojson(self) -> dict[str, Any]:
        """The area as a GeoJSON Polygon (a circle is given as its polygon)."""
        ring = [[x, y] for x, y in self.polygon.exterior.coords]
        return {"type": "Polygon", "coordinates": [ring]}


def parse_area(
    data: object,
    *,
    min_sq_mi: float = MIN_AREA_SQ_MI,
    max_sq_mi: float = MAX_AREA_SQ_MI,
    min_compactness: float = MIN_COMPACTNESS,
    circle_vertices: int = CIRCLE_VERTICES,
) -> Area:
    """Parse and validate a GeoJSON Polygon, a Feature wrapping one, or a circle.

    A circle is ``{"type": "Circle", "center": [lon, lat], "radius_m": metres}``.
    Raises :class:`InvalidArea` (field ``"area"``) with a message saying what to fix.

    A polygon must also be compact enough (Polsby-Popper, ``4 pi A / P^2`` on the
    ground: 1 for a circle, 0.785 for a square, 0.2 for a 1:13 strip). Officers see how
    many cameras a request asked; a run of strips metres wide would turn that count into
    a camera's position, which only its owner may share.
    """
    data = _unwrap_feature(data)
    kind = data.get("type")
    if kind == "Polygon":
        polygon = _polygon_from_geojson(data)
        area = _build_area(polygon, kind="polygon")
        _check_compact(polygon, min_compactness)
    elif kind == "Circle":
        center, radius_m = _circle_params(data)
        if radius_m > _HUGE_RADIUS_M:  # a polygon would wrap the globe (or radius**2 overflow)
            raise _error(
                f"The circle's radius is over {_HUGE_RADIUS_M / 1000:g} km; the maximum is "
                f"{max_sq_mi:g} sq mi: draw a smaller area."
            )
        polygon = circle_polygon(center, radius_m, circle_vertices)
        area = _build_area(polygon, kind="circle", center=center, radius_m=radius_m)
    else:
        raise _error(
            f"Unknown area type {kind!r}: send a GeoJSON Polygon or "
            '{"type": "Circle", "center": [lon, lat], "radius_m": ...}.'
        )
    _check_size(area.area_sq_mi, min_sq_mi, max_sq_mi)
    return area


def circle_polygon(
    center: tuple[float, float], radius_m: float, vertices: int = CIRCLE_VERTICES
) -> Polygon:
    """A polygon approximating a circle on the ground, vertices placed with ``Geod.fwd``."""
    lon, lat = center
    azimuths = [360.0 * i / vertices for i in range(vertices)]
    lons, lats, _ = GEOD.fwd([lon] * vertices, [lat] * vertices, azimuths, [radius_m] * vertices)
    ring = list(zip(lons, lats, strict=True))
    return Polygon([*ring, ring[0]])


def geodesic_area_sq_mi(polygon: Polygon) -> float:
    """Area on the WGS84 ellipsoid in square miles, whatever the ring's orientation."""
    area_m2, _ = GEOD.geometry_area_perimeter(polygon)
    return abs(area_m2) / SQ_METRES_PER_SQ_MILE


def contains(area: Area, lon: float, lat: float) -> bool:
    """Whether a point (a camera's location) lies in the area; the boundary counts."""
    return bool(area.polygon.covers(shapely.Point(lon, lat)))


def contains_many(area: Area, lons: Sequence[float], lats: Sequence[float]) -> list[bool]:
    """:func:`contains` for many points at once, in one vectorised call.

    For a point, "intersects" is "covers": inside or on the boundary.
    """
    if not lons:
        return []
    shapely.prepare(area.polygon)
    return [bool(v) for v in shapely.intersects_xy(area.polygon, lons, lats)]


def coarse_location(area: Area) -> dict[str, Any]:
    """Where a request was, coarse enough for the public report (~1 km).

    The H3 cell (resolution 7, ~5 sq km) of the centroid and the centroid rounded
    to two decimals; never the drawn shape.
    """
    lon, lat = area.centroid
    return {
        "h3_cell": h3.latlng_to_cell(lat, lon, COARSE_H3_RESOLUTION),
        "h3_resolution": COARSE_H3_RESOLUTION,
        "lon": round(lon, 2),
        "lat": round(lat, 2),
    }


def validate_window(
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    min_duration: timedelta = MIN_WINDOW,
    max_duration: timedelta = MAX_WINDOW,
    max_age: timedelta = MAX_WINDOW_AGE,
) -> tuple[datetime, datetime]:
    """Check a request's time window; return ``(start, end)`` normalised to UTC.

    The window must be 15 min to 12 h long, have ended, and have started no more
    than 30 days ago (defaults). Raises :class:`InvalidWindow` naming the field.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    _require_aware(start, "start")
    _require_aware(end, "end")
    duration = end - start
    if duration <= timedelta(0):
        raise InvalidWindow("The window ends before it starts: swap start and end.", field="end")
    if duration < min_duration:
        raise InvalidWindow(
            f"The window is {_human(duration)} long; the minimum is {_human(min_duration)}: "
            "widen it.",
            field="end",
        )
    if duration > max_duration:
        raise InvalidWindow(
            f"The window is {_human(duration)} long; the maximum is {_human(max_duration)}: "
            "narrow it.",
            field="end",
        )
    if end > now:
        raise InvalidWindow(
            "The window has not ended yet: requests can only cover the past; "
            "set the end to now or earlier.",
            field="end",
        )
    if start < now - max_age:
        raise InvalidWindow(
            f"The window starts {_human(now - start)} ago; the limit is {_human(max_age)} ago: "
            "footage that old may no longer exist.",
            field="start",
        )
    return start.astimezone(UTC), end.astimezone(UTC)


# --- parsing helpers -------------------------------------------------------


def _error(message: str) -> InvalidArea:
    return InvalidArea(message, field="area")


def _unwrap_feature(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _error("The area must be a JSON object: a GeoJSON Polygon or a circle.")
    if data.get("type") == "Feature":
        geometry = data.get("geometry")
        if not isinstance(geometry, Mapping) or geometry.get("type") == "Feature":
            raise _error("The Feature has no geometry: put a Polygon in its 'geometry'.")
        return geometry
    return data


def _polygon_from_geojson(data: Mapping[str, Any]) -> Polygon:
    rings = data.get("coordinates")
    if not isinstance(rings, Sequence) or isinstance(rings, str) or not rings:
        raise _error("The Polygon has no coordinates: give [[[lon, lat], ...]].")
    if len(rings) > 1:
        raise _error(
            f"The Polygon has {len(rings)} rings; holes are not supported: "
            "send only the outer boundary."
        )
    ring = _ring(rings[0])
    polygon = Polygon(ring)
    _check_valid(polygon)
    return polygon


def _ring(raw: object) -> list[tuple[float, float]]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise _error("The Polygon's ring must be a list of [lon, lat] points.")
    points = [_position(p, i) for i, p in enumerate(raw)]  # shapely closes an open ring
    if len(set(points)) < 3:
        raise _error(f"The Polygon has {len(set(points))} distinct points; it needs at least 3.")
    return points


def _position(raw: object, index: int) -> tuple[float, float]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) not in (2, 3):
        raise _error(f"Point {index} must be [lon, lat]; got {raw!r}.")
    lon, lat = raw[0], raw[1]
    if not (_is_number(lon) and _is_number(lat)):
        raise _error(f"Point {index} must hold two numbers [lon, lat]; got {raw!r}.")
    _check_lon_lat(float(lon), float(lat), f"Point {index}")
    return float(lon), float(lat)


def _is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number; an integer too large for a float (400 digits) is not one."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_lon_lat(lon: float, lat: float, what: str) -> None:
    if not -180.0 <= lon <= 180.0:
        raise _error(
            f"{what} has longitude {lon}, outside -180..180: "
            "coordinates go [lon, lat], longitude first."
        )
    if not -90.0 <= lat <= 90.0:
        raise _error(
            f"{what} has latitude {lat}, outside -90..90: "
            "coordinates go [lon, lat], longitude first."
        )


def _check_valid(polygon: Polygon) -> None:
    reason = shapely.is_valid_reason(polygon)
    if reason == "Valid Geometry":
        return
    if reason.startswith(("Self-intersection", "Ring Self-intersection")):
        where = reason[reason.find("[") + 1 : reason.find("]")].split()
        near = f" near lon {float(where[0]):.5f}, lat {float(where[1]):.5f}" if where else ""
        raise _error(f"The area's boundary crosses itself{near}: redraw it without crossings.")
    raise _error(f"The area is not a valid polygon ({reason}): redraw it.")


def _circle_params(data: Mapping[str, Any]) -> tuple[tuple[float, float], float]:
    center = data.get("center")
    if not isinstance(center, Sequence) or isinstance(center, str) or len(center) != 2:
        raise _error("The circle needs 'center': [lon, lat].")
    lon, lat = center
    if not (_is_number(lon) and _is_number(lat)):
        raise _error(f"The circle's center must be two numbers [lon, lat]; got {center!r}.")
    _check_lon_lat(float(lon), float(lat), "The circle's center")
    radius = data.get("radius_m")
    if not _is_number(radius) or float(radius) <= 0:
        raise _error(f"The circle needs 'radius_m', a positive number of metres; got {radius!r}.")
    return (float(lon), float(lat)), float(radius)


def _build_area(
    polygon: Polygon,
    *,
    kind: Literal["polygon", "circle"],
    center: tuple[float, float] | None = None,
    radius_m: float | None = None,
) -> Area:
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    if max_lon - min_lon > 180.0 or max_lat >= 90.0 or min_lat <= -90.0:
        raise _error(
            "Areas that cross the 180th meridian or touch a pole are not supported: "
            "draw the area on one side."
        )
    shapely.prepare(polygon)
    c = polygon.centroid
    return Area(
        polygon=polygon,
        area_sq_mi=geodesic_area_sq_mi(polygon),
        bbox=(min_lon, min_lat, max_lon, max_lat),
        centroid=(c.x, c.y),
        kind=kind,
        center=center,
        radius_m=radius_m,
    )


def compactness(polygon: Polygon) -> float:
    """Polsby-Popper score on the ground: 4 pi area / perimeter squared, 0 to 1."""
    area_m2, perimeter_m = GEOD.geometry_area_perimeter(polygon)
    return 4 * math.pi * abs(area_m2) / perimeter_m**2 if perimeter_m else 0.0


def _check_compact(polygon: Polygon, minimum: float) -> None:
    score = compactness(polygon)
    if score < minimum:
        raise _error(
            f"The area is too thin (compactness {score:.2f}, at least {minimum:g} needed, "
            "about a 1:13 rectangle): draw a wider area around the place."
        )


def _check_size(area_sq_mi: float, min_sq_mi: float, max_sq_mi: float) -> None:
    if area_sq_mi > max_sq_mi:
        raise _error(
            f"Area is {_fmt_near(area_sq_mi, max_sq_mi)} sq mi; the maximum is {max_sq_mi:g} "
            "sq mi: draw a smaller area."
        )
    if area_sq_mi < min_sq_mi:
        raise _error(
            f"Area is {_fmt_near(area_sq_mi, min_sq_mi)} sq mi; the minimum is {min_sq_mi:g} "
            "sq mi: draw a larger area."
        )


def _fmt_near(value: float, limit: float) -> str:
    """Two decimals, or more when needed so the value does not print as the limit."""
    for digits in range(2, 8):
        text = f"{value:.{digits}f}"
        if float(text) != limit and text != f"{0:.{digits}f}":
            return text
    return f"{value:.8g}"


def _require_aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidWindow(
            f"The window's {field} has no timezone: add one, e.g. 2024-05-01T14:00:00Z.",
            field=field,
        )


def _human(delta: timedelta) -> str:
    """A duration in days, h, min and s, exact to the second (no misleading rounding)."""
    seconds = int(delta.total_seconds())
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    parts = [(days, "days" if days != 1 else "day"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 s"
