"""The durable job queue: deliveries and other background work, in the hub's own database.

A job is queued in the same transaction as the thing it announces (:func:`enqueue`), so
it exists exactly when that thing does, and a restart loses nothing. Workers (inside
``doorstep serve`` by default, or ``doorstep worker`` processes) claim due jobs, run their
handler, and mark them done; a failure is retried with exponential backoff until
``job_max_attempts``, then the job is ``dead`` and kept with its last error.

Exactly once, in practice: a claim sets ``state='running'`` and a lease, and commits
before the handler runs; PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``, so two
workers never take the same job. Only a worker killed between sending and marking done
(a few milliseconds) can make a job run twice, once its lease ends. SQLite allows one
worker process (its writes are serialised anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from doorstep.hub.db import new_id, session_scope, utcnow
from doorstep.hub.models_reach import Job

if TYPE_CHECKING:
    from doorstep.hub.context import Hub

log = logging.getLogger(__name__)

Handler = Callable[["Hub", dict[str, Any]], None]
Periodic = Callable[["Hub"], None]
HANDLERS: dict[str, Handler] = {}
PERIODIC: list[tuple[float, Periodic]] = []
LEASE = timedelta(minutes=5)  # longer than any handler's network timeouts
KEEP_DONE = timedelta(days=7)
WAKE_KEY = "doorstep.queue.wake"


class PermanentFailure(Exception):
    """Raised by a handler when trying again cannot help (the job goes ``dead`` at once)."""


def job(kind: str) -> Callable[[Handler], Handler]:
    """Register ``fn(hub, payload)`` as the handler of ``kind``; raise to retry."""

    def register(fn: Handler) -> Handler:
        if HANDLERS.get(kind, fn) is not fn:
            raise RuntimeError(f"two handlers for job kind {kind!r}")
        HANDLERS[kind] = fn
        return fn

    return register


def periodic(seconds: float) -> Callable[[Periodic], Periodic]:
    """Register ``fn(hub)`` to run about every ``seconds`` in each worker (idempotent work
    only: with several workers it runs in each). It may enqueue jobs."""

    def register(fn: Periodic) -> Periodic:
        if all(f is not fn for _, f in PERIODIC):
            PERIODIC.append((seconds, fn))
        return fn

    return register


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    run_at: datetime | None = None,
) -> None:
    """Queue a job in the caller's transaction; a second job with the same key is dropped."""
    if key is None:  # nothing to collide with: batched with the caller's other inserts
        open_job(session, kind, payload, run_at=run_at)
        return
    values = {"kind": kind, "payload": payload, "key": key, "run_at": run_at or utcnow()}
    enqueue_many(session, [values])


def open_job(
    session: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = None
) -> Job:
    """Queue a keyless job and return it: the caller may still grow its payload (by
    assigning a new dict) until the transaction commits."""
    pending = Job(id=new_id(), kind=kind, payload=payload, run_at=run_at or utcnow())
    session.add(pending)
    session.info[WAKE_KEY] = True
    return pending


def enqueue_many(session: Session, jobs: list[dict[str, Any]]) -> None:
    """Queue many jobs in one statement (fan-out); each dict as :func:`enqueue`'s arguments."""
    if not jobs:
        return
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "kind": j["kind"],
            "payload": j["payload"],
            "key": j.get("key"),
            "state": "queued",
            "attempts": 0,
            "run_at": j.get("run_at") or now,
            "created_at": now,
        }
        for j in jobs
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(Job).on_conflict_do_nothing(index_elements=["key"]), rows)
    session.info[WAKE_KEY] = True


@dataclass(frozen=True)
class Claimed:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    error: str | None = None
    permanent: bool = False


def backoff(attempts: int) -> timedelta:
    """Wait before try ``attempts + 1``: 2 s, 4 s, 8 s ... at most an hour."""
    return timedelta(seconds=min(3600, 2**attempts))


