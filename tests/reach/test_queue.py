"""The durable job queue: keys, retries, leases, and no job run twice by competing workers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from doorstep.config import Settings
from doorstep.hub.context import Hub, build_hub
from doorstep.hub.db import session_scope, utcnow
from doorstep.hub.models_reach import Job
from doorstep.hub.queue import PermanentFailure, Worker, backoff, enqueue, enqueue_many, job
from tests.hub_fixtures import database_url, pg_database  # noqa: F401  (fixtures)

RAN: Counter[str] = Counter()
RAN_LOCK = threading.Lock()
FAIL: dict[str, str] = {}  # payload name -> "retry" | "permanent"


@job("test.record")
def record(_hub: Hub, payload: dict[str, Any]) -> None:
    name = payload["name"]
    if FAIL.get(name) == "permanent":
        raise PermanentFailure("this can never work")
    if FAIL.get(name) == "retry":
        raise ConnectionError("the far end is down")
    time.sleep(payload.get("sleep", 0))
    with RAN_LOCK:
        RAN[name] += 1


@pytest.fixture
def hub(tmp_path: Path, database_url: str) -> Iterator[Hub]:  # noqa: F811
    RAN.clear()
    FAIL.clear()
    hub = build_hub(
        Settings(data_dir=tmp_path / "data", database_url=database_url, worker_concurrency=4)
    )
    yield hub
    hub.engine.dispose()


def jobs_in(hub: Hub, state: str) -> int:
    with session_scope(hub.sessions) as session:
        return int(session.scalar(select(func.count()).where(Job.state == state)) or 0)


def test_a_key_makes_one_job_however_often_it_is_queued(hub: Hub) -> None:
    with session_scope(hub.sessions) as session:
        enqueue(session, "test.record", {"name": "a"}, key="once")
        enqueue(session, "test.record", {"name": "a"}, key="once")
    with session_scope(hub.sessions) as session:
        enqueue_many(session, [{"kind": "test.record", "payload": {"name": "a"}, "key": "once"}])
        enqueue(session, "test.record", {"name": "b"})  # no key: always a new job
    assert Worker(hub).drain() == 2
    assert RAN == {"a": 1, "b": 1}
    assert jobs_in(hub, "done") == 2


def test_a_failure_is_retried_later_and_given_up_after_the_last_try(hub: Hub) -> None:
    FAIL["flaky"] = "retry"
    FAIL["hopeless"] = "permanent"
    with session_scope(hub.sessions) as session:
        enqueue(session, "test.record", {"name": "flaky"})
        enqueue(session, "test.record", {"name": "hopeless"})
    worker = Worker(hub)
    before = utcnow()
    worker.drain()
    with session_scope(hub.sessions) as session:
        rows = {j.payload["name"]: j for j in session.scalars(select(Job))}
        flaky, hopeless = rows["flaky"], rows["hopeless"]
        assert (flaky.state, flaky.attempts) == ("queued", 1)
        assert flaky.run_at >= before + backoff(1) - timedelta(seconds=1)  # not before 2 s
        assert "far end is down" in (flaky.last_error or "")
        assert (hopeless.state, hopeless.attempts) == ("dead", 1)  # no retry can help
    # Time passes; the far end comes back on the third try.
    for attempt in (2, 3):
        with session_scope(hub.sessions) as session:
            session.execute(update(Job).values(run_at=utcnow()).where(Job.state == "queued"))
        if attempt == 3:
            del FAIL["flaky"]
        worker.drain()
    assert RAN == {"flaky": 1}
    assert jobs_in(hub, "done") == 1
    # A job that never succeeds ends dead after job_max_attempts tries, and is kept.
    FAIL["never"] = "retry"
    with session_scope(hub.sessions) as session:
        enqueue(session, "test.record", {"name": "never"})
    for _ in range(hub.settings.job_max_attempts):
        with session_scope(hub.sessions) as session:
            session.execute(update(Job).values(run_at=utcnow()).where(Job.state == "queued"))
        worker.drain()
    assert jobs_in(hub, "dead") == 2
    assert jobs_in(hub, "queued") == 0


def test_a_job_whose_worker_died_runs_again_when_its_lease_ends(hub: Hub) -> None:
    with session_scope(hub.sessions) as session:
        enqueue(session, "test.record", {"name": "orphan"})
    dead_worker = Worker(hub, name="killed")
    assert len(dead_worker.claim(10)) == 1  # claimed, then the process died
    assert Worker(hub).drain() == 0  # the lease holds: nobody else takes it
    with session_scope(hub.sessions) as session:
        session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert Worker(hub).drain() == 1
    assert RAN == {"orphan": 1}


def test_competing_workers_run_every_job_exactly_once(hub: Hub) -> None:
    names = [f"job{i}" for i in range(200)]
    with session_scope(hub.sessions) as session:
        enqueue_many(
            session,
            [{"kind": "test.record", "payload": {"name": n, "sleep": 0.002}} for n in names],
        )
    workers = [Worker(hub, name=f"w{i}") for i in range(4)]
    errors: list[BaseException] = []

    def work(worker: Worker) -> None:
        deadline = time.monotonic() + 60
        while jobs_in(hub, "done") < len(names) and time.monotonic() < deadline:
            try:
                worker.run_batch()
            except Exception as exc:  # SQLite may answer "locked" to a losing claimer
                if "locked" not in str(exc):
                    errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(RAN) == set(names)
    assert max(RAN.values()) == 1, [n for n, c in RAN.items() if c > 1]
    with session_scope(hub.sessions) as session:
        by = Counter(session.scalars(select(Job.locked_by)))
    if hub.engine.dialect.name == "postgresql":
        assert len(by) > 1  # they shared the work rather than queueing behind one lock


def test_a_commit_that_queues_a_job_wakes_the_worker_at_once(hub: Hub) -> None:
    async def scenario() -> float:
        worker = Worker(hub)
        task = asyncio.create_task(worker.serve(poll_seconds=30))  # polling would take 30 s
        await asyncio.sleep(0.2)
        start = time.monotonic()
        with session_scope(hub.sessions) as session:
            enqueue(session, "test.record", {"name": "now"})
        while not RAN and time.monotonic() - start < 10:
            await asyncio.sleep(0.01)
        task.cancel()
        return time.monotonic() - start

    assert asyncio.run(scenario()) < 2
    assert RAN == {"now": 1}


def test_a_database_blip_while_recording_outcomes_sends_nothing_twice(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sends happened: their outcome must be recorded, not left to a lease that ends
    in a second send."""
    with session_scope(hub.sessions) as session:
        enqueue_many(
            session, [{"kind": "test.record", "payload": {"name": f"m{i}"}} for i in range(5)]
        )
    worker = Worker(hub)
    worker._sleep = lambda _seconds: None
    real_finish = worker.finish
    failures = iter([ConnectionError("server closed the connection unexpectedly")])

    def flaky_finish(outcomes: list[Any]) -> None:
        for failure in failures:
            raise failure
        real_finish(outcomes)

    monkeypatch.setattr(worker, "finish", flaky_finish)
    assert worker.run_batch() == 5
    assert jobs_in(hub, "done") == 5 and jobs_in(hub, "running") == 0
    with session_scope(hub.sessions) as session:
        session.execute(update(Job).values(locked_until=utcnow() - timedelta(minutes=10)))
    assert Worker(hub).drain() == 0  # nothing left to send again
    assert {f"m{i}": 1 for i in range(5)} == RAN
