"""Bodies of the modes, schedules, rules and control-connection API (docs/reach.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from doorstep.hub.schemas import UUID_PATTERN, Fraction, JsonBool
from doorstep.hub.services.modes import Mode
from doorstep.hub.services.rules import Channel, Label

HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
ClockTime = Annotated[str, Field(pattern=HHMM_PATTERN, description="HH:MM, 24-hour clock.")]


def _json_integer(value: object) -> object:
    """A JSON integer (``3`` or ``3.0``): pydantic alone also takes ``"3"`` and ``true``."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("must be a JSON integer, e.g. 3")
    return value


Weekday = Annotated[int, Field(ge=0, le=6), BeforeValidator(_json_integer)]


class ModeSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode = Field(description="home, away or off.")


class ModePublic(BaseModel):
    mode: Mode
    changed_at: datetime | None = Field(description="The last switch, by hand or by schedule.")
    timezone: str = Field(description="The owner's time zone: schedules and quiet hours use it.")


class ModeFlags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record: JsonBool = Field(description="Record events (clips) in this mode.")
    notify: JsonBool = Field(description="Notify (inbox, push, email, MQTT/webhooks).")


class CameraModes(BaseModel):
    """A camera's flags per mode; a mode left out keeps its flags."""

    model_config = ConfigDict(extra="forbid")

    home: ModeFlags | None = None
    away: ModeFlags | None = None
    off: ModeFlags | None = None


class CameraModesPublic(BaseModel):
    camera_id: str
    home: ModeFlags
    away: ModeFlags
    off: ModeFlags


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode
    at: ClockTime = Field(description="HH:MM in the owner's time zone.")
    days: list[Weekday] = Field(
        default_factory=list, max_length=7, description="0 = Monday ... 6 = Sunday; empty: daily."
    )


class SchedulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    mode: Mode
    at: str
    days: list[int]
    created_at: datetime


class RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    camera_id: str | None = Field(
        None, pattern=UUID_PATTERN, description="One of your cameras; none: all of them."
    )
    zone: str | None = Field(
        None, min_length=1, max_length=100, description="A zone's name; none: anywhere."
    )
    labels: list[Label] = Field(
        default_factory=list, max_length=5, description="What the event shows; empty: anything."
    )
    min_score: Fraction | None = Field(
        None, description="The least score of the label the rule names; none: any."
    )
    channels: list[Channel] = Field(
        default_factory=lambda: list[Channel](["push"]),
        min_length=1,
        max_length=3,
        description="Where to.",
    )
    quiet_start: ClockTime | None = Field(None, description="Quiet hours from (local time).")
    quiet_end: ClockTime | None = Field(None, description="Quiet hours until; may be next day.")
    enabled: JsonBool = True

    @model_validator(mode="after")
    def _quiet_hours(self) -> RuleFields:
        fields = self.model_fields_set
        if "quiet_start" in fields or "quiet_end" in fields:
            if (self.quiet_start is None) != (self.quiet_end is None):
                raise ValueError("give both quiet_start and quiet_end, or neither")
            if self.quiet_start is not None and self.quiet_start == self.quiet_end:
                raise ValueError("quiet_start and quiet_end must differ")
        return self


class RuleCreate(RuleFields):
    pass


class RuleUpdate(RuleFields):
    """The fields given change; ``null`` clears camera, zone or quiet hours."""


class RulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    camera_id: str | None
    zone: str | None
    labels: list[str]
    min_score: float | None
    channels: list[str]
    quiet_start: str | None
    quiet_end: str | None
    enabled: bool
    created_at: datetime


class ControlState(BaseModel):
    """Everything the camera's agent should be doing now (declarative: the latest wins)."""

    version: int = Field(description="Send it back as `after` to wait for the next one.")
    camera_id: str
    name: str
    config: dict[str, Any] = Field(description="Zones, masks and webhooks the owner saved.")
    mode: Mode
    record: bool = Field(description="false: start no event or clip; end an open one.")
    notify: bool = Field(description="false: publish nothing to MQTT or webhooks.")
    rules: list[dict[str, Any]] = Field(description="The owner's rules for the mqtt channel.")
    streams: list[dict[str, Any]] = Field(description="Live streams wanted (none yet).")
