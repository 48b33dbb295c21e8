"""What the header of every signed-in page shows beyond the user: the unread count."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import object_session

from doorstep.hub.db import describe_error
from doorstep.hub.services.notification_centre import unread_count

log = logging.getLogger(__name__)


def unread_notifications(user: Any) -> int | None:
    """The user's unread notifications, counted in the page's own database session.

    None when there is no count to give (the user was read in a session that has
    closed, as error pages do, or the database failed): a badge must never be the
    reason a page fails, so the header then shows the link without a number.
    """
    session = object_session(user)
    if session is None:
        return None
    try:
        with session.no_autoflush:  # a page re-shown with a bad form holds unsaved rows
            return unread_count(session, user)
    except SQLAlchemyError as exc:
        log.warning("the header's unread count is left out: %s", describe_error(exc))
        return None
