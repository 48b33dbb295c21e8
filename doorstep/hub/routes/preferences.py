"""The caller's own email preferences (docs/reach.md, "Email")."""

from __future__ import annotations

from fastapi import APIRouter

from doorstep.hub.deps import CurrentUser, SessionDep
from doorstep.hub.schemas_reach import PreferencesPublic, PreferencesUpdate
from doorstep.hub.services import preferences

router = APIRouter(tags=["users"])


@router.get("/me/preferences", response_model=PreferencesPublic)
def get_preferences(user: CurrentUser) -> PreferencesPublic:
    """Whether email reaches the caller, the event digest, and the time zone emails use."""
    return preferences.read(user)


@router.patch("/me/preferences", response_model=PreferencesPublic)
def update_preferences(
    data: PreferencesUpdate, user: CurrentUser, session: SessionDep
) -> PreferencesPublic:
    """Change some of them; an unknown time zone name is refused (422)."""
    return preferences.update(session, user, data)
