"""Schemas of multi-factor enrolment and of a user's sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class MfaStatus(BaseModel):
    enrolled: bool = Field(description="An authenticator app is set up.")
    required: bool = Field(description="This account's role must use one.")
    recovery_codes_left: int = Field(description="Unused recovery codes.")


class MfaEnrolment(BaseModel):
    secret: str = Field(description="The TOTP secret (base32), for typing into an app.")
    otpauth_uri: str = Field(description="The same as an otpauth:// URI, for a QR code.")


class MfaCode(BaseModel):
    code: str = Field(
        min_length=1, max_length=64, description="The 6-digit code the app shows now."
    )


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(
        description="Single-use codes that stand in for the app; shown this once, kept hashed."
    )


class SessionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = Field(description="To the minute.")
    client: str = Field(description="The address it signed in from.")
    enrolment_only: bool = Field(description="Signed in with a password alone; MFA is due.")
    current: bool = Field(False, description="The session this call came with.")
