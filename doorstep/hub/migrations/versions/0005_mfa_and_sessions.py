"""multi-factor authentication (TOTP secrets, recovery codes) and named sessions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:10:00

* ``api_tokens`` gains an ``id`` (so a user can list and revoke a session without its
  secret), the ``client`` address it signed in from, ``last_used_at`` and
  ``enrolment_only``. Existing sessions keep working: each gets a fresh id, and those of
  police, auditor and admin accounts (the roles that must enrol by default) become
  enrolment-only, since they were opened with a password alone.
* ``mfa_totp`` and ``mfa_recovery_codes``: see doorstep/hub/models_mfa.py.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import doorstep.hub.db

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default of DOORSTEP_MFA_REQUIRED_ROLES when this revision was written, frozen here
# so the migration never changes meaning.
MFA_ROLES = ("officer", "supervisor", "auditor", "admin")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("client", sa.String(100), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("last_used_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("enrolment_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    bind = op.get_bind()
    for (token_hash,) in bind.execute(sa.text("SELECT token_hash FROM api_tokens")).all():
        bind.execute(
            sa.text("UPDATE api_tokens SET id = :id WHERE token_hash = :hash"),
            {"id": str(uuid.uuid4()), "hash": token_hash},
        )
    bind.execute(
        sa.text(
            "UPDATE api_tokens SET enrolment_only = :yes WHERE user_id IN "
            "(SELECT id FROM users WHERE role IN :roles)"
        ).bindparams(sa.bindparam("roles", expanding=True)),
        {"yes": True, "roles": list(MFA_ROLES)},
    )
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.alter_column("id", existing_type=sa.String(36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_api_tokens_id"), ["id"])

    op.create_table(
        "mfa_totp",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(
        op.f("ix_mfa_recovery_codes_user_id"), "mfa_recovery_codes", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mfa_recovery_codes_user_id"), table_name="mfa_recovery_codes")
    op.drop_table("mfa_recovery_codes")
    op.drop_table("mfa_totp")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_api_tokens_id"), type_="unique")
        batch_op.drop_column("enrolment_only")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("client")
        batch_op.drop_column("id")
