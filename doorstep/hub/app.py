"""The hub's ASGI application: routers, error handling and background jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from doorstep import __version__
from doorstep.config import Settings
from doorstep.hub.context import Hub, build_hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.errors_http import install_error_handlers
from doorstep.hub.routes import (
    audit,
    auth,
    cameras,
    disclosures,
    events,
    health,
    inbox,
    ingest,
    requests,
    transparency,
    users,
)
from doorstep.hub.services.retention import purge_expired
from doorstep.web.app import install_web

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


def run_retention(hub: Hub) -> None:
    with session_scope(hub.sessions) as session:
        purge_expired(session, hub.storage, utcnow())


async def _retention_loop(hub: Hub) -> None:
    while True:
        try:
            await run_in_threadpool(run_retention, hub)
        except Exception:
            log.exception("retention run failed; will retry")
        await asyncio.sleep(hub.settings.retention_interval_seconds)


def create_app(settings: Settings | None = None, hub: Hub | None = None) -> FastAPI:
    """Build the app; the hub (database, storage) opens here, migrations included."""
    hub = hub or build_hub(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_retention_loop(hub))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            hub.engine.dispose()

    app = FastAPI(
        title="Doorstep hub",
        version=__version__,
        description="Open, privacy-first, accountable neighbourhood camera network.",
        lifespan=lifespan,
    )
    app.state.hub = hub
    install_error_handlers(app)
    for module in (health, auth, users, cameras, events, ingest):
        app.include_router(module.router, prefix=API_PREFIX)
    for module in (requests, inbox, disclosures, audit, transparency):
        app.include_router(module.router, prefix=API_PREFIX)
    install_web(app)
    return app
