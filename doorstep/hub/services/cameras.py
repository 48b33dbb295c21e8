"""The camera registry: an owner's cameras, their locations and agent keys."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.errors import NotAuthenticated, NotFound
from doorstep.hub.context import Hub
from doorstep.hub.models import Camera, Event, User
from doorstep.hub.schemas import CameraCreate, CameraDeleted, CameraUpdate
from doorstep.hub.security import CAMERA_KEY_PREFIX, new_secret, secret_hash
from doorstep.hub.services import audit, modes
from doorstep.hub.services.events import delete_events
from doorstep.hub.services.retention import held_for_police, hold_ends
from doorstep.hub.storage_base import BlobStorage


def create_camera(session: Session, owner: User, data: CameraCreate) -> tuple[Camera, str]:
    """Register a camera; returns it with its key, which is never retrievable again."""
    key = new_secret(CAMERA_KEY_PREFIX)
    camera = Camera(
        owner_id=owner.id, key_hash=secret_hash(key), agent_config={}, **data.model_dump()
    )
    session.add(camera)
    session.flush()
    return camera, key


def list_cameras(session: Session, owner: User) -> list[Camera]:
    query = (
        select(Camera)
        .where(Camera.owner_id == owner.id, Camera.deleted_at.is_(None))
        .order_by(Camera.created_at)
    )
    return list(session.scalars(query))


def get_owned_camera(session: Session, owner: User, camera_id: str) -> Camera:
    """Another owner's camera is indistinguishable from a missing one."""
    camera = session.get(Camera, camera_id)
    if camera is None or camera.owner_id != owner.id or camera.deleted_at is not None:
        raise NotFound("no such camera")
    return camera


def update_camera(
    hub: Hub, session: Session, owner: User, camera: Camera, data: CameraUpdate, now: datetime
) -> Camera:
    """Change a camera's settings; the one path for the API's PATCH and the camera page.

    Opting the camera out of (or back into) police requests is recorded as
    ``camera.opt_out`` / ``camera.opt_in``; any other change as ``camera.update`` with
    the names of the fields changed (not their values). Nothing changed, nothing recorded.
    """
    changed: list[str] = []
    for field, value in data.model_dump(exclude_unset=True, exclude={"agent_config"}).items():
        if value is not None and getattr(camera, field) != value:
            setattr(camera, field, value)
            changed.append(field)
    if data.agent_config is not None:
        before = dict(camera.agent_config or {})
        after = {**before, **data.agent_config.model_dump(exclude_unset=True, exclude_none=True)}
        if after.get("webhook_urls") and not after.get("webhook_secret"):
            after["webhook_secret"] = secrets.token_urlsafe(32)  # the agent signs with it
        differ = sorted(k for k in after if (after.get(k) or None) != (before.get(k) or None))
        if after != before:
            camera.agent_config = after
        changed += differ  # an empty list where nothing was set is no change
    subject = f"camera:{camera.id}"
    if changed:
        modes.bump(session, [camera.id])  # its agent hears of it (control connection)
    if "opt_out_requests" in changed:
        changed.remove("opt_out_requests")
        action = "camera.opt_out" if camera.opt_out_requests else "camera.opt_in"
        audit.log_action(hub, session, owner, action, subject, {}, now)
    if changed:
        audit.log_action(hub, session, owner, "camera.update", subject, {"fields": changed}, now)
    session.flush()
    return camera


def rotate_key(session: Session, camera: Camera) -> str:
    key = new_secret(CAMERA_KEY_PREFIX)
    camera.key_hash = secret_hash(key)
    session.flush()
    return key


def delete_camera(
    session: Session, storage: BlobStorage, camera: Camera, now: datetime
) -> CameraDeleted:
    """Delete a camera, its events and the blobs no other event refers to, except footage a
    running police request holds (docs/requests.md): that stays, with the request's record
    of it, until the hold ends; the camera is gone for every other purpose at once (its
    key stops working, it is never matched, it leaves the owner's list)."""
    held = set(
        session.scalars(
            select(Event.id).where(Event.camera_id == camera.id, Event.id.in_(held_for_police(now)))
        )
    )
    doomed = [
        e
        for e in session.scalars(select(Event).where(Event.camera_id == camera.id))
        if e.id not in held
    ]
    removed = delete_events(session, storage, doomed)
    until = hold_ends(session, sorted(held), now)
    if held:
        camera.deleted_at = now
        camera.key_hash = secret_hash(new_secret(CAMERA_KEY_PREFIX))  # the old key dies
    else:
        session.delete(camera)
    session.flush()
    return CameraDeleted(
        deleted_events=len(doomed),
        deleted_files=removed,
        held_events=len(held),
        held_until=until,
        detail=(
            f"The camera is deleted. {len(held)} event(s) are held for a police request "
            f"until {until.isoformat() if until else 'its end'} and will be deleted then."
            if held
            else "The camera and all its footage are deleted."
        ),
    )


def camera_for_key(session: Session, key: str) -> Camera:
    if not key.startswith(CAMERA_KEY_PREFIX):
        raise NotAuthenticated("not a camera key")
    camera = session.scalar(select(Camera).where(Camera.key_hash == secret_hash(key)))
    if camera is None:
        raise NotAuthenticated("unknown camera key; it may have been rotated")
    return camera
