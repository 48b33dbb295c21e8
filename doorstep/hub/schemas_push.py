"""Schemas of Web Push: the browser's PushSubscription as it sends it, and what we show back.

The keys are checked here, where a client sends them, so a subscription the hub could
never encrypt to is refused with 422 instead of failing in the worker later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from doorstep.hub.push import b64url_decode
from doorstep.hub.schemas import JsonFloat


def _p256dh(value: str) -> str:
    try:
        raw = b64url_decode(value)
    except ValueError:
        raise ValueError("must be base64url") from None
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("must be an uncompressed P-256 public key (65 bytes starting 0x04)")
    return value


def _auth(value: str) -> str:
    try:
        raw = b64url_decode(value)
    except ValueError:
        raise ValueError("must be base64url") from None
    if len(raw) != 16:
        raise ValueError("must be a 16-byte authentication secret")
    return value


class PushKeys(BaseModel):
    p256dh: Annotated[
        StrictStr,
        Field(min_length=80, max_length=100, description="The device's P-256 public key."),
        AfterValidator(_p256dh),
    ]
    auth: Annotated[
        StrictStr,
        Field(min_length=20, max_length=30, description="The device's 16-byte auth secret."),
        AfterValidator(_auth),
    ]


class PushSubscriptionCreate(BaseModel):
    """``PushSubscription.toJSON()`` as a browser gives it."""

    endpoint: StrictStr = Field(
        min_length=10, max_length=2048, description="The push service URL of this device."
    )
    keys: PushKeys
    expirationTime: JsonFloat | None = Field(  # noqa: N815  (the browser's name)
        None, description="Sent by browsers; ignored (the push service answers 410 instead)."
    )


class PushEndpoint(BaseModel):
    endpoint: StrictStr = Field(min_length=1, max_length=2048)


class PushSubscriptionPublic(BaseModel):
    """A device that receives your pushes (its keys are never shown)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    endpoint: str
    user_agent: str = Field(description="The browser that subscribed, as it named itself.")
    created_at: datetime
    last_success_at: datetime | None = Field(description="Last push the service accepted.")


class VapidPublicKey(BaseModel):
    public_key: str = Field(
        description="The hub's VAPID key (applicationServerKey): base64url of the "
        "uncompressed P-256 point, no padding."
    )
