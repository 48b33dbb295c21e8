"""reach: the delivery job queue, push subscriptions, notification rules and modes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:40:23

See doorstep/hub/models_reach.py for the new tables. Existing users keep email about
police requests on (the default a new user gets), no event digest, UTC as their time
zone and the Home mode; existing cameras take the default of every mode.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import doorstep.hub.db

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_state_run_at", ["state", "run_at"], unique=False)

    op.create_table(
        "mode_schedules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("at", sa.String(length=5), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mode_schedules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mode_schedules_user_id"), ["user_id"], unique=False)

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint"),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_push_subscriptions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "notification_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("camera_id", sa.String(length=36), nullable=True),
        sa.Column("zone", sa.String(length=100), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_rules_user_id"), ["user_id"], unique=False
        )

    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode_settings", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("control_version", sa.Integer(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_notifications", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("event_email_digest", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC")
        )
        batch_op.add_column(
            sa.Column("mode", sa.String(length=10), nullable=False, server_default="home")
        )
        batch_op.add_column(
            sa.Column("mode_changed_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("mode_changed_at")
        batch_op.drop_column("mode")
        batch_op.drop_column("timezone")
        batch_op.drop_column("event_email_digest")
        batch_op.drop_column("email_notifications")

    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.drop_column("control_version")
        batch_op.drop_column("mode_settings")

    with op.batch_alter_table("notification_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_rules_user_id"))

    op.drop_table("notification_rules")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_user_id"))

    op.drop_table("push_subscriptions")
    with op.batch_alter_table("mode_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mode_schedules_user_id"))

    op.drop_table("mode_schedules")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state_run_at")

    op.drop_table("jobs")
