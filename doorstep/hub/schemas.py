"""Request and reply bodies of the core API.

`XCreate` is what a client sends, `XPublic` what it gets back; secrets (password
hashes, key hashes) never appear in a `Public` schema.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
)

from doorstep.hub.models import Role


def _aware(value: datetime) -> datetime:
    """With a timezone, as UTC; an instant outside years 1-9999 in UTC is refused."""
    if value.tzinfo is None:
        raise ValueError("must include a timezone, e.g. 2026-01-01T12:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso8601(value: object) -> object:
    """Dates and times only as ISO 8601 text: pydantic alone reads a number (``0.5``,
    ``"1700000000"``) as Unix time, which the schema does not promise."""
    if isinstance(value, date):  # built in Python (pages, services): already typed
        return value
    if not isinstance(value, str) or _NUMBER.fullmatch(value):
        raise ValueError("must be an ISO 8601 date or date-time string, e.g. 2026-01-01T12:00:00Z")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso8601)]
IsoDate = Annotated[date, BeforeValidator(_iso8601)]
AwareDatetime = Annotated[IsoDatetime, AfterValidator(_aware)]


FORM_TEXT = {"form": True}
"""Validation context of a page's form (``web/forms.py``): its fields arrive as text, and
pydantic reads numbers and booleans from it. A JSON body gets no such leeway."""


def _from_form(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("form"))


def _json_number(value: object, info: ValidationInfo) -> object:
    """A number as JSON Schema means it (``5``, ``5.0``): pydantic alone also takes
    ``"5"`` and ``true``."""
    if isinstance(value, bool | str | bytes) and not _from_form(info):
        raise ValueError("must be a JSON number, not text or a boolean")
    return value


def _json_boolean(value: object, info: ValidationInfo) -> object:
    """``true`` or ``false``: pydantic alone also takes ``0``, ``"yes"`` and ``"on"``."""
    if not isinstance(value, bool) and not _from_form(info):
        raise ValueError("must be a JSON boolean: true or false")
    return value


_INTEGER = re.compile(r"[-+]?\d+")


def _query_boolean(value: object) -> object:
    """A query's boolean is ``true`` or ``false``: FastAPI alone also takes ``1``, ``yes``
    and ``on``, which the schema does not promise."""
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


def _query_integer(value: object) -> object:
    """A query's integer is digits: FastAPI alone also takes ``5.0``."""
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("must be a whole number, e.g. 50")


QueryBool = Annotated[bool, BeforeValidator(_query_boolean)]
QUERY_INTEGER = BeforeValidator(_query_integer)
"""Put after a query integer's bounds, which then stay in the schema as minimum/maximum:
``Annotated[int, Field(ge=1, le=500), QUERY_INTEGER, Query()]``."""
JsonBool = Annotated[bool, BeforeValidator(_json_boolean)]
JsonFloat = Annotated[float, BeforeValidator(_json_number)]
RetentionDays = Annotated[
    int,
    Field(ge=1, le=180, description="Days footage is kept (1-180)."),
    BeforeValidator(_json_number),
]
Latitude = Annotated[float, Field(ge=-90, le=90), BeforeValidator(_json_number)]
Longitude = Annotated[float, Field(ge=-180, le=180), BeforeValidator(_json_number)]
Fraction = Annotated[float, Field(ge=0, le=1), BeforeValidator(_json_number)]
MAX_INT = 2**62  # the largest number a query may carry: SQLite and PostgreSQL hold it
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Password = Annotated[
    str, Field(min_length=10, max_length=200, description="At least 10 characters.")
]


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class SignUp(BaseModel):
    email: EmailStr
    password: Password
    name: str = Field(min_length=1, max_length=200)


class UserCreate(SignUp):
    role: Role
    agency: str | None = Field(
        None, description="Agency name; required for officers and supervisors."
    )


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    role: str
    agency_id: str | None
    opt_out_requests: bool
    created_at: datetime


class UserSettings(BaseModel):
    opt_out_requests: JsonBool | None = Field(None, description="Opt out of every police request.")


class AgencyCreate(BaseModel):
    name: str = Field(min_length=2, max_length=200)


class AgencyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str


class CameraCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    latitude: Latitude
    longitude: Longitude
    retention_days: RetentionDays = 30
    opt_out_requests: JsonBool = Field(False, description="Never include this camera in requests.")


Point = Annotated[list[JsonFloat], Field(min_length=2, max_length=2)]
Polygon = Annotated[list[Point], Field(max_length=100)]
MAX_POLYGONS = 32
MAX_WEBHOOKS = 10


def _polygons(value: list[list[list[float]]] | None) -> list[list[list[float]]] | None:
    for polygon in value or []:
        if len(polygon) < 3:
            raise ValueError("a polygon needs at least 3 points")
        if any(not (0 <= c <= 1) for point in polygon for c in point):
            raise ValueError("points are relative to the picture: 0 to 1")
    return value


def _webhook_urls(value: list[str] | None) -> list[str] | None:
    """Each URL whole in the message, and which one (the camera page's line) is bad."""
    for line, url in enumerate(value or [], start=1):
        if not url.startswith(("http://", "https://")) or len(url) > 2000 or " " in url:
            raise ValueError(f"line {line}: '{url[:80]}' is not an http(s) URL; one URL per line")
    return value


