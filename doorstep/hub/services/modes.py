"""Modes (Home / Away / Off), what each camera does in each, and schedules that switch
them (docs/reach.md, "Modes, rules and the control connection").

A mode belongs to an owner (``users.mode``); each camera says per mode whether it
records and whether it notifies (``cameras.mode_settings``, a mode it does not name
takes :data:`DEFAULTS`). Switching the mode raises the control version of all the
owner's cameras (:func:`bump`), so every agent hears of it on its control connection.

Mode changes are the owner's private settings, not actions on anyone else's data: they
are not written to the public audit log.

Schedules: "switch to ``mode`` at ``at`` on ``days``", in the owner's time zone. The
periodic task switches when a schedule's latest occurrence is after both the last
switch (``mode_changed_at``, manual or scheduled) and the schedule's creation, with a
conditional ``UPDATE`` that only one worker can win: so a switch happens once, a manual
switch after it stands until the next occurrence, and a hub that was down catches up
with the latest occurrence only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from doorstep.errors import NotFound
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models import Camera, User
from doorstep.hub.models_reach import ModeSchedule
from doorstep.hub.queue import periodic

if TYPE_CHECKING:
    from doorstep.hub.context import Hub

Mode = Literal["home", "away", "off"]
MODES: tuple[str, ...] = get_args(Mode)
DEFAULTS: dict[str, dict[str, bool]] = {
    "home": {"record": True, "notify": True},
    "away": {"record": True, "notify": True},
    "off": {"record": False, "notify": False},
}
"""What a camera does in a mode it has no setting for (Ring's defaults are alike: Off
stops motion recording and alerts; Home and Away both record and alert until the owner
says otherwise, e.g. no alerts from indoor cameras at Home)."""
BUMPED_KEY = "doorstep.control.bumped"
MAX_SCHEDULES = 50


# -- the control version -------------------------------------------------------------


def bump(session: Session, camera_ids: Iterable[str]) -> None:
    """Raise the control version of these cameras in the caller's transaction.

    An ``UPDATE ... SET control_version = control_version + 1`` (two processes never
    lose a bump); after the commit this process's long-polls on them wake
    (:mod:`doorstep.hub.services.control`).
    """
    ids = sorted(set(camera_ids))
    if not ids:
        return
    session.execute(
        update(Camera)
        .where(Camera.id.in_(ids))
        .values(control_version=Camera.control_version + 1)
        .execution_options(synchronize_session=False)
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Camera) and obj.id in ids:
            session.expire(obj, ["control_version"])
    session.info.setdefault(BUMPED_KEY, set()).update(ids)


def bump_owner(session: Session, owner_id: str) -> None:
    """Raise the control version of every camera of one owner."""
    query = select(Camera.id).where(Camera.owner_id == owner_id, Camera.deleted_at.is_(None))
    bump(session, list(session.scalars(query)))


# -- modes ---------------------------------------------------------------------------


def camera_modes(camera: Camera) -> dict[str, dict[str, bool]]:
    """The camera's record/notify flags for every mode, defaults filled in."""
    saved: dict[str, Any] = camera.mode_settings or {}
    result = {}
    for mode in MODES:
        flags = saved.get(mode) or {}
        result[mode] = {
            key: bool(flags.get(key, default)) for key, default in DEFAULTS[mode].items()
        }
    return result


def current_mode(owner: User) -> str:
    return owner.mode if owner.mode in MODES else "home"


def effective(owner: User, camera: Camera) -> dict[str, Any]:
    """``{"mode", "record", "notify"}``: what the camera does now."""
    mode = current_mode(owner)
    return {"mode": mode, **camera_modes(camera)[mode]}


def notifies(owner: User, camera: Camera) -> bool:
    """Whether an event of this camera notifies its owner now (inbox, push, email)."""
    return bool(effective(owner, camera)["notify"])


def set_mode(session: Session, owner: User, mode: str, now: datetime) -> bool:
    """Switch the owner's mode; True if it changed. Every switch, even to the same mode,
    counts as the owner's latest word for the schedules."""
    changed = current_mode(owner) != mode
    owner.mode = mode
    owner.mode_changed_at = now
    if changed:
        bump_owner(session, owner.id)
    session.flush()
    return changed


