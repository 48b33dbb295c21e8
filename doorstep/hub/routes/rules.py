"""An owner's notification rules: what reaches them, on which channel, and when not."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from doorstep.hub.db import utcnow
from doorstep.hub.deps import EntityId, Owner, SessionDep
from doorstep.hub.openapi import errors
from doorstep.hub.schemas_modes import RuleCreate, RulePublic, RuleUpdate
from doorstep.hub.services import rules

router = APIRouter(prefix="/notification-rules", tags=["notification rules"])


@router.get("", response_model=list[RulePublic])
def list_rules(owner: Owner, session: SessionDep) -> object:
    """Your rules; with none, every event of a camera whose mode notifies goes to push."""
    return rules.list_rules(session, owner)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RulePublic,
    responses=errors(404),  # camera_id names no camera of yours
)
def create_rule(data: RuleCreate, owner: Owner, session: SessionDep) -> object:
    """Add a rule: camera (or all), zone, labels, channels and quiet hours (your time zone)."""
    return rules.create_rule(session, owner, data.model_dump(), utcnow())


@router.get("/{rule_id}", response_model=RulePublic)
def get_rule(rule_id: EntityId, owner: Owner, session: SessionDep) -> object:
    return rules.get_rule(session, owner, rule_id)


@router.patch("/{rule_id}", response_model=RulePublic)
def update_rule(rule_id: EntityId, data: RuleUpdate, owner: Owner, session: SessionDep) -> object:
    """Change the fields given."""
    rule = rules.get_rule(session, owner, rule_id)
    return rules.update_rule(session, owner, rule, data.model_dump(exclude_unset=True))


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(rule_id: EntityId, owner: Owner, session: SessionDep) -> Response:
    rules.delete_rule(session, owner, rules.get_rule(session, owner, rule_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
