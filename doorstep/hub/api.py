"""The HTTP API: every router under ``/api/v1``, documented at ``/docs``."""

from __future__ import annotations

from fastapi import FastAPI

from doorstep.hub.routes import (
    audit,
    auth,
    cameras,
    control,
    disclosures,
    events,
    health,
    inbox,
    ingest,
    log,
    mfa,
    modes,
    preferences,
    push,
    receipts,
    requests,
    rules,
    sessions,
    transparency,
    users,
    witnesses,
)

API_PREFIX = "/api/v1"
API_ROUTES = (
    health,
    auth,
    mfa,
    sessions,
    users,
    cameras,
    events,
    ingest,
    control,
    requests,
    inbox,
    modes,
    rules,
    push,
    preferences,
    disclosures,
    audit,
    log,
    witnesses,
    receipts,
    transparency,
)


def include_api(app: FastAPI) -> None:
    for module in API_ROUTES:
        app.include_router(module.router, prefix=API_PREFIX)