def set_camera_modes(
    session: Session, camera: Camera, settings: dict[str, dict[str, bool]]
) -> dict[str, dict[str, bool]]:
    """Save a camera's per-mode flags (modes not given keep theirs)."""
    merged = {**camera_modes(camera), **settings}
    if merged != camera_modes(camera):
        camera.mode_settings = merged
        bump(session, [camera.id])
    session.flush()
    return camera_modes(camera)


# -- schedules -----------------------------------------------------------------------


def user_zone(user: User) -> ZoneInfo:
    """The user's time zone; an unknown name reads as UTC."""
    try:
        return ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def list_schedules(session: Session, owner: User) -> list[ModeSchedule]:
    query = (
        select(ModeSchedule)
        .where(ModeSchedule.user_id == owner.id)
        .order_by(ModeSchedule.at, ModeSchedule.created_at)
    )
    return list(session.scalars(query))


def add_schedule(
    session: Session, owner: User, mode: str, at: str, days: list[int], now: datetime
) -> ModeSchedule:
    from doorstep.errors import InvalidInput

    if len(list_schedules(session, owner)) >= MAX_SCHEDULES:
        raise InvalidInput(f"at most {MAX_SCHEDULES} schedules per owner")
    schedule = ModeSchedule(
        user_id=owner.id, mode=mode, at=at, days=sorted(set(days)), created_at=now
    )
    session.add(schedule)
    session.flush()
    return schedule


def get_schedule(session: Session, owner: User, schedule_id: str) -> ModeSchedule:
    """Another owner's schedule is indistinguishable from a missing one."""
    schedule = session.get(ModeSchedule, schedule_id)
    if schedule is None or schedule.user_id != owner.id:
        raise NotFound("no such schedule")
    return schedule


def delete_schedule(session: Session, owner: User, schedule_id: str) -> None:
    session.delete(get_schedule(session, owner, schedule_id))
    session.flush()


def latest_occurrence(at: str, days: list[int], zone: ZoneInfo, now: datetime) -> datetime:
    """The latest time ≤ ``now`` the schedule fired, in UTC (``days`` empty: every day).

    Wall-clock times: "07:00" is 07:00 local on either side of a DST change; a time
    that does not exist that day (skipped by DST) fires at the same wall time shifted by
    the gap, as ``zoneinfo`` resolves it.
    """
    hour, minute = (int(part) for part in at.split(":"))
    local = now.astimezone(zone)
    for back in range(8):
        day = (local - timedelta(days=back)).date()
        if days and day.weekday() not in days:
            continue
        fired = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        if fired <= local:
            return fired.astimezone(now.tzinfo)
    raise AssertionError("a weekly schedule fires within 8 days")  # pragma: no cover


def apply_schedules_at(session: Session, now: datetime) -> int:
    """Switch each owner whose schedules fired since their last switch; returns how many."""
    rows = session.execute(
        select(ModeSchedule, User).join(User, User.id == ModeSchedule.user_id)
    ).all()
    due: dict[str, tuple[datetime, ModeSchedule]] = {}
    for schedule, user in rows:
        fired = latest_occurrence(schedule.at, list(schedule.days or []), user_zone(user), now)
        if fired <= schedule.created_at:
            continue
        if user.mode_changed_at is not None and fired <= user.mode_changed_at:
            continue
        if user.id not in due or fired > due[user.id][0]:
            due[user.id] = (fired, schedule)
    switched = 0
    for user_id, (fired, schedule) in due.items():
        result = session.execute(
            update(User)
            .where(
                User.id == user_id,
                or_(User.mode_changed_at.is_(None), User.mode_changed_at < fired),
            )
            .values(mode=schedule.mode, mode_changed_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:  # this worker won the switch
            bump_owner(session, user_id)
            switched += 1
    return switched


@periodic(30)
def apply_schedules(hub: Hub) -> None:
    """Every 30 s in each worker: the conditional UPDATE makes it safe to run in many."""
    with session_scope(hub.sessions) as session:
        apply_schedules_at(session, utcnow())
