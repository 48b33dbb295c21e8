"""The agent's control connection: a long-poll for the state its camera should be in
(docs/ingest-api.md, "The control connection").

A long-poll works behind home NAT and through any proxy, and needs nothing shared
between hub processes: a change made in this process wakes the waiting request at
once, one made in another is seen on the once-a-second look at the database. No
database connection or thread is held while waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from doorstep.hub.deps import CameraKey, HubDep
from doorstep.hub.schemas import MAX_INT, QUERY_INTEGER
from doorstep.hub.schemas_modes import ControlState
from doorstep.hub.services import control

router = APIRouter(prefix="/ingest", tags=["ingest (camera agents)"])

MAX_WAIT = 55
"""Below the 60 s idle timeout of common proxies and load balancers; a deployment caps
it lower with DOORSTEP_CONTROL_MAX_WAIT_SECONDS."""
RECHECK_SECONDS = 1.0
"""How often a waiting request looks for a change another hub process made."""


async def _wait_for_change(hub: HubDep, key: str, after: int, wait: float) -> bool:
    """Until the camera's version differs from ``after`` (True) or ``wait`` s pass."""
    registry = control.waiters(hub)
    camera_id, version = await run_in_threadpool(control.version_for_key, hub, key)
    if version != after:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    woken = registry.add(camera_id)
    try:
        # a commit between the read above and add() is seen by the first re-check
        while (remaining := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), min(RECHECK_SECONDS, remaining))
            woken.clear()
            _, version = await run_in_threadpool(control.version_for_key, hub, key)
            if version != after:
                return True
        return False
    finally:
        registry.remove(camera_id, woken)


@router.get(
    "/control",
    response_model=ControlState,
    responses={204: {"description": "Nothing changed within `wait`: ask again."}},
)
async def control_state(
    hub: HubDep,
    key: CameraKey,
    after: Annotated[
        int | None,
        Field(ge=0, le=MAX_INT),
        QUERY_INTEGER,
        Query(description="The version the agent has; none: answer at once."),
    ] = None,
    wait: Annotated[
        int,
        Field(ge=0, le=MAX_WAIT),
        QUERY_INTEGER,
        Query(description="Seconds to hold the request while nothing changes."),
    ] = 25,
) -> object:
    """The state this camera's agent should be in: at once if its version differs from
    ``after``, else when it changes (within a second or so, from any hub process), or 204
    after ``wait`` seconds."""
    hold = min(wait, hub.settings.control_max_wait_seconds)
    if after is not None and not await _wait_for_change(hub, key, after, hold):
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return await run_in_threadpool(control.state_for_key, hub, key)
