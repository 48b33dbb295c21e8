"""Acceptance 2: each invalid request gets its own 422 telling the officer what to change."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from doorstep import geo
from doorstep.hub.models import Role
from tests.hub_fixtures import bearer
from tests.requests.conftest import CENTER, World, add_user, offset, square


def _detail(reply: object) -> tuple[int, str, str]:
    body = reply.json()  # type: ignore[attr-defined]
    return reply.status_code, body["field"], body["detail"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"area": square(half=900)}, "area", "maximum is 0.5 sq mi: draw a smaller area"),
        ({"area": square(half=100)}, "area", "minimum is 0.025 sq mi: draw a larger area"),
        (
            {"area": {"type": "Circle", "center": list(CENTER), "radius_m": 2000}},
            "area",
            "draw a smaller area",
        ),
        (
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [0.01, 0.01], [0, 0.01], [0.01, 0], [0, 0]]],
                }
            },
            "area",
            "crosses itself",
        ),
        ({"area": {"type": "Polygon", "coordinates": "nope"}}, "area", "no coordinates"),
        ({"area": {"type": "Point", "coordinates": [0, 0]}}, "area", "Unknown area type"),
        (
            {"area": {"type": "Circle", "center": [10**400, 0], "radius_m": 300}},
            "area",
            "center",
        ),
        (
            {"area": {"type": "Circle", "center": list(CENTER), "radius_m": 10**400}},
            "area",
            "radius",
        ),
    ],
    ids=[
        "too-large",
        "too-small",
        "circle-too-large",
        "self-intersecting",
        "bad-geojson",
        "not-a-polygon",
        "huge-integer-center",
        "huge-integer-radius",
    ],
)
def test_bad_area(world: World, overrides: dict, field: str, words: str) -> None:
    status, got_field, detail = _detail(world.request(**overrides))
    assert (status, got_field) == (422, field)
    assert words in detail


def test_window_too_long(world: World) -> None:
    start = world.end - timedelta(hours=13)
    status, field, detail = _detail(world.request(start_time=start.isoformat()))
    assert (status, field) == (422, "end")
    assert "the maximum is 12 h: narrow it" in detail


def test_window_too_short(world: World) -> None:
    start = world.end - timedelta(minutes=10)
    status, field, detail = _detail(world.request(start_time=start.isoformat()))
    assert (status, field) == (422, "end")
    assert "the minimum is 15 min: widen it" in detail


def test_window_in_the_future(world: World) -> None:
    now = datetime.now(UTC)
    reply = world.request(
        start_time=(now - timedelta(hours=1)).isoformat(),
        end_time=(now + timedelta(hours=1)).isoformat(),
    )
    status, field, detail = _detail(reply)
    assert (status, field) == (422, "end")
    assert "has not ended yet" in detail


def test_window_too_old(world: World) -> None:
    now = datetime.now(UTC)
    reply = world.request(
        start_time=(now - timedelta(days=31)).isoformat(),
        end_time=(now - timedelta(days=31) + timedelta(hours=1)).isoformat(),
    )
    status, field, detail = _detail(reply)
    assert (status, field) == (422, "start")
    assert "the limit is 30 days ago" in detail


def test_third_request_for_a_case(world: World) -> None:
    assert world.request(case="2024-001").status_code == 201
    assert world.request(case="2024-001").status_code == 201
    status, field, detail = _detail(world.request(case="2024-001"))
    assert (status, field) == (422, "case_number")
    assert "already has 2 requests" in detail and "the limit is 2" in detail
    # the limit is per agency: another agency may use the same case number
    other = add_user(world.client, "jones@county.example", Role.officer, "County Sheriff")
    assert world.request(case="2024-001", token=other).status_code == 201


@pytest.mark.parametrize(
    "spelling",
    [
        "case-1",
        "CASE-1\u200b",
        "CASE\u20111",
        " CASE-1  ",
        "CASE 1",
        "CASE/1",
        "case.1",
        "CASE_1",
        "CASE1",
        "\uff23\uff21\uff33\uff25 \u2013 1",  # full-width letters, an en dash
    ],
)
def test_a_case_number_spelled_differently_is_the_same_case(world: World, spelling: str) -> None:
    assert world.request(case="CASE-1").status_code == 201
    assert world.request(case="Case-1").status_code == 201
    status, field, _detail_text = _detail(world.request(case=spelling))
    assert (status, field) == (422, "case_number")


def test_requests_for_one_case_at_once_respect_the_limit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two officers' requests past validation together, one slot left: one gets it."""
    assert world.request(case="C-9").status_code == 201
    both_validated = threading.Barrier(2, timeout=10)
    validate = geo.validate_window

    def validate_then_wait(*args: Any, **kwargs: Any) -> Any:
        window = validate(*args, **kwargs)
        both_validated.wait()
        return window

    monkeypatch.setattr(geo, "validate_window", validate_then_wait)
    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(lambda _: world.request(case="C-9").status_code, range(2)))
    assert codes == [201, 422]


