"""Imports every module that defines tables, so Alembic and tests see them all."""

from doorstep.hub import models  # noqa: F401
