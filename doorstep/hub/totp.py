"""Time-based one-time passwords (RFC 6238): the one place codes are made and checked.

The hub checks codes with it, and tests, benchmarks, the demo and the CLI compute them
with ``current_code``, so every caller agrees on the algorithm (SHA-1, 6 digits, 30 s
steps: what every authenticator app reads from an ``otpauth://`` QR code).
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime

import pyotp

STEP_SECONDS = 30
DIGITS = 6
# A code of the step before or after the current one is accepted too: a phone's clock
# that is a little off, or a code typed as it turned over, still signs in.
DRIFT_STEPS = 1
BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_secret() -> str:
    """A random 160-bit secret in base32 (RFC 4226 recommends 160 bits)."""
    return pyotp.random_base32(32)


def is_valid_secret(secret: str) -> bool:
    """Base32 of at least 128 bits, as authenticator apps accept."""
    cleaned = normalise_secret(secret)
    return len(cleaned) >= 26 and all(ch in BASE32_ALPHABET for ch in cleaned)


def normalise_secret(secret: str) -> str:
    """Upper case without spaces or padding: how secrets are stored and compared."""
    return secret.replace(" ", "").rstrip("=").upper()


def _seconds(at: datetime | float | None) -> float:
    if at is None:
        return time.time()
    if isinstance(at, datetime):
        return at.timestamp()
    return float(at)


def step_of(at: datetime | float | None = None) -> int:
    """The RFC 6238 time step (T) of a moment: seconds since the epoch // 30."""
    return int(_seconds(at) // STEP_SECONDS)


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(normalise_secret(secret), digits=DIGITS, interval=STEP_SECONDS).generate_otp(
        step
    )


def current_code(secret: str, at: datetime | float | None = None) -> str:
    """The code an authenticator app shows for ``secret`` at ``at`` (default: now)."""
    return code_at_step(secret, step_of(at))


def matching_step(
    secret: str, code: str, at: datetime | float | None = None, after_step: int | None = None
) -> int | None:
    """The time step whose code is ``code``, within one step of ``at``; None if none.

    Steps at or before ``after_step`` (the last one used) never match: a code cannot be
    replayed within the time it stays valid.
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_of(at)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(code_at_step(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(
        normalise_secret(secret), digits=DIGITS, interval=STEP_SECONDS
    ).provisioning_uri(name=account, issuer_name=issuer)
