"""Live messages to a user's open pages (server-sent events).

Producers (the ingest API, police-request notifications) run in worker threads;
consumers are async SSE streams. `publish` is therefore thread-safe and never
blocks: each subscriber has a bounded queue, and a slow page loses old messages
rather than slowing an upload.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

QUEUE_SIZE = 100
PENDING_KEY = "doorstep.live.pending"


class LiveFeed:
    def __init__(self) -> None:
        self._subscribers: dict[
            str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]
        ]
        self._subscribers = defaultdict(set)
        self._lock = threading.Lock()

    def subscribe(self, user_id: str) -> asyncio.Queue[dict[str, Any]]:
        """Call from the event loop that will read the queue."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            self._subscribers[user_id].add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, user_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers[user_id] = {
                s for s in self._subscribers[user_id] if s[1] is not queue
            }
            if not self._subscribers[user_id]:
                del self._subscribers[user_id]

    def publish(self, user_id: str, message: dict[str, Any]) -> int:
        """Send to every open page of the user, from any thread; returns how many."""
        with self._lock:
            targets = list(self._subscribers.get(user_id, ()))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue, message)
        return len(targets)


def _offer(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)


def publish_after_commit(session: Session, user_id: str, message: dict[str, Any]) -> None:
    """Queue a live message that goes out only if the session's transaction commits.

    A page that reacts to the message by fetching data then always finds it.
    """
    session.info.setdefault(PENDING_KEY, []).append((user_id, message))


def attach(feed: LiveFeed, sessions: sessionmaker[Session]) -> None:
    """Deliver each session's queued messages after commit; drop them on rollback."""

    @event.listens_for(sessions, "after_commit")
    def _deliver(session: Session) -> None:
        for user_id, message in session.info.pop(PENDING_KEY, []):
            feed.publish(user_id, message)

    @event.listens_for(sessions, "after_rollback")
    def _drop(session: Session) -> None:
        session.info.pop(PENDING_KEY, None)
