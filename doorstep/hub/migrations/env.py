"""Alembic environment: runs the revisions in versions/ on the connection it is given."""

from __future__ import annotations

from alembic import context

from doorstep.hub import tables  # noqa: F401  (registers every model on Base.metadata)
from doorstep.hub.db import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    raise RuntimeError("run migrations through doorstep.hub.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
