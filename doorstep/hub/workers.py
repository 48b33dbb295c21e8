"""Builds a job worker with every kind of job registered (docs/reach.md).

The modules imported here register their handlers and periodic tasks with
:mod:`doorstep.hub.queue` when imported; a new kind of job is one more import here.
"""

from __future__ import annotations

from doorstep.hub import delivery, mail, push  # noqa: F401  (they register their jobs)
from doorstep.hub.context import Hub
from doorstep.hub.queue import Worker
from doorstep.hub.services import digest, modes, reminders  # noqa: F401  (periodic, reminders)


def build_worker(hub: Hub, name: str | None = None) -> Worker:
    """A worker for ``hub``: :meth:`Worker.serve` runs it, :meth:`Worker.drain` in tests."""
    return Worker(hub, name=name)