def test_unknown_incident_type_and_missing_justification(world: World) -> None:
    reply = world.request(incident_type="jaywalking")
    assert reply.status_code == 422 and reply.json()["field"] == "incident_type"
    status, field, detail = _detail(world.request(emergency=True))
    assert (status, field) == (422, "justification")


def test_only_police_create_requests(world: World) -> None:
    owner = world.api.signup("ann@example.org")
    assert world.request(token=owner).status_code == 403
    assert world.request(token=world.auditor).status_code == 403
    assert world.client.post("/api/v1/requests", json={}).status_code == 401


def rectangle(width_m: float, height_m: float) -> dict[str, Any]:
    """A rectangle centred on CENTER, ``width_m`` east-west by ``height_m`` north-south."""
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)]
    ring = [offset(*CENTER, sx * width_m / 2, sy * height_m / 2) for sx, sy in corners]
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def test_a_strip_thin_enough_to_locate_a_camera_is_refused(world: World) -> None:
    """A 2 m by 32 km strip has a legal area; a series of them would pinpoint a camera
    from the count of cameras asked, a location only its owner may share."""
    status, field, detail = _detail(world.request(area=rectangle(2, 32_000)))
    assert (status, field) == (422, "area")
    assert "too thin" in detail
    # A street corridor (1:8) is still a fine request.
    corridor = world.request(area=rectangle(160, 1_280), case="CASE-2")
    assert corridor.status_code == 201, corridor.text


def test_case_number_separators_fold_but_what_was_typed_is_kept(world: World) -> None:
    """Spaces, slashes, dots, underscores and dashes of any kind are one case (issue 10 A.2)."""
    first = world.request(case="HP-2024-0042")
    assert first.status_code == 201
    assert first.json()["case_number"] == "HP-2024-0042"
    assert first.json()["case_number_canonical"] == "HP20240042"
    second = world.request(case="hp 2024\u20130042")
    assert second.status_code == 201
    assert second.json()["case_number"] == "hp 2024\u20130042"  # as typed
    assert second.json()["case_number_canonical"] == "HP20240042"
    for dodge in ("HP 2024\u20130042", "HP/2024/0042", "HP.2024.0042", "HP_2024_0042"):
        status, field, detail = _detail(world.request(case=dodge))
        assert (status, field) == (422, "case_number"), dodge
        assert "already has 2 requests" in detail
    # both spellings are public: the report shows what was typed beside the key
    report = world.client.get("/api/v1/transparency").json()["requests"]
    assert [(r["case_number"], r["case_number_canonical"]) for r in report] == [
        ("HP-2024-0042", "HP20240042"),
        ("hp 2024\u20130042", "HP20240042"),
    ]
    page = world.client.get("/transparency").text
    assert "hp 2024\u20130042" in page and "HP20240042" in page
    officer_page = world.client.get(
        f"/api/v1/requests/{second.json()['id']}", headers=bearer(world.officer)
    ).json()
    assert officer_page["case_number_canonical"] == "HP20240042"


def test_a_case_number_without_letters_or_digits_is_refused(world: World) -> None:
    status, field, _ = _detail(world.request(case="-- / --"))
    assert (status, field) == (422, "case_number")
