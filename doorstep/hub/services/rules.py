"""Notification rules: which events reach an owner on which channel, and when not
(docs/reach.md, "Modes, rules and the control connection").

A rule names a camera (or every camera of the owner), optionally a zone, the labels it
is about (none: any), the channels (push, email, mqtt) and quiet hours in the owner's
time zone. :func:`event_channels` is the one place that turns them into the channels of
one event:

* nothing while the camera's mode does not notify;
* ``{"push"}`` when the owner has no rule at all (the out-of-the-box behaviour);
* else the union of the channels of the enabled rules that match the event, minus the
  channels of every matching rule that is in its quiet hours (quiet hours silence a
  channel for what the rule is about, even if a broader rule would send it).

The inbox entry does not depend on rules: it is made whenever the mode notifies.
``mqtt`` is the agent's MQTT and webhooks: the agent gets the rules that name it on its
control connection (:func:`agent_rules`).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal, get_args

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from doorstep.errors import InvalidInput, NotFound
from doorstep.hub.models import Camera, User
from doorstep.hub.models_reach import NotificationRule
from doorstep.hub.services import modes
from doorstep.hub.services.cameras import get_owned_camera

Label = Literal["person", "motion", "vehicle", "animal", "package"]
Channel = Literal["push", "email", "mqtt"]
LABELS: tuple[str, ...] = get_args(Label)
CHANNELS: tuple[str, ...] = get_args(Channel)
DEFAULT_CHANNELS = frozenset({"push"})
MAX_RULES = 100
FIELDS = (
    "camera_id",
    "zone",
    "labels",
    "min_score",
    "channels",
    "quiet_start",
    "quiet_end",
    "enabled",
)


# -- reading rules ---------------------------------------------------------------------


def list_rules(session: Session, owner: User) -> list[NotificationRule]:
    query = (
        select(NotificationRule)
        .where(NotificationRule.user_id == owner.id)
        .order_by(NotificationRule.created_at, NotificationRule.id)
    )
    return list(session.scalars(query))


def get_rule(session: Session, owner: User, rule_id: str) -> NotificationRule:
    """Another owner's rule is indistinguishable from a missing one."""
    rule = session.get(NotificationRule, rule_id)
    if rule is None or rule.user_id != owner.id:
        raise NotFound("no such rule")
    return rule


# -- changing rules ----------------------------------------------------------------------


def _check(session: Session, owner: User, values: dict[str, Any]) -> None:
    if values.get("camera_id") is not None:
        get_owned_camera(session, owner, values["camera_id"])  # 404 for another's camera
    if (values.get("quiet_start") is None) != (values.get("quiet_end") is None):
        raise InvalidInput("give both quiet_start and quiet_end, or neither", field="quiet_end")
    if not values.get("channels"):
        raise InvalidInput("a rule needs at least one channel", field="channels")


def _affected(session: Session, owner: User, *camera_ids: str | None) -> None:
    """Agents get their rules on the control connection: tell the ones concerned."""
    if any(cid is None for cid in camera_ids):
        modes.bump_owner(session, owner.id)
    else:
        modes.bump(session, [cid for cid in camera_ids if cid])


def create_rule(
    session: Session, owner: User, values: dict[str, Any], now: datetime
) -> NotificationRule:
    """Add a rule; ``values`` as :data:`FIELDS` (a validated ``RuleCreate``)."""
    _check(session, owner, values)
    count = session.scalar(
        select(func.count())
        .select_from(NotificationRule)
        .where(NotificationRule.user_id == owner.id)
    )
    if (count or 0) >= MAX_RULES:
        raise InvalidInput(f"at most {MAX_RULES} rules per owner")
    rule = NotificationRule(
        user_id=owner.id, created_at=now, **{k: values.get(k) for k in FIELDS if k in values}
    )
    rule.labels = sorted(set(rule.labels or []))
    rule.channels = sorted(set(rule.channels or []))
    session.add(rule)
    session.flush()
    _affected(session, owner, rule.camera_id)
    return rule


