"""The composition root: the one module that builds Doorstep's ASGI app from its parts.

The API (:mod:`doorstep.hub`), the pages (:mod:`doorstep.web`), the error views and
the background jobs are assembled here and nowhere else; nothing below imports this
module, and the API package never imports the pages (pyproject.toml's contracts).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from doorstep import __version__
from doorstep.config import Settings
from doorstep.hub.api import include_api
from doorstep.hub.context import Hub, build_hub
from doorstep.hub.db import session_scope
from doorstep.hub.errors_http import install_error_handlers
from doorstep.hub.jobs import retention_loop
from doorstep.hub.openapi import install as install_openapi
from doorstep.hub.security_headers import install as install_security_headers
from doorstep.hub.services import tlog
from doorstep.hub.workers import build_worker
from doorstep.web.app import html_error, install_web


def create_app(settings: Settings | None = None, hub: Hub | None = None) -> FastAPI:
    """Build the app; the hub (database, storage) opens here, migrations included."""
    hub = hub or build_hub(settings or Settings())
    with session_scope(hub.sessions) as session:
        tlog.ensure_checkpoint(session, hub.log_key)  # a log a migration converted is signed

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(retention_loop(hub))]
        if hub.settings.embedded_worker:
            tasks.append(asyncio.create_task(build_worker(hub).serve()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
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
    install_error_handlers(app, page_error=html_error)
    include_api(app)
    install_openapi(app)
    install_web(app)
    install_security_headers(app, hub.settings)
    return app
