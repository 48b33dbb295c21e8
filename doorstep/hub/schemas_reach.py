"""Request and reply bodies of a user's email preferences (docs/reach.md, "Email")."""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from doorstep.hub.schemas import JsonBool


@cache
def zone_names() -> frozenset[str]:
    """Every IANA zone name this machine's time zone database has (read once)."""
    return frozenset(available_timezones() | {"UTC"})


def _zone_name(value: str) -> str:
    """An IANA zone name the hub knows (``Europe/London``); the emails' times use it."""
    if value not in zone_names():
        raise ValueError(
            f"'{value[:64]}' is not a time zone name; use an IANA name such as Europe/London"
        )
    return value


TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, description="IANA time zone, e.g. Europe/London."),
    AfterValidator(_zone_name),
]


class PreferencesPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email_notifications: bool = Field(
        description="Email about police requests, reminders, emergency access and officers "
        "opening your shared clips (the inbox entry is kept either way)."
    )
    event_email_digest: bool = Field(description="An hourly email summarising camera events.")
    timezone: str = Field(description="IANA time zone the emails show times in.")


class PreferencesUpdate(BaseModel):
    """What changes; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    email_notifications: JsonBool | None = None
    event_email_digest: JsonBool | None = None
    timezone: TimeZoneName | None = None
