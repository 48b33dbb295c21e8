"""Readiness: each part the hub depends on, probed on every call.

Each probe runs in a worker thread under a deadline, so a database or a bucket that
hangs instead of refusing makes its probe fail rather than the health request hang.
The reply is public: it names what is down; the reason (hosts, driver messages) goes
to the hub's log only. Adding a component (a broker, a job queue) adds a probe here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
from fastapi import APIRouter, Response
from sqlalchemy import Engine, text

from doorstep import __version__
from doorstep.hub.context import Hub
from doorstep.hub.db import describe_error
from doorstep.hub.deps import HubDep
from doorstep.hub.errors_http import DATABASE_RETRY_SECONDS
from doorstep.hub.schemas import ComponentHealth, Health

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

PROBE_SECONDS = 3.0
"""How long a component may take to answer before it is reported down."""


@dataclass(frozen=True)
class Probe:
    name: str
    backend: str
    check: Callable[[], None]
    essential: bool
    """Without it the hub serves nothing (status ``down``, not ``degraded``)."""


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def probes(hub: Hub) -> list[Probe]:
    return [
        Probe("database", hub.engine.dialect.name, lambda: _ping(hub.engine), essential=True),
        Probe("storage", hub.storage.backend, hub.storage.check, essential=False),
    ]


async def run_probe(probe: Probe) -> ComponentHealth:
    try:
        with anyio.fail_after(PROBE_SECONDS):
            await anyio.to_thread.run_sync(probe.check, abandon_on_cancel=True)
    except TimeoutError:
        log.warning("health: %s gave no answer within %g s", probe.name, PROBE_SECONDS)
        detail = f"no answer within {PROBE_SECONDS:g} s"
        return ComponentHealth(ok=False, detail=detail, backend=probe.backend)
    except Exception as exc:  # whatever the driver raises, the component is down
        log.warning("health: %s is down: %s", probe.name, describe_error(exc))
        return ComponentHealth(ok=False, detail="cannot be reached", backend=probe.backend)
    return ComponentHealth(ok=True, detail="ok", backend=probe.backend)


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "A component is down: the body says which."}},
)
async def health(hub: HubDep, response: Response) -> Health:
    """Probe every component; 503 (with ``Retry-After``) if any is down."""
    components: dict[str, ComponentHealth] = {}
    checks = probes(hub)
    essential = {p.name for p in checks if p.essential}

    async def probe_into(probe: Probe) -> None:
        components[probe.name] = await run_probe(probe)

    async with anyio.create_task_group() as group:
        for probe in checks:
            group.start_soon(probe_into, probe)
    down = {name for name, component in components.items() if not component.ok}
    if down:
        response.status_code = 503
        response.headers["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    status = "down" if down & essential else "degraded" if down else "ok"
    ordered = {name: components[name] for name in sorted(components)}
    return Health(status=status, version=__version__, components=ordered)
