"""The agent's control connection: the state a camera's agent should be in, its version,
and waking the long-polls waiting for a change (docs/reach.md, docs/ingest-api.md).

Whatever changes what an agent should do (its zones, masks and webhooks, its owner's
mode, the camera's mode settings, the owner's rules) calls :func:`modes.bump` in the same
transaction: ``cameras.control_version`` goes up by one with a conditional ``UPDATE``
(so two processes never lose a bump), and after the commit every long-poll of this
process waiting on those cameras wakes at once. Long-polls in other hub processes find
the new version on their once-a-second look at the database.

The state is declarative (the whole of what the agent should be doing, never a
command), so an agent that missed versions simply takes the latest, and the live-view
work can add ``streams`` without a new message type.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from doorstep.hub.context import Hub
from doorstep.hub.models import Camera, User
from doorstep.hub.services import modes, rules
from doorstep.hub.services.cameras import camera_for_key

WAITERS_KEY = "doorstep.control.waiters"
AGENT_CONFIG_KEYS = ("zones", "masks", "webhook_urls", "webhook_secret")


class Waiters:
    """Long-polls of this process waiting for a camera's next version.

    Commits run in worker threads, waiters in the event loop: :meth:`notify` is
    thread-safe and never blocks.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]]
        self._events = defaultdict(set)

    def add(self, camera_id: str) -> asyncio.Event:
        woken = asyncio.Event()
        with self._lock:
            self._events[camera_id].add((asyncio.get_running_loop(), woken))
        return woken

    def remove(self, camera_id: str, woken: asyncio.Event) -> None:
        with self._lock:
            left = {w for w in self._events.get(camera_id, ()) if w[1] is not woken}
            if left:
                self._events[camera_id] = left
            else:
                self._events.pop(camera_id, None)

    def notify(self, camera_ids: Iterable[str]) -> None:
        with self._lock:
            targets = [w for cid in camera_ids for w in self._events.get(cid, ())]
        for loop, woken in targets:
            loop.call_soon_threadsafe(woken.set)


_attach_lock = threading.Lock()


def waiters(hub: Hub) -> Waiters:
    """The hub's waiters, wired to its sessions' commits on first use."""
    found = hub.extras.get(WAITERS_KEY)
    if isinstance(found, Waiters):
        return found
    with _attach_lock:
        found = hub.extras.get(WAITERS_KEY)
        if isinstance(found, Waiters):
            return found
        created = Waiters()
        _attach(created, hub.sessions)
        hub.extras[WAITERS_KEY] = created
        return created


def _attach(registry: Waiters, sessions: sessionmaker[Session]) -> None:
    @event.listens_for(sessions, "after_commit")
    def _wake(session: Session) -> None:
        bumped = session.info.pop(modes.BUMPED_KEY, None)
        if bumped:
            registry.notify(bumped)

    @event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(modes.BUMPED_KEY, None)


def version_for_key(hub: Hub, key: str) -> tuple[str, int]:
    """The camera of ``key`` and its control version, in a short session of its own
    (401 once the key is rotated or the camera deleted)."""
    with hub.sessions() as session:
        camera = camera_for_key(session, key)
        return camera.id, camera.control_version


def state_for_key(hub: Hub, key: str) -> dict[str, Any]:
    """The whole state the camera's agent should be in, in a short session of its own."""
    with hub.sessions() as session:
        camera = camera_for_key(session, key)
        owner = session.get(User, camera.owner_id)
        assert owner is not None
        return state(session, owner, camera)


def state(session: Session, owner: User, camera: Camera) -> dict[str, Any]:
    """What the agent should be doing now; ``version`` names it."""
    config = {k: v for k, v in (camera.agent_config or {}).items() if k in AGENT_CONFIG_KEYS}
    return {
        "version": camera.control_version,
        "camera_id": camera.id,
        "name": camera.name,
        "config": config,
        **modes.effective(owner, camera),
        "rules": rules.agent_rules(session, owner, camera),
        "streams": [],
    }
