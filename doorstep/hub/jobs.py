"""The hub's background jobs, run by the composition root while the app serves."""

from __future__ import annotations

import asyncio
import logging

from fastapi.concurrency import run_in_threadpool

from doorstep.errors import StorageError
from doorstep.hub.context import Hub
from doorstep.hub.db import describe_error, session_scope, utcnow
from doorstep.hub.errors_http import is_database_down
from doorstep.hub.services.retention import purge_expired

log = logging.getLogger(__name__)


def run_retention(hub: Hub) -> None:
    with session_scope(hub.sessions) as session:
        purge_expired(session, hub.storage, hub.log_key, utcnow())


async def retention_loop(hub: Hub) -> None:
    """Purge expired footage every ``retention_interval_seconds``; a failed run is retried.

    An outage (database or clip store down) is expected and logged in one line; anything
    else is a bug, logged with its traceback. Neither stops the loop.
    """
    while True:
        try:
            await run_in_threadpool(run_retention, hub)
        except StorageError as exc:
            log.warning("retention run skipped, the clip store is down: %s; will retry", exc)
        except Exception as exc:
            if is_database_down(exc):
                reason = describe_error(exc)
                log.warning("retention run skipped, the database is down: %s; will retry", reason)
            else:
                log.exception("retention run failed; will retry")
        await asyncio.sleep(hub.settings.retention_interval_seconds)
