"""Imports every module that defines tables, so Alembic and tests see them all."""

from doorstep.hub import models, models_log, models_mfa, models_requests  # noqa: F401
