"""the audit log becomes a Merkle tree: salted leaves, perfect-subtree nodes, signed
checkpoints, witnesses and their cosignatures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 18:40:00

Existing logs are converted: the hash chain is verified first (a broken chain stops the
migration with the first bad row, rather than being sealed into the tree), every entry
gets its secret salt and leaf hash, the perfect subtrees are stored, and the rebuilt
root is checked against one computed independently before the head records it. The
first signed checkpoint is made at the next start, which holds the hub's key.
"""

import json
import os
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import doorstep.hub.db
from doorstep import audit_chain, merkle

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(sa.Column("salt", sa.String(64), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("leaf_hash", sa.String(64), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.add_column(sa.Column("size", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("root", sa.String(64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("compact", sa.Text(), nullable=False, server_default="[]"))
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "log_witnesses",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("vkey", sa.String(300), nullable=False),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "log_cosignatures",
        sa.Column("witness_id", sa.String(36), nullable=False),
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("created_at", doorstep.hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["witness_id"], ["log_witnesses.id"]),
        sa.PrimaryKeyConstraint("witness_id", "size"),
    )
    _convert_existing_log()
    for table, column in (
        ("audit_log", "salt"),
        ("audit_log", "leaf_hash"),
        ("audit_head", "size"),
        ("audit_head", "root"),
        ("audit_head", "compact"),
    ):
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, server_default=None)


def _convert_existing_log() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT seq, time, actor, action, subject, details, prev_hash, hash "
            "FROM audit_log ORDER BY seq"
        )
    ).all()
    entries = [
        audit_chain.AuditEntry(
            seq=row.seq,
            time=datetime.fromisoformat(row.time.replace("Z", "+00:00")),
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            details=json.loads(row.details),
            prev_hash=row.prev_hash,
            hash=row.hash,
            salt=os.urandom(32).hex(),
        )
        for row in rows
    ]
    verdict = audit_chain.verify_chain(entries)
    if not verdict.ok:
        raise RuntimeError(
            f"the audit chain is broken at row {verdict.first_bad_seq} ({verdict.reason}); "
            "it is not converted to the Merkle tree. Restore the database from a backup."
        )
    tree = merkle.MemoryTree()
    for entry in entries:
        leaf = merkle.leaf_hash(audit_chain.leaf_data(entry))
        bind.execute(
            sa.text("UPDATE audit_log SET salt = :salt, leaf_hash = :leaf WHERE seq = :seq"),
            {"salt": entry.salt, "leaf": leaf.hex(), "seq": entry.seq},
        )
        for level, index, node in merkle.new_perfect_nodes(tree.size, leaf, tree.perfect):
            bind.execute(
                sa.text("INSERT INTO audit_tree_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                {"l": level, "i": index, "h": node.hex()},
            )
        tree.append(leaf)
    root = tree.root()
    check = merkle.StreamingRoot()
    for entry in entries:
        check.append(merkle.leaf_hash(audit_chain.leaf_data(entry)))
    if check.root() != root:  # re-verify: two independent computations of the root agree
        raise RuntimeError("the converted audit log's Merkle root does not re-verify")
    bind.execute(
        sa.text(
            "UPDATE audit_head SET size = :size, root = :root, compact = :compact WHERE id = 1"
        ),
        {
            "size": len(entries),
            "root": root.hex(),
            "compact": json.dumps([h.hex() for h in check.compact]),
        },
    )


def downgrade() -> None:
    op.drop_table("log_cosignatures")
    op.drop_table("log_witnesses")
    op.drop_table("log_checkpoints")
    op.drop_table("audit_tree_nodes")
    with op.batch_alter_table("audit_head") as batch_op:
        batch_op.drop_column("compact")
        batch_op.drop_column("root")
        batch_op.drop_column("size")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))
        batch_op.drop_column("leaf_hash")
        batch_op.drop_column("salt")
