"""A user's push devices: subscribe, unsubscribe, list (the API and the pages call these).

An endpoint is a URL the hub will POST to, so it is checked like one: only at the
browsers' push services (``DOORSTEP_PUSH_SERVICE_HOSTS``), over https, never at an IP
literal in a loopback, private or link-local range (see :func:`check_endpoint`), so a
subscription cannot aim the hub's worker at its own network or another server. One row
per endpoint: a browser that subscribes again (or a device that changes hands) updates
the row and moves it to the caller. A user keeps at most ``MAX_DEVICES``; the least
recently created go first.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from doorstep.config import Settings
from doorstep.errors import InvalidInput, NotFound
from doorstep.hub.models import User
from doorstep.hub.models_reach import PushSubscription
from doorstep.hub.schemas_push import PushSubscriptionCreate

MAX_DEVICES = 20
USER_AGENT_LENGTH = 300


def check_endpoint(settings: Settings, endpoint: str) -> None:
    """Refuse an endpoint the hub should not POST to (422 on ``endpoint``).

    The host must be one of ``DOORSTEP_PUSH_SERVICE_HOSTS`` in every environment (the
    default one included: anyone may sign up, and the worker's answers would let them
    probe the hub's network), over https to a name or a public address; plain http and
    private addresses are taken only for an IP address listed exactly (a deployment's
    own push service, a test's stand-in).
    """
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise InvalidInput("endpoint is not a URL", field="endpoint") from None
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput("endpoint must be an https:// URL of a push service", field="endpoint")
    if parts.username or parts.password:
        raise InvalidInput("endpoint must not carry a user name or password", field="endpoint")
    allowed = settings.push_service_host_list
    if not known_push_service(host, allowed):
        raise InvalidInput(
            f"{host} is not a push service this hub sends to (DOORSTEP_PUSH_SERVICE_HOSTS)",
            field="endpoint",
        )
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None  # a push service's name
    if address is not None and host in allowed:
        return  # an address the deployment named exactly: its own service, a test's stand-in
    if parts.scheme != "https":
        raise InvalidInput("endpoint must be an https:// URL of a push service", field="endpoint")
    if address is not None and not address.is_global:
        raise InvalidInput("endpoint must not point into a private network", field="endpoint")


def known_push_service(host: str, allowed: list[str]) -> bool:
    """``host`` is listed, or under a listed ``.suffix``; ``*`` allows any host."""
    host = host.lower().rstrip(".")
    return any(
        entry == "*" or host == entry or (entry.startswith(".") and host.endswith(entry))
        for entry in allowed
    )


def subscribe(
    settings: Settings,
    session: Session,
    user: User,
    data: PushSubscriptionCreate,
    user_agent: str,
    now: datetime,
) -> tuple[PushSubscription, bool]:
    """Store the caller's subscription; returns it and whether it is new."""
    check_endpoint(settings, data.endpoint)
    sub = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == data.endpoint))
    created = sub is None
    if sub is None:
        sub = PushSubscription(endpoint=data.endpoint, user_id=user.id, created_at=now)
        session.add(sub)
    elif sub.user_id != user.id:  # the browser now belongs to someone else
        sub.user_id = user.id
        sub.created_at = now
        sub.last_success_at = None
    sub.p256dh = data.keys.p256dh
    sub.auth = data.keys.auth
    sub.user_agent = user_agent[:USER_AGENT_LENGTH]
    session.flush()
    _keep_newest(session, user)
    return sub, created


def _keep_newest(session: Session, user: User) -> None:
    ids = session.scalars(
        select(PushSubscription.id)
        .where(PushSubscription.user_id == user.id)
        .order_by(PushSubscription.created_at.desc(), PushSubscription.id)
        .offset(MAX_DEVICES)
    ).all()
    if ids:
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids)))


def unsubscribe(session: Session, user: User, endpoint: str) -> None:
    """Remove the caller's subscription of ``endpoint`` (404 if it is not theirs)."""
    sub = session.scalar(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == user.id
        )
    )
    if sub is None:
        raise NotFound("no push subscription of yours has this endpoint", field="endpoint")
    session.delete(sub)


def list_for(session: Session, user: User) -> list[PushSubscription]:
    """The caller's devices, newest first."""
    return list(
        session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id)
        )
    )
