"""A user's email preferences: one path for the API and the settings page.

Email about police requests and access to one's footage is on unless turned off (the
inbox entry stays either way); the hourly event digest is opt-in; times in emails are
shown in the user's time zone.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from doorstep.hub.models import User
from doorstep.hub.schemas_reach import PreferencesPublic, PreferencesUpdate
from doorstep.hub.services import modes


def read(user: User) -> PreferencesPublic:
    return PreferencesPublic.model_validate(user)


def update(session: Session, user: User, data: PreferencesUpdate) -> PreferencesPublic:
    """Set the fields given; the others stay as they are."""
    if data.email_notifications is not None:
        user.email_notifications = data.email_notifications
    if data.event_email_digest is not None:
        user.event_email_digest = data.event_email_digest
    if data.timezone is not None and data.timezone != user.timezone:
        user.timezone = data.timezone
        modes.bump_owner(session, user.id)  # the agents' rules keep quiet hours in this zone
    session.flush()
    return read(user)
