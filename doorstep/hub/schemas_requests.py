"""Bodies of the request, inbox, audit and transparency API.

The officer-facing replies (:class:`RequestOfficerView`, :class:`SharedClip`) are
built field by field from aggregates and shared clips only: there is no field in
them that could carry who was asked, who declined or where an unshared camera is.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from doorstep.hub.models_requests import IncidentType
from doorstep.hub.schemas import IsoDate, IsoDatetime, JsonBool

MONEY_TEXT = r"^([0-9]{1,7}([.][0-9]{1,2})?|10000000([.]0{1,2})?)$"  # 0 to 10,000,000


def _money(value: object) -> object:
    """An amount as a JSON number or as text like ``12.50``; never a boolean or ``1e3``."""
    if isinstance(value, bool) or (isinstance(value, str) and not re.match(MONEY_TEXT, value)):
        raise ValueError("must be an amount such as 12.50 (at most 2 decimals)")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    Field(ge=0, le=10_000_000, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 10_000_000, "multipleOf": 0.01},
                {"type": "string", "pattern": MONEY_TEXT},
            ]
        },
        mode="validation",
    ),
]


class RequestCreate(BaseModel):
    incident_type: IncidentType
    case_number: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=10, max_length=5000, description="Why this footage is needed.")
    contact: str = Field(min_length=3, max_length=300, description="How owners can reach you.")
    area: dict[str, Any] = Field(
        description='A GeoJSON Polygon, or {"type": "Circle", "center": [lon, lat], '
        '"radius_m": metres}; 0.025 to 0.5 sq mi.'
    )
    start_time: IsoDatetime = Field(description="Window start, with a timezone.")
    end_time: IsoDatetime = Field(description="Window end: 15 min to 12 h after the start, past.")
    emergency: JsonBool = Field(
        False, description="Imminent danger: needs a supervisor's approval."
    )
    justification: str | None = Field(None, max_length=5000, description="Required if emergency.")


class DisclosureCreate(BaseModel):
    vendor: str = Field(min_length=1, max_length=200)
    what: str = Field(min_length=1, max_length=500, description="Gift, discount or payment.")
    value: Money
    currency: str = Field("USD", min_length=3, max_length=3)
    received_on: IsoDate


class DisclosurePublic(BaseModel):
    id: str
    vendor: str
    what: str
    value: Decimal
    currency: str
    received_on: date


class SharedClip(BaseModel):
    event_id: str
    camera_name: str
    start_time: datetime
    end_time: datetime | None
    clip_sha256: str | None
    clip_size: int | None
    via: Literal["consent", "emergency"]
    access_expires_at: datetime | None
    exported: bool
    has_snapshot: bool = Field(False, description="A still to show before the clip is played.")
    location: dict[str, float] | None = Field(None, description="Only where the owner shared it.")


class RequestOfficerView(BaseModel):
    id: str
    agency: str
    officer: str
    incident_type: str
    case_number: str = Field(description="As the officer typed it.")
    case_number_canonical: str = Field(
        description="The key the per-case limit counts: letters and digits, upper case."
    )
    reason: str
    contact: str
    area: dict[str, Any]
    area_sq_mi: float
    start_time: datetime
    end_time: datetime
    status: str
    emergency: bool
    emergency_status: str
    justification: str | None
    deadline: datetime
    created_at: datetime
    closed_at: datetime | None
    cameras_asked: int
    clips_shared: int
    disclosures: list[DisclosurePublic]
    clips: list[SharedClip]


class InboxClip(BaseModel):
    event_id: str
    camera_id: str
    camera_name: str
    start_time: datetime
    end_time: datetime | None
    selected: bool = Field(description="Matching clips come pre-selected.")
    shared: bool = Field(description="The officer may fetch it (by consent or emergency).")
    revoked: bool
    downloaded: bool = Field(description="An officer has fetched or exported it.")
    viewed_at: datetime | None = Field(
        None, description="When an officer first played, downloaded or exported it."
    )
    revocable: bool = Field(
        False, description="Shared by you and not yet fetched by an officer: can be revoked."
    )


class InboxItem(BaseModel):
    request_id: str
    agency: str
    officer: str
    incident_type: str
    case_number: str = Field(description="As the officer typed it.")
    case_number_canonical: str = Field(
        description="The key the per-case limit counts: letters and digits, upper case."
    )
    reason: str
    contact: str
    area: dict[str, Any]
    start_time: datetime
    end_time: datetime
    emergency: bool
    deadline: datetime | None = Field(
        description="Answer by then; none for emergency access, which asks no answer."
    )
    decision: str = Field(
        description="pending, shared, declined (silence past the deadline counts), or emergency."
    )
    status: str = Field(description="open, or closed: a closed request takes no more answers.")
    disclosures: list[DisclosurePublic]
    clips: list[InboxClip]


class DecisionCreate(BaseModel):
    action: Literal["share", "share_all", "decline", "opt_out"]
    event_ids: list[str] = Field(default_factory=list, description="For 'share': which clips.")
    share_location: JsonBool = Field(
        False, description="Let the officer see the cameras' location."
    )


class AuditRowPublic(BaseModel):
    seq: int
    time: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    salt: str = Field(
        "", description="The entry's secret salt: with it, its public leaf hash can be checked."
    )


class CheckpointPublic(BaseModel):
    seq: int
    head_hash: str
    time: str
    signature: str


class AuditVerdict(BaseModel):
    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None
