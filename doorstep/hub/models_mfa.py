"""Multi-factor authentication: a user's TOTP secret and single-use recovery codes.

Why these shapes:

* ``mfa_totp`` is one row per user. ``confirmed_at`` is set once the user typed a code
  from the app (until then the secret is only offered for scanning); ``last_step`` is
  the last RFC 6238 time step used, so a code is never accepted twice; ``failures`` and
  ``blocked_until`` throttle guessing per account in the database, so a restart does
  not reset them. The secret itself must be readable to check codes: it is stored as is,
  like the password hash it sits beside, and is never sent back after enrolment.
* ``mfa_recovery_codes`` keeps only SHA-256 hashes of 80-bit random codes (far too many
  to try offline), each used once (``used_at``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.hub.db import Base, new_id, utcnow


class TotpCredential(Base):
    __tablename__ = "mfa_totp"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)


class RecoveryCode(Base):
    __tablename__ = "mfa_recovery_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
