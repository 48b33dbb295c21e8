"""Request areas and windows: ground-true sizes, exact containment, actionable errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import h3
import pytest
from pyproj import Geod

from doorstep import geo
from doorstep.errors import InvalidArea, InvalidWindow

GEOD = Geod(ellps="WGS84")
SQ_MI = 2_589_988.110336


def square(lon: float, lat: float, side_m: float, *, closed: bool = True) -> dict:
    """A GeoJSON square with ``side_m`` metre sides, its south-west corner at (lon, lat)."""
    east_lon, _, _ = GEOD.fwd(lon, lat, 90, side_m)
    _, north_lat, _ = GEOD.fwd(lon, lat, 0, side_m)
    ring = [[lon, lat], [east_lon, lat], [east_lon, north_lat], [lon, north_lat]]
    if closed:
        ring.append([lon, lat])
    return {"type": "Polygon", "coordinates": [ring]}


def side_for(sq_mi: float) -> float:
    return math.sqrt(sq_mi * SQ_MI)


# --- parsing and size -------------------------------------------------------


@pytest.mark.parametrize("lat", [0.0, 51.5, 64.1])
def test_area_is_measured_on_the_ground_not_in_degrees(lat: float) -> None:
    side = side_for(0.2)
    area = geo.parse_area(square(10.0, lat, side))
    assert area.area_sq_mi == pytest.approx(0.2, rel=0.01)
    assert area.kind == "polygon"


def test_bbox_centroid_and_geojson_round_trip() -> None:
    data = square(-0.1, 51.5, side_for(0.1))
    area = geo.parse_area(data)
    ring = data["coordinates"][0]
    assert area.bbox == pytest.approx((ring[0][0], ring[0][1], ring[2][0], ring[2][1]))
    assert area.centroid == pytest.approx(
        ((ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2)
    )
    again = geo.parse_area(area.to_geojson())
    assert again.area_sq_mi == pytest.approx(area.area_sq_mi)
    assert area.to_geojson()["coordinates"][0][0] == area.to_geojson()["coordinates"][0][-1]


def test_clockwise_ring_has_positive_area() -> None:
    data = square(2.35, 48.85, side_for(0.1))
    data["coordinates"][0].reverse()
    assert geo.parse_area(data).area_sq_mi == pytest.approx(0.1, rel=0.01)


def test_unclosed_ring_is_closed() -> None:
    closed = geo.parse_area(square(2.35, 48.85, side_for(0.1)))
    opened = geo.parse_area(square(2.35, 48.85, side_for(0.1), closed=False))
    assert opened.polygon.equals(closed.polygon)


def test_feature_wrapping_a_polygon_is_accepted() -> None:
    feature = {"type": "Feature", "properties": {}, "geometry": square(2.35, 48.85, side_for(0.1))}
    assert geo.parse_area(feature).area_sq_mi == pytest.approx(0.1, rel=0.01)


def test_altitude_is_ignored() -> None:
    data = square(2.35, 48.85, side_for(0.1))
    data["coordinates"][0] = [[*p, 35.0] for p in data["coordinates"][0]]
    assert geo.parse_area(data).area_sq_mi == pytest.approx(0.1, rel=0.01)


def test_circle_is_round_on_the_ground() -> None:
    area = geo.parse_area({"type": "Circle", "center": [-122.42, 37.77], "radius_m": 300})
    assert area.kind == "circle" and area.radius_m == 300
    assert area.area_sq_mi == pytest.approx(math.pi * 300**2 / SQ_MI, rel=0.005)
    assert len(area.polygon.exterior.coords) == geo.CIRCLE_VERTICES + 1
    for lon, lat in area.polygon.exterior.coords:
        _, _, distance = GEOD.inv(-122.42, 37.77, lon, lat)
        assert distance == pytest.approx(300, abs=0.01)


def test_circle_in_a_feature() -> None:
    feature = {"type": "Feature", "geometry": {"type": "Circle", "center": [0, 0], "radius_m": 300}}
    assert geo.parse_area(feature).kind == "circle"


def test_too_large_names_size_and_limit() -> None:
    with pytest.raises(InvalidArea) as info:
        geo.parse_area(square(-0.1, 51.5, side_for(0.81)))
    assert info.value.field == "area"
    assert (
        info.value.message == "Area is 0.81 sq mi; the maximum is 0.5 sq mi: draw a smaller area."
    )


def test_too_small_names_size_and_limit() -> None:
    with pytest.raises(InvalidArea) as info:
        geo.parse_area(square(-0.1, 51.5, side_for(0.01)))
    assert (
        info.value.message == "Area is 0.01 sq mi; the minimum is 0.025 sq mi: draw a larger area."
    )


def test_just_over_the_limit_does_not_print_as_the_limit() -> None:
    with pytest.raises(InvalidArea, match=r"Area is 0\.50\d+ sq mi; the maximum is 0\.5 sq mi"):
        geo.parse_area(square(-0.1, 51.5, side_for(0.503)))


def test_limits_are_parameters() -> None:
    data = square(-0.1, 51.5, side_for(0.81))
    assert geo.parse_area(data, max_sq_mi=1.0).area_sq_mi == pytest.approx(0.81, rel=0.01)
    with pytest.raises(InvalidArea, match="minimum is 1 sq mi"):
        geo.parse_area(data, min_sq_mi=1.0, max_sq_mi=2.0)


@pytest.mark.parametrize("radius_m", [1000, 60_000, 1e9, 1e300])
def test_circle_too_large(radius_m: float) -> None:
    with pytest.raises(InvalidArea, match="the maximum is 0.5 sq mi: draw a smaller area"):
        geo.parse_area({"type": "Circle", "center": [0, 0], "radius_m": radius_m})


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("not a dict", "must be a JSON object"),
        ([[0, 0]], "must be a JSON object"),
        ({"type": "Point", "coordinates": [0, 0]}, "Unknown area type 'Point'"),
        ({"coordinates": []}, "Unknown area type None"),
        ({"type": "Feature", "geometry": None}, "no geometry"),
        ({"type": "Polygon"}, "no coordinates"),
        ({"type": "Polygon", "coordinates": []}, "no coordinates"),
        ({"type": "Polygon", "coordinates": ["abc"]}, "ring must be a list"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [0, "1"], [1, 1]]]},
            "Point 1 must hold two numbers",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [0, True], [1, 1]]]},
            "Point 1 must hold two numbers",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 0], [0, float("nan")], [1, 1]]]}, "Point 1"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [0], [1, 1]]]}, "Point 1 must be [lon, lat]"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1]]]},
            "longitude 181.0, outside -180..180",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [0, 91], [1, 1]]]},
            "latitude 91.0, outside -90..90",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [0, 0.001], [0, 0]]]},
            "2 distinct points; it needs at least 3",
        ),
        ({"type": "Circle", "center": [0], "radius_m": 300}, "needs 'center'"),
        ({"type": "Circle", "center": ["a", 0], "radius_m": 300}, "two numbers"),
        ({"type": "Circle", "center": [0, 95], "radius_m": 300}, "latitude 95.0"),
        ({"type": "Circle", "center": [0, 0]}, "positive number of metres; got None"),
        ({"type": "Circle", "center": [0, 0], "radius_m": -5}, "positive number of metres; got -5"),
    ],
)
def test_malformed_areas_say_what_to_fix(data: object, fragment: str) -> None:
    with pytest.raises(InvalidArea) as info:
        geo.parse_area(data)
    assert fragment in info.value.message
    assert info.value.field == "area"


def test_self_intersecting_boundary_is_named() -> None:
    s = square(-0.1, 51.5, side_for(0.1))["coordinates"][0]
    bowtie = {"type": "Polygon", "coordinates": [[s[0], s[2], s[1], s[3], s[0]]]}
    with pytest.raises(InvalidArea, match=r"boundary crosses itself near lon -0\.\d+, lat 51\.\d+"):
        geo.parse_area(bowtie)


def test_holes_are_rejected() -> None:
    outer = square(-0.1, 51.5, side_for(0.3))["coordinates"][0]
    inner = square(-0.099, 51.501, side_for(0.01))["coordinates"][0]
    with pytest.raises(InvalidArea, match="2 rings; holes are not supported"):
        geo.parse_area({"type": "Polygon", "coordinates": [outer, inner]})


def test_area_across_the_antimeridian_is_rejected() -> None:
    with pytest.raises(InvalidArea, match="180th meridian"):
        geo.parse_area({"type": "Circle", "center": [179.999, 0], "radius_m": 300})


# --- containment ------------------------------------------------------------


def offset_from_edge_midpoint(
    a: tuple[float, float], b: tuple[float, float], metres: float
) -> tuple[float, float]:
    """A point ``metres`` to the left of edge a->b (negative: right), from its midpoint."""
    az, _, length = GEOD.inv(a[0], a[1], b[0], b[1])
    mid_lon, mid_lat, back_az = GEOD.fwd(a[0], a[1], az, length / 2)
    heading = back_az + 180  # direction of travel at the midpoint
    lon, lat, _ = GEOD.fwd(
        mid_lon, mid_lat, heading - 90 if metres > 0 else heading + 90, abs(metres)
    )
    return lon, lat


@pytest.mark.parametrize(
    "data",
    [
        square(-0.1, 51.5, side_for(0.1)),
        {"type": "Circle", "center": [-73.98, 40.75], "radius_m": 400},
    ],
    ids=["polygon", "circle"],
)
def test_five_metres_inside_is_in_five_metres_outside_is_out(data: dict) -> None:
    area = geo.parse_area(data)
    coords = list(area.polygon.exterior.coords)
    ccw = area.polygon.exterior.is_ccw  # interior lies left of each edge when ccw
    for a, b in zip(coords, coords[1:], strict=False):
        inside = offset_from_edge_midpoint(a, b, 5 if ccw else -5)
        outside = offset_from_edge_midpoint(a, b, -5 if ccw else 5)
        assert geo.contains(area, *inside), (a, b)
        assert not geo.contains(area, *outside), (a, b)


def test_circle_by_radius() -> None:
    area = geo.parse_area({"type": "Circle", "center": [-73.98, 40.75], "radius_m": 400})
    for azimuth in (0, 37, 90, 200, 333):
        lon, lat, _ = GEOD.fwd(-73.98, 40.75, azimuth, 394)
        assert geo.contains(area, lon, lat)
        lon, lat, _ = GEOD.fwd(-73.98, 40.75, azimuth, 405)
        assert not geo.contains(area, lon, lat)


def test_vertex_counts_as_inside() -> None:
    data = square(-0.1, 51.5, side_for(0.1))
    lon, lat = data["coordinates"][0][2]
    assert geo.contains(geo.parse_area(data), lon, lat)


def test_contains_many_agrees_with_contains_at_the_boundary() -> None:
    data = square(-0.1, 51.5, side_for(0.1))
    area = geo.parse_area(data)
    coords = list(area.polygon.exterior.coords)
    points = [coords[0], coords[2]]  # vertices: on the boundary
    for a, b in zip(coords, coords[1:], strict=False):
        points += [offset_from_edge_midpoint(a, b, 5), offset_from_edge_midpoint(a, b, -5)]
    many = geo.contains_many(area, [p[0] for p in points], [p[1] for p in points])
    assert many == [geo.contains(area, *p) for p in points]
    assert True in many and False in many
    assert geo.contains_many(area, [], []) == []


# --- coarse location --------------------------------------------------------


def test_coarse_location_is_coarse() -> None:
    area = geo.parse_area({"type": "Circle", "center": [-0.12345, 51.50789], "radius_m": 300})
    coarse = geo.coarse_location(area)
    assert coarse["lon"] == -0.12 and coarse["lat"] == 51.51
    assert coarse["h3_resolution"] == 7
    assert h3.get_resolution(coarse["h3_cell"]) == 7
    assert coarse["h3_cell"] == h3.latlng_to_cell(area.centroid[1], area.centroid[0], 7)
    lat, lon = h3.cell_to_latlng(coarse["h3_cell"])
    assert GEOD.inv(lon, lat, -0.12345, 51.50789)[2] < 3000  # the right place, roughly
    assert set(coarse) == {"h3_cell", "h3_resolution", "lon", "lat"}  # no shape leaks


# --- time windows -----------------------------------------------------------

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_valid_window_is_returned_in_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    start = datetime(2024, 6, 1, 9, 0, tzinfo=plus2)
    end = datetime(2024, 6, 1, 10, 0, tzinfo=plus2)
    got = geo.validate_window(start, end, NOW)
    assert got == (datetime(2024, 6, 1, 7, 0, tzinfo=UTC), datetime(2024, 6, 1, 8, 0, tzinfo=UTC))
    assert got[0].utcoffset() == timedelta(0)


def test_window_bounds_are_inclusive() -> None:
    geo.validate_window(NOW - timedelta(minutes=15), NOW, NOW)
    geo.validate_window(NOW - timedelta(hours=12), NOW, NOW)
    geo.validate_window(
        NOW - timedelta(days=30), NOW - timedelta(days=30) + timedelta(hours=1), NOW
    )


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (
            NOW - timedelta(hours=1),
            NOW - timedelta(hours=2),
            "end",
            "The window ends before it starts: swap start and end.",
        ),
        (
            NOW - timedelta(hours=1),
            NOW - timedelta(hours=1),
            "end",
            "The window ends before it starts: swap start and end.",
        ),
        (
            NOW - timedelta(minutes=10),
            NOW,
            "end",
            "The window is 10 min long; the minimum is 15 min: widen it.",
        ),
        (
            NOW - timedelta(minutes=14, seconds=59),
            NOW,
            "end",
            "The window is 14 min 59 s long; the minimum is 15 min: widen it.",
        ),
        (
            NOW - timedelta(hours=13),
            NOW,
            "end",
            "The window is 13 h long; the maximum is 12 h: narrow it.",
        ),
        (
            NOW - timedelta(hours=12, seconds=1),
            NOW,
            "end",
            "The window is 12 h 1 s long; the maximum is 12 h: narrow it.",
        ),
        (
            NOW - timedelta(minutes=30),
            NOW + timedelta(minutes=1),
            "end",
            "The window has not ended yet",
        ),
        (
            NOW - timedelta(days=31),
            NOW - timedelta(days=31) + timedelta(hours=1),
            "start",
            "The window starts 31 days ago; the limit is 30 days ago",
        ),
    ],
)
def test_bad_windows_say_what_to_fix(
    start: datetime, end: datetime, field: str, message: str
) -> None:
    with pytest.raises(InvalidWindow) as info:
        geo.validate_window(start, end, NOW)
    assert info.value.message.startswith(message)
    assert info.value.field == field


def test_naive_times_are_rejected() -> None:
    with pytest.raises(InvalidWindow, match="start has no timezone") as info:
        geo.validate_window(datetime(2024, 6, 1, 9), NOW - timedelta(hours=1), NOW)
    assert info.value.field == "start"
    with pytest.raises(InvalidWindow, match="end has no timezone"):
        geo.validate_window(NOW - timedelta(hours=2), datetime(2024, 6, 1, 11), NOW)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        geo.validate_window(
            NOW - timedelta(hours=2), NOW - timedelta(hours=1), datetime(2024, 6, 1)
        )


def test_window_limits_are_parameters() -> None:
    start, end = NOW - timedelta(hours=20), NOW - timedelta(hours=1)
    geo.validate_window(start, end, NOW, max_duration=timedelta(hours=24))
    with pytest.raises(InvalidWindow, match="the minimum is 1 h: widen it"):
        geo.validate_window(NOW - timedelta(minutes=30), NOW, NOW, min_duration=timedelta(hours=1))
    with pytest.raises(InvalidWindow, match="the limit is 7 days ago"):
        geo.validate_window(
            NOW - timedelta(days=8),
            NOW - timedelta(days=8) + timedelta(hours=1),
            NOW,
            max_age=timedelta(days=7),
        )