class AgentSettingsUpdate(BaseModel):
    """What an owner sets for a camera's agent; it fetches them from /api/v1/ingest/config.

    The webhook secret is the hub's to make (when the first URL is set), never sent in.
    """

    model_config = ConfigDict(extra="forbid")

    zones: Annotated[
        list[Polygon] | None,
        Field(max_length=MAX_POLYGONS, description="Only motion inside these starts events."),
        AfterValidator(_polygons),
    ] = None
    masks: Annotated[
        list[Polygon] | None,
        Field(max_length=MAX_POLYGONS, description="Blacked out before footage leaves."),
        AfterValidator(_polygons),
    ] = None
    webhook_urls: Annotated[
        list[str] | None,
        Field(max_length=MAX_WEBHOOKS, description="http(s) URLs sent each event, signed."),
        AfterValidator(_webhook_urls),
    ] = None


class CameraUpdate(BaseModel):
    """A camera's settings, from the API's PATCH and the camera page alike."""

    name: str | None = Field(None, min_length=1, max_length=200)
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    retention_days: RetentionDays | None = None
    opt_out_requests: JsonBool | None = None
    agent_config: AgentSettingsUpdate | None = Field(
        None, description="Zones, privacy masks and webhooks for the camera's agent."
    )


class CameraPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    latitude: float
    longitude: float
    retention_days: int
    opt_out_requests: bool
    agent_config: dict[str, object]
    last_seen_at: datetime | None
    created_at: datetime


class CameraDeleted(BaseModel):
    """What deleting a camera did, and what a running police request holds back."""

    deleted_events: int
    deleted_files: int
    held_events: int = Field(description="Events kept for a police request until it ends.")
    held_until: datetime | None = Field(
        None, description="When the hold ends as things stand; a share may extend it."
    )
    detail: str


class CameraWithKey(CameraPublic):
    api_key: str = Field(description="Shown once; only its hash is stored.")


MAX_EVENT_SECONDS = 3600  # agents split longer events (max_clip); matching relies on it

EventLabel = Literal["person", "vehicle", "animal", "package", "motion"]
"""What an event shows: the best object the agent recognised, or ``motion`` (nothing)."""
EVENT_LABELS: tuple[str, ...] = get_args(EventLabel)
MAX_EVENT_LABELS = 10
MAX_EVENT_ZONES = MAX_POLYGONS  # an agent's zones are the owner's polygons
ZoneName = Annotated[str, Field(min_length=1, max_length=100)]


class EventCreate(BaseModel):
    id: uuid.UUID = Field(description="Chosen by the agent; the same id twice is one event.")
    start_time: AwareDatetime
    end_time: AwareDatetime | None = None
    label: EventLabel = Field(
        "motion", description="The best object recognised; `motion` when none was."
    )
    score: Fraction = 0.0
    box: list[Fraction] | None = Field(
        None, min_length=4, max_length=4, description="[x, y, w, h], relative 0..1."
    )
    labels: list[EventLabel] = Field(
        default_factory=list,
        max_length=MAX_EVENT_LABELS,
        description="Every label seen during the event; an update adds to those stored.",
    )
    zones: list[ZoneName] = Field(
        default_factory=list,
        max_length=MAX_EVENT_ZONES,
        description="Names of the owner's zones the motion entered; an update adds to them.",
    )

    @field_validator("end_time")
    @classmethod
    def _end(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start_time")
        if value is None or start is None:
            return value
        if value < start:
            raise ValueError("must not be before start_time")
        if (value - start).total_seconds() > MAX_EVENT_SECONDS:
            raise ValueError(
                f"an event lasts at most {MAX_EVENT_SECONDS} s; send a longer one as several"
            )
        return value

    @field_validator("box")
    @classmethod
    def _box(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (len(value) != 4 or any(not 0 <= v <= 1 for v in value)):
            raise ValueError("must be [x, y, w, h] with each value between 0 and 1")
        return value


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    camera_id: str
    start_time: datetime
    end_time: datetime | None
    label: str
    score: float
    box: list[float] | None
    labels: list[str] = Field(description="Every label the event saw (never `motion`).")
    zones: list[str] = Field(description="The named zones the motion entered.")
    has_clip: bool
    has_snapshot: bool
    clip_sha256: str | None
    clip_size: int | None


class EventPage(BaseModel):
    items: list[EventPublic]
    total: int
    limit: int
    offset: int


class BlobStored(BaseModel):
    sha256: str
    size: int
    created: bool


class ComponentHealth(BaseModel):
    """One part the hub depends on, as the last health probe found it."""

    ok: bool
    detail: str = Field(description="What the probe found, in a few words.")
    backend: str = Field(description="What implements it: postgresql, sqlite, local, s3...")


class Health(BaseModel):
    """Readiness: 200 when every component is ok, else 503 with the same body."""

    status: Literal["ok", "degraded", "down"] = Field(
        description="ok: all components work; down: the hub cannot serve without the one "
        "that failed (the database); degraded: some requests fail (e.g. clip storage)."
    )
    version: str
    components: dict[str, ComponentHealth] = Field(
        description="By name: database, storage; more may be added (read the ones you know)."
    )