def update_rule(
    session: Session, owner: User, rule: NotificationRule, changes: dict[str, Any]
) -> NotificationRule:
    """Change the fields given (a validated ``RuleUpdate`` with ``exclude_unset``)."""
    before = rule.camera_id
    values = {k: getattr(rule, k) for k in FIELDS} | changes
    _check(session, owner, values)
    for key, value in changes.items():
        if key in ("labels", "channels"):
            value = sorted(set(value or []))
        setattr(rule, key, value)
    session.flush()
    _affected(session, owner, before, rule.camera_id)
    return rule


def delete_rule(session: Session, owner: User, rule: NotificationRule) -> None:
    camera_id = rule.camera_id
    session.delete(rule)
    session.flush()
    _affected(session, owner, camera_id)


# -- deciding ------------------------------------------------------------------------------


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def in_quiet_hours(rule: NotificationRule, local: time) -> bool:
    """Whether local time ``local`` is inside the rule's quiet hours [start, end).

    A start after the end crosses midnight (22:00-07:00); equal start and end is quiet
    all day.
    """
    if rule.quiet_start is None or rule.quiet_end is None:
        return False
    now = local.hour * 60 + local.minute
    start, end = _minutes(rule.quiet_start), _minutes(rule.quiet_end)
    if start < end:
        return start <= now < end
    return now >= start or now < end


def _event_zones(event: Any) -> list[str] | None:
    zones = event.get("zones") if isinstance(event, dict) else getattr(event, "zones", None)
    return list(zones) if zones else None


def _event_labels(event: Any) -> set[str]:
    """The event's best label and every label it saw (``labels``)."""
    get = event.get if isinstance(event, dict) else lambda key: getattr(event, key, None)
    return {str(get("label") or "motion"), *(get("labels") or [])}


def matches(rule: NotificationRule, camera: Camera, event: Any) -> bool:
    """Camera, zone, label and score; a zone rule matches only an event that lists the
    zone, a rule's labels only an event that saw one of them (a person-only porch rule
    says nothing of a car that only crossed the porch), a minimum score only an event
    scored at least that."""
    if not rule.enabled:
        return False
    if rule.camera_id is not None and rule.camera_id != camera.id:
        return False
    if rule.zone is not None and rule.zone not in (_event_zones(event) or []):
        return False
    if rule.labels and not _event_labels(event) & set(rule.labels):
        return False
    return rule.min_score is None or _event_score(event) >= rule.min_score


def _event_score(event: Any) -> float:
    score = event.get("score") if isinstance(event, dict) else getattr(event, "score", None)
    return float(score or 0.0)


def event_channels(
    session: Session, owner: User, camera: Camera, event: Any, now: datetime
) -> set[str]:
    """The channels this event goes to now (see the module's docstring).

    ``event`` is the hub's Event or a dict with ``label`` (and ``labels`` and ``zones``
    when it has any).
    """
    if not modes.notifies(owner, camera):
        return set()
    rules = list_rules(session, owner)
    if not rules:
        return set(DEFAULT_CHANNELS)
    local = now.astimezone(modes.user_zone(owner)).time()
    matching = [rule for rule in rules if matches(rule, camera, event)]
    quiet = {c for rule in matching if in_quiet_hours(rule, local) for c in rule.channels}
    wanted = {c for rule in matching for c in rule.channels}
    return wanted - quiet


def agent_rules(session: Session, owner: User, camera: Camera) -> list[dict[str, Any]]:
    """The enabled rules about this camera that name the agent's channel (mqtt), as the
    control state carries them; quiet hours in the owner's time zone, named."""
    query = select(NotificationRule).where(
        NotificationRule.user_id == owner.id,
        NotificationRule.enabled.is_(True),
        or_(NotificationRule.camera_id.is_(None), NotificationRule.camera_id == camera.id),
    )
    return [
        {
            "id": rule.id,
            "zone": rule.zone,
            "labels": list(rule.labels or []),
            "min_score": rule.min_score,
            "quiet_start": rule.quiet_start,
            "quiet_end": rule.quiet_end,
            "timezone": owner.timezone or "UTC",
        }
        for rule in session.scalars(query.order_by(NotificationRule.created_at))
        if "mqtt" in (rule.channels or [])
    ]
