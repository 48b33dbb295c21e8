"""Tables of the audit log's Merkle tree: its nodes, signed checkpoints, witnesses.

Why these shapes:

* ``audit_tree_nodes`` holds every *perfect* subtree hash (level, index) as it
  completes, so the root and any inclusion or consistency proof are O(log n) lookups
  (RFC 9162 proofs only ever need perfect subtrees and right edges made of them).
* ``log_checkpoints`` keeps every signed checkpoint (a C2SP signed note), one per tree
  size: each append is signed at once, whatever the action.
* ``log_witnesses`` are the keys whose cosignatures the hub accepts; a removed witness
  keeps its row (``removed_at``) so its old cosignatures still name it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.hub.db import Base, new_id, utcnow


class TreeNode(Base):
    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class LogCheckpoint(Base):
    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Witness(Base):
    __tablename__ = "log_witnesses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    vkey: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)


class Cosignature(Base):
    __tablename__ = "log_cosignatures"

    witness_id: Mapped[str] = mapped_column(ForeignKey("log_witnesses.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
