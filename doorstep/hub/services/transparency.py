"""The public transparency report, computed from the audit log itself.

The monthly numbers are derived from audit rows (``request.create``,
``request.match``, ``request.emergency_approve``, ``request.share``,
``request.revoke``), not from the working tables, so the report is consistent
with the log by construction and anyone holding an export of the log can
recompute it. The request list adds what the log does not hold in full
(officer name, disclosures, status) and shows areas only coarsely.

Consent and emergency access are counted apart, because they are different
things: owners asked for consent can say no, emergency access takes footage
without asking. The share rate divides owners who shared by owners asked for
consent, never by cameras reached in an emergency. :func:`report` is the one
computation behind the JSON, the CSV, the web page and ``doorstep report``;
:data:`SUMMARY_COLUMNS` is the one list of columns they show.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import h3
from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.geo import COARSE_H3_RESOLUTION
from doorstep.hub.models import Agency, User
from doorstep.hub.models_requests import PoliceRequest
from doorstep.hub.services import audit, disclosures

SUMMARY_ACTIONS = [
    "request.create",
    "request.match",
    "request.emergency_approve",
    "request.share",
    "request.revoke",
]
# (field, label, group): every place that shows the summary shows these, in this order.
SUMMARY_COLUMNS: list[tuple[str, str, str]] = [
    ("agency", "agency", ""),
    ("month", "month", ""),
    ("requests", "requests", ""),
    ("total_area_sq_mi", "area (sq mi)", ""),
    ("owners_asked", "owners asked", "consent"),
    ("cameras_asked", "cameras asked", "consent"),
    ("owners_shared", "owners shared", "consent"),
    ("clips_shared", "clips shared", "consent"),
    ("share_rate", "share rate (%)", "consent"),
    ("emergency_requests", "emergency requests", "emergency"),
    ("emergency_cameras", "emergency cameras", "emergency"),
    ("emergency_clips", "emergency clips", "emergency"),
]
SUMMARY_FIELDS = [name for name, _label, _group in SUMMARY_COLUMNS]


@dataclass
class MonthRow:
    """One agency's requests created in one UTC month.

    Consent: ``owners_asked``/``cameras_asked`` by non-emergency requests, the owners
    who shared and their clips (net of revocations), ``share_rate`` = owners shared /
    owners asked in percent (None when nobody was asked). Emergency: requests made,
    and the cameras and clips an approval took without consent.
    """

    agency: str
    month: str
    requests: int = 0
    total_area_sq_mi: float = 0.0
    owners_asked: int = 0
    cameras_asked: int = 0
    owners_shared: int = 0
    clips_shared: int = 0
    share_rate: float | None = None
    emergency_requests: int = 0
    emergency_cameras: int = 0
    emergency_clips: int = 0


@dataclass
class _RequestTally:
    agency: str
    month: str
    shared: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def summary(session: Session) -> list[MonthRow]:
    """Per agency and month (of the request's creation, UTC), from the audit log."""
    tallies: dict[str, _RequestTally] = {}
    rows: dict[tuple[str, str], MonthRow] = {}
    after = 0
    while batch := audit.entries(session, after_seq=after, limit=5000, actions=SUMMARY_ACTIONS):
        after = batch[-1].seq
        for entry in batch:
            d = entry.details
            if entry.action == "request.create":
                month = entry.time.strftime("%Y-%m")
                tally = tallies[entry.subject] = _RequestTally(str(d.get("agency", "")), month)
                row = rows.setdefault((tally.agency, month), MonthRow(tally.agency, month))
                row.requests += 1
                row.emergency_requests += 1 if d.get("emergency") else 0
                row.total_area_sq_mi += float(d.get("area_sq_mi", 0.0))
                continue
            found = tallies.get(entry.subject)
            if found is None:
                continue
            row = rows[(found.agency, found.month)]
            if entry.action == "request.match":  # owners asked for their consent
                row.owners_asked += int(d.get("owners_asked", 0))
                row.cameras_asked += int(d.get("cameras_asked", 0))
            elif entry.action == "request.emergency_approve":  # taken without asking
                row.emergency_cameras += int(d.get("cameras_asked", 0))
                row.emergency_clips += len(d.get("event_ids", []))
            elif entry.action == "request.share":
                found.shared[str(d["recipient_id"])] |= set(d.get("event_ids", []))
            elif entry.action == "request.revoke":
                found.shared[str(d["recipient_id"])] -= set(d.get("event_ids", []))
    for tally in tallies.values():
        row = rows[(tally.agency, tally.month)]
        row.owners_shared += sum(1 for ids in tally.shared.values() if ids)
        row.clips_shared += sum(len(ids) for ids in tally.shared.values())
    for row in rows.values():
        row.total_area_sq_mi = round(row.total_area_sq_mi, 4)
        if row.owners_asked:
            row.share_rate = round(100 * row.owners_shared / row.owners_asked, 1)
    return sorted(rows.values(), key=lambda r: (r.month, r.agency))


def coarse_area(request: PoliceRequest) -> dict[str, Any]:
    """An H3 cell of resolution 7 and the centroid rounded to ~1 km; never the shape."""
    return {
        "h3_cell": h3.latlng_to_cell(
            request.centroid_lat, request.centroid_lon, COARSE_H3_RESOLUTION
        ),
        "h3_resolution": COARSE_H3_RESOLUTION,
        "lat": round(request.centroid_lat, 2),
        "lon": round(request.centroid_lon, 2),
    }


def request_list(session: Session) -> list[dict[str, Any]]:
    agencies = {a.id: a.name for a in session.scalars(select(Agency))}
    officers_disclosures: dict[str, list[dict[str, Any]]] = {}  # one query per officer
    out = []
    for request in session.scalars(select(PoliceRequest).order_by(PoliceRequest.created_at)):
        officer = session.get(User, request.officer_id)
        if request.officer_id not in officers_disclosures:
            officers_disclosures[request.officer_id] = [
                d.model_dump(mode="json")
                for d in disclosures.public_for(session, request.officer_id)
            ]
        out.append(
            {
                "id": request.id,
                "agency": agencies.get(request.agency_id, ""),
                "officer": officer.name if officer else "",
                "incident_type": request.incident_type,
                "case_number": request.case_number_typed,
                "case_number_canonical": request.case_number,
                "emergency": request.emergency,
                "emergency_status": request.emergency_status,
                "area_sq_mi": round(request.area_sq_mi, 4),
                "coarse_area": coarse_area(request),
                "start_time": request.start_time.isoformat(),
                "end_time": request.end_time.isoformat(),
                "created_at": request.created_at.isoformat(),
                "status": request.status,
                "disclosures": officers_disclosures[request.officer_id],
            }
        )
    return out


def summary_rows(session: Session) -> list[dict[str, Any]]:
    """The monthly summary as plain rows (JSON, CSV, page and CLI all take these)."""
    return [asdict(r) for r in summary(session)]


def report(session: Session) -> dict[str, Any]:
    """The whole public report: what the JSON, the CSV, the page and the CLI all show."""
    return {"summary": summary_rows(session), "requests": request_list(session)}


def cell_text(value: object) -> str:
    """A summary value as the page and the CLI table print it (no value: a dash)."""
    return "\u2013" if value is None else str(value)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Text a spreadsheet shows as text: a leading ``'`` defuses ``=HYPERLINK(...)`` and kin.

    The public CSVs carry text officers typed (case numbers, vendors); opened in a
    spreadsheet, a cell starting with ``=`` ``+`` ``-`` or ``@`` would be run as a formula.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def summary_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The ``summary`` of :func:`report` as CSV (no value: an empty cell)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(row[k]) for k in SUMMARY_FIELDS})
    return buffer.getvalue()


def requests_csv(requests: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    fields = [
        "id",
        "agency",
        "officer",
        "incident_type",
        "case_number",
        "case_number_canonical",
        "emergency",
        "emergency_status",
        "area_sq_mi",
        "h3_cell",
        "lat",
        "lon",
        "start_time",
        "end_time",
        "status",
        "disclosures",
    ]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in requests:
        row = {
            **{k: r[k] for k in fields if k in r},
            "h3_cell": r["coarse_area"]["h3_cell"],
            "lat": r["coarse_area"]["lat"],
            "lon": r["coarse_area"]["lon"],
            "disclosures": "; ".join(
                f"{d['vendor']}: {d['what']} ({d['value']} {d['currency']}, {d['received_on']})"
                for d in r["disclosures"]
            ),
        }
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return buffer.getvalue()
