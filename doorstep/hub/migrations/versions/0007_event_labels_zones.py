"""events list the labels they saw and the zones they entered; rules a minimum score

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:45:00

Existing events saw only their own label (``motion`` or ``person``); they entered no
named zone that anyone recorded. A notification rule may require a minimum score
(``notification_rules.min_score``; none: any score).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("labels", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("events", sa.Column("zones", sa.JSON(), nullable=False, server_default="[]"))
    op.execute("UPDATE events SET labels = '[\"person\"]' WHERE label = 'person'")
    op.add_column("notification_rules", sa.Column("min_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_rules") as batch_op:
        batch_op.drop_column("min_score")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("zones")
        batch_op.drop_column("labels")
