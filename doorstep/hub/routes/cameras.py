"""An owner's cameras: register, list, read, update, delete, rotate the key."""

from __future__ import annotations

from fastapi import APIRouter, status

from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, HubDep, Owner, SessionDep
from doorstep.hub.schemas import (
    CameraCreate,
    CameraDeleted,
    CameraPublic,
    CameraUpdate,
    CameraWithKey,
)
from doorstep.hub.services import cameras

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CameraWithKey)
def create_camera(data: CameraCreate, owner: Owner, session: SessionDep) -> CameraWithKey:
    """Register a camera. The reply holds its agent key; it is never shown again."""
    camera, key = cameras.create_camera(session, owner, data)
    return CameraWithKey(**CameraPublic.model_validate(camera).model_dump(), api_key=key)


@router.get("", response_model=list[CameraPublic])
def list_cameras(owner: Owner, session: SessionDep) -> object:
    return cameras.list_cameras(session, owner)


@router.get("/{camera_id}", response_model=CameraPublic)
def get_camera(camera_id: EntityId, owner: Owner, session: SessionDep) -> object:
    return cameras.get_owned_camera(session, owner, camera_id)


@router.patch("/{camera_id}", response_model=CameraPublic)
def update_camera(
    camera_id: EntityId, data: CameraUpdate, owner: Owner, session: SessionDep, hub: HubDep
) -> object:
    """Change settings: name, place, retention, opting out of requests, the agent's zones,
    masks and webhooks (validated as on the camera page)."""
    camera = cameras.get_owned_camera(session, owner, camera_id)
    return cameras.update_camera(hub, session, owner, camera, data, utcnow())


@router.delete("/{camera_id}", response_model=CameraDeleted)
def delete_camera(
    camera_id: EntityId, owner: Owner, session: SessionDep, hub: HubDep
) -> CameraDeleted:
    """Delete the camera with its events and clips; footage a running police request holds
    stays until the hold ends, and the reply says how much and until when."""
    camera = cameras.get_owned_camera(session, owner, camera_id)
    return cameras.delete_camera(session, hub.storage, camera, utcnow())


@router.post("/{camera_id}/rotate-key", response_model=CameraWithKey)
def rotate_key(camera_id: EntityId, owner: Owner, session: SessionDep) -> CameraWithKey:
    """Issue a new agent key; the old one stops working at once."""
    camera = cameras.get_owned_camera(session, owner, camera_id)
    key = cameras.rotate_key(session, camera)
    return CameraWithKey(**CameraPublic.model_validate(camera).model_dump(), api_key=key)
