"""What camera agents call, authenticated by their camera key (docs/ingest-api.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from doorstep.errors import InvalidInput, TooLarge
from doorstep.hub.context import Hub
from doorstep.hub.deps import CameraKey, CurrentCamera, EntityId, HubDep, SessionDep
from doorstep.hub.live import publish_after_commit
from doorstep.hub.models import User
from doorstep.hub.openapi import errors
from doorstep.hub.queue import enqueue
from doorstep.hub.responses import event_public
from doorstep.hub.schemas import BlobStored, EventCreate, EventPublic
from doorstep.hub.services import blobs, events, modes
from doorstep.hub.services.blobs import BlobKind
from doorstep.hub.storage_base import SHA256_RE, check_sha256

router = APIRouter(prefix="/ingest", tags=["ingest (camera agents)"])


@router.post(
    "/events",
    response_model=EventPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The event already existed and was updated.", "model": EventPublic},
        **errors(409),
    },
)
def create_event(
    data: EventCreate,
    camera: CurrentCamera,
    session: SessionDep,
    response: Response,
) -> EventPublic:
    """Create an event (idempotent on its id)."""
    event, created = events.upsert_event(session, camera, data)
    public = event_public(event)
    owner = session.get(User, camera.owner_id)
    message = {
        "type": "event" if created else "event_updated",
        "camera_name": camera.name,
        "event": public.model_dump(mode="json"),
        # Open pages show a toast only when the owner's mode says this camera notifies.
        "notify": owner is not None and modes.notifies(owner, camera),
    }
    publish_after_commit(session, camera.owner_id, message)  # open timelines update in place
    if created:
        enqueue(session, "deliver.event", {"event_id": event.id}, key=f"event:{event.id}")
    else:
        response.status_code = status.HTTP_200_OK
    return public


@router.get("/config")
def agent_config(camera: CurrentCamera) -> dict[str, object]:
    """The zones and masks the owner saved for this camera's agent."""
    return {"camera_id": camera.id, "name": camera.name, **(camera.agent_config or {})}


async def _whole_body(request: Request) -> AsyncIterator[bytes]:
    """The body, then a last look at the connection before anything is kept.

    Bytes past ``Content-Length`` make the server refuse the connection (400) while
    the declared bytes may already be read: such a request is malformed as a whole, so
    the store must see it fail. The close arrives within a turn of the event loop.
    """
    async for chunk in request.stream():
        yield chunk
    for _ in range(3):
        await anyio.sleep(0)
    if await request.is_disconnected():
        raise ClientDisconnect()


async def _upload(
    kind: BlobKind,
    event_id: str,
    request: Request,
    response: Response,
    hub: Hub,
    key: str,
    declared_sha256: str,
) -> BlobStored:
    """Store the body and attach it; the key was checked before any header was looked at."""
    sha256 = check_sha256(declared_sha256)
    limit = hub.settings.max_clip_bytes if kind == "clip" else hub.settings.max_snapshot_bytes
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise InvalidInput("Content-Length must be a number", field="Content-Length")
        if int(length) > limit:
            raise TooLarge(f"the {kind} is {length} bytes; the limit is {limit} bytes")
    if await run_in_threadpool(blobs.already_attached, hub, key, event_id, kind, sha256):
        response.status_code = status.HTTP_200_OK
        return BlobStored(sha256=sha256, size=int(length or 0), created=False)
    size = await hub.storage.put(_whole_body(request), sha256, limit)
    await run_in_threadpool(blobs.attach, hub, key, event_id, kind, sha256, size)
    return BlobStored(sha256=sha256, size=size, created=True)


SHA_HEADER = Header(
    alias="X-Content-SHA256",
    pattern=SHA256_RE.pattern,
    description="Lowercase hex SHA-256 of the body.",
)
UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
UPLOAD_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "This exact file was already attached.", "model": BlobStored},
    **errors(409),
}


@router.put(
    "/events/{event_id}/clip",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD_DOC,
    responses=UPLOAD_RESPONSES,
)
async def upload_clip(
    event_id: EntityId,
    request: Request,
    response: Response,
    hub: HubDep,
    key: CameraKey,
    sha256: Annotated[str, SHA_HEADER],
) -> BlobStored:
    """Upload the event's MP4 as the raw body; streamed to disk and verified."""
    return await _upload("clip", event_id, request, response, hub, key, sha256)


@router.put(
    "/events/{event_id}/snapshot",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD_DOC,
    responses=UPLOAD_RESPONSES,
)
async def upload_snapshot(
    event_id: EntityId,
    request: Request,
    response: Response,
    hub: HubDep,
    key: CameraKey,
    sha256: Annotated[str, SHA_HEADER],
) -> BlobStored:
    """Upload the event's JPEG snapshot as the raw body."""
    return await _upload("snapshot", event_id, request, response, hub, key, sha256)
