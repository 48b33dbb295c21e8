"""Imports every module that defines tables, so Alembic and tests see them all."""

from doorstep.hub import (  # noqa: F401
    models,
    models_log,
    models_mfa,
    models_reach,
    models_requests,
)
