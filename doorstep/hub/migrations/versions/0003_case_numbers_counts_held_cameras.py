"""case numbers as typed and folded; request counts stored; cameras deleted under a hold

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:10:00

* ``police_requests.case_number_typed`` keeps what the officer typed; ``case_number``
  becomes the folded key (letters and digits only, upper case) the per-case limit counts.
* ``owners_asked``, ``cameras_asked``, ``clips_offered`` and ``clips_shared`` are stored
  on the request, backfilled from the rows that exist now.
* ``cameras.deleted_at``: a camera deleted while footage of it is held for police.
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import doorstep.hub.db

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("owners_asked", "cameras_asked", "clips_offered", "clips_shared")


def _fold(text: str) -> str:
    """The folding of this revision, frozen here so the migration never changes meaning."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN").upper()


def upgrade() -> None:
    with op.batch_alter_table("police_requests") as batch_op:
        batch_op.add_column(sa.Column("case_number_typed", sa.String(100), nullable=True))
        for name in COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("cameras") as batch_op:
        batch_op.add_column(
            sa.Column("deleted_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True)
        )

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, case_number FROM police_requests")).all()
    for request_id, case_number in rows:
        bind.execute(
            sa.text(
                "UPDATE police_requests SET case_number_typed = :typed, case_number = :key "
                "WHERE id = :id"
            ),
            {"typed": case_number, "key": _fold(case_number) or case_number, "id": request_id},
        )
    bind.execute(
        sa.text(
            """
            UPDATE police_requests SET
              owners_asked = (SELECT count(*) FROM request_recipients r
                              WHERE r.request_id = police_requests.id),
              cameras_asked = (SELECT count(DISTINCT c.camera_id) FROM request_clips c
                               WHERE c.request_id = police_requests.id),
              clips_offered = (SELECT count(*) FROM request_clips c
                               WHERE c.request_id = police_requests.id),
              clips_shared = (SELECT count(*) FROM request_clips c
                              WHERE c.request_id = police_requests.id
                                AND c.shared AND c.revoked_at IS NULL)
            """
        )
    )
    with op.batch_alter_table("police_requests") as batch_op:
        batch_op.alter_column("case_number_typed", existing_type=sa.String(100), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("cameras") as batch_op:
        batch_op.drop_column("deleted_at")
    with op.batch_alter_table("police_requests") as batch_op:
        for name in COUNTS:
            batch_op.drop_column(name)
        batch_op.drop_column("case_number_typed")
