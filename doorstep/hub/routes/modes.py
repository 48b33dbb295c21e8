"""An owner's mode (Home / Away / Off), its schedules, and each camera's mode settings."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, Owner, SessionDep
from doorstep.hub.schemas_modes import (
    CameraModes,
    CameraModesPublic,
    ModePublic,
    ModeSet,
    ScheduleCreate,
    SchedulePublic,
)
from doorstep.hub.services import cameras, modes

router = APIRouter(tags=["modes"])


def _mode(owner: Owner) -> ModePublic:
    return ModePublic(
        mode=modes.current_mode(owner),  # type: ignore[arg-type]
        changed_at=owner.mode_changed_at,
        timezone=owner.timezone or "UTC",
    )


@router.get("/mode", response_model=ModePublic)
def get_mode(owner: Owner) -> ModePublic:
    """Your mode now; each camera's record/notify flags for it are under /cameras/{id}/modes."""
    return _mode(owner)


@router.put("/mode", response_model=ModePublic)
def set_mode(data: ModeSet, owner: Owner, session: SessionDep) -> ModePublic:
    """Switch mode; every camera's agent hears of it within seconds (control connection)."""
    modes.set_mode(session, owner, data.mode, utcnow())
    return _mode(owner)


@router.get("/mode/schedules", response_model=list[SchedulePublic])
def list_schedules(owner: Owner, session: SessionDep) -> object:
    return modes.list_schedules(session, owner)


@router.post("/mode/schedules", status_code=status.HTTP_201_CREATED, response_model=SchedulePublic)
def add_schedule(data: ScheduleCreate, owner: Owner, session: SessionDep) -> object:
    """Switch to ``mode`` at ``at`` (your time zone) on ``days`` (0 = Monday; none: daily)."""
    return modes.add_schedule(session, owner, data.mode, data.at, data.days, utcnow())


@router.delete("/mode/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(schedule_id: EntityId, owner: Owner, session: SessionDep) -> Response:
    modes.delete_schedule(session, owner, schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _camera_modes(camera_id: str, flags: dict[str, dict[str, bool]]) -> CameraModesPublic:
    return CameraModesPublic.model_validate({"camera_id": camera_id, **flags})


@router.get("/cameras/{camera_id}/modes", response_model=CameraModesPublic)
def get_camera_modes(camera_id: EntityId, owner: Owner, session: SessionDep) -> object:
    """Whether the camera records and notifies in each mode."""
    camera = cameras.get_owned_camera(session, owner, camera_id)
    return _camera_modes(camera.id, modes.camera_modes(camera))


@router.put("/cameras/{camera_id}/modes", response_model=CameraModesPublic)
def set_camera_modes(
    camera_id: EntityId, data: CameraModes, owner: Owner, session: SessionDep
) -> object:
    """Set the flags of the modes given; the others keep theirs."""
    camera = cameras.get_owned_camera(session, owner, camera_id)
    flags = modes.set_camera_modes(
        session, camera, data.model_dump(exclude_none=True, exclude_unset=True)
    )
    return _camera_modes(camera.id, flags)