class Worker:
    """Claims and runs due jobs; one per process, many processes on PostgreSQL."""

    def __init__(self, hub: Hub, *, name: str | None = None) -> None:
        self.hub = hub
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.concurrency = hub.settings.worker_concurrency
        self.max_attempts = hub.settings.job_max_attempts
        self._wake = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_wake: asyncio.Event | None = None
        self.periodic: list[tuple[float, Periodic]] = list(PERIODIC)
        self._next_periodic: dict[int, float] = {}
        self._sleep = time.sleep

    # -- claiming and running -------------------------------------------------

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to ``limit`` due jobs: queued ones past ``run_at``, or expired leases.

        Each claim is a conditional UPDATE on the attempts seen, so two workers that read
        the same row cannot both take it (SQLite has no SKIP LOCKED; PostgreSQL skips rows
        another worker has locked, so they don't even wait for each other).
        """
        now = utcnow()
        with session_scope(self.hub.sessions) as session:
            query = (
                select(Job.id, Job.kind, Job.payload, Job.attempts)
                .where(
                    or_(
                        (Job.state == "queued") & (Job.run_at <= now),
                        (Job.state == "running") & (Job.locked_until < now),
                    )
                )
                .order_by(Job.run_at)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            claimed = []
            for job_id, kind, payload, attempts in session.execute(query).all():
                taken = session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.attempts == attempts)
                    .values(
                        state="running",
                        attempts=attempts + 1,
                        locked_until=now + LEASE,
                        locked_by=self.name,
                    )
                )
                if getattr(taken, "rowcount", 0) == 1:
                    claimed.append(Claimed(job_id, kind, dict(payload), attempts + 1))
        return claimed

    def attempt(self, claimed: Claimed) -> Outcome:
        """Run one job's handler; never raises."""
        handler = HANDLERS.get(claimed.kind)
        try:
            if handler is None:
                raise PermanentFailure(f"no handler for job kind {claimed.kind!r}")
            handler(self.hub, claimed.payload)
        except PermanentFailure as exc:
            return Outcome(claimed, str(exc) or type(exc).__name__, permanent=True)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "job %s (%s) failed, try %d: %s", claimed.id, claimed.kind, claimed.attempts, error
            )
            return Outcome(claimed, error)
        return Outcome(claimed)

    def finish(self, outcomes: list[Outcome]) -> None:
        """Record outcomes in one transaction: the jobs that worked in one statement."""
        if not outcomes:
            return
        now = utcnow()
        running = (Job.locked_by == self.name) & (Job.state == "running")
        done = [o.claimed.id for o in outcomes if o.error is None]
        with session_scope(self.hub.sessions) as session:
            if done:
                session.execute(
                    update(Job)
                    .where(Job.id.in_(done) & running)
                    .values(state="done", finished_at=now, locked_until=None)
                )
            for o in outcomes:
                if o.error is None:
                    continue
                claimed, error = o.claimed, o.error[:2000]
                if o.permanent or claimed.attempts >= self.max_attempts:
                    log.error("job %s (%s) given up: %s", claimed.id, claimed.kind, error)
                    values: dict[str, Any] = {
                        "state": "dead",
                        "finished_at": now,
                        "last_error": error,
                    }
                else:
                    values = {
                        "state": "queued",
                        "run_at": now + backoff(claimed.attempts),
                        "locked_until": None,
                        "last_error": error,
                    }
                session.execute(
                    update(Job).where((Job.id == claimed.id) & running).values(**values)
                )

    def run_batch(self, pool: ThreadPoolExecutor | None = None) -> int:
        """Claim one batch and run it (in ``pool`` when given); returns how many ran.

        Outcomes are recorded in groups as jobs end (a full group, or 50 ms without a new
        one), so one slow delivery does not hold back the record of the others.
        """
        claimed = self.claim(self.concurrency * 4)
        if pool is None:
            self.record([self.attempt(c) for c in claimed])
            return len(claimed)
        pending = {pool.submit(self.attempt, c) for c in claimed}
        ended: list[Outcome] = []
        while pending:
            done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
            ended.extend(f.result() for f in done)
            if ended and (len(ended) >= self.concurrency or not done or not pending):
                self.record(ended)
                ended = []
        return len(claimed)

    def record(self, outcomes: list[Outcome]) -> None:
        """:meth:`finish`, tried until the database takes it: a job that was sent must be
        recorded, or its lease would end and it would be sent again."""
        delay = 0.1
        while True:
            try:
                self.finish(outcomes)
                return
            except Exception as exc:
                log.warning(
                    "could not record %d finished jobs (%s); trying again in %.1f s",
                    len(outcomes),
                    type(exc).__name__,
                    delay,
                )
                self._sleep(delay)
                delay = min(5.0, delay * 2)

    def drain(self, max_rounds: int = 100) -> int:
        """Run every due job, including those the jobs queue, in this thread (tests, CLI)."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_batch()
            total += ran
            if not ran:
                break
        return total

    def purge_done(self) -> int:
        """Forget jobs done more than a week ago (dead ones stay for inspection)."""
        cutoff = utcnow() - KEEP_DONE
        with session_scope(self.hub.sessions) as session:
            result = session.execute(
                delete(Job).where(Job.state == "done", Job.finished_at < cutoff)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # -- the loop -------------------------------------------------------------

    def wake(self) -> None:
        """Look for jobs now (thread-safe): called after a transaction that queued one."""
        if self._loop is not None and self._async_wake is not None:
            self._loop.call_soon_threadsafe(self._async_wake.set)

    def _run_periodic(self) -> None:
        now = self._loop.time() if self._loop else 0.0
        for index, (seconds, task) in enumerate(self.periodic):
            if now < self._next_periodic.get(index, 0.0):
                continue
            self._next_periodic[index] = now + seconds
            try:
                task(self.hub)
            except Exception:
                log.exception(
                    "periodic task %s failed; will retry", getattr(task, "__name__", task)
                )

    async def serve(self, poll_seconds: float = 1.0) -> None:
        """Run until cancelled: wake on new jobs in this process, poll for other processes'."""
        self._loop = asyncio.get_running_loop()
        self._async_wake = asyncio.Event()
        attach(self)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="doorstep-job") as pool:
            while True:
                self._async_wake.clear()
                try:
                    ran = await asyncio.to_thread(self._round, pool)
                except Exception as exc:
                    from doorstep.hub.errors_http import is_database_down

                    if not is_database_down(exc):
                        log.exception("job worker round failed; will retry")
                    else:
                        log.warning("job worker waiting, the database is down")
                    ran = 0
                if ran:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._async_wake.wait(), poll_seconds)

    def _round(self, pool: ThreadPoolExecutor) -> int:
        self._run_periodic()
        return self.run_batch(pool)


@periodic(3600)
def purge_finished_jobs(hub: Hub) -> None:
    """The jobs table keeps done jobs a week (for inspection), not for ever."""
    removed = Worker(hub, name="purge").purge_done()
    if removed:
        log.info("forgot %d jobs done more than a week ago", removed)


def attach(worker: Worker) -> None:
    """Wake ``worker`` after each commit of this hub's sessions that queued a job."""
    from sqlalchemy import event

    @event.listens_for(worker.hub.sessions, "after_commit")
    def _wake(session: Session) -> None:
        if session.info.pop(WAKE_KEY, False):
            worker.wake()

    @event.listens_for(worker.hub.sessions, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(WAKE_KEY, None)
