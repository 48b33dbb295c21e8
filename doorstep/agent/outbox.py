"""The durable outbox: every event and file is queued in SQLite before it is uploaded.

An event row is written (and fsynced, ``synchronous=FULL``) the moment the event
starts, and rewritten with a higher version as it changes; a clip or snapshot is
published into ``files/`` atomically and then recorded. The uploader sends what is
due and marks a row sent only for the version it sent, so an update that lands while
an upload is in flight is sent again. Event ids are UUIDs chosen by the agent and the
hub treats a repeat as an update, so a retry after a crash never duplicates anything.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from doorstep.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    sent_version INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    failed TEXT
);
CREATE TABLE IF NOT EXISTS files (
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('clip', 'snapshot')),
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    failed TEXT,
    PRIMARY KEY (event_id, kind)
);
"""


@dataclass(frozen=True)
class EventJob:
    id: str
    payload: dict[str, Any]
    version: int
    attempts: int


@dataclass(frozen=True)
class FileJob:
    event_id: str
    kind: str
    path: Path
    sha256: str
    attempts: int


class Outbox:
    """A SQLite queue in the agent's data dir, safe to use from several threads."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.files_dir = data_dir / "files"
        self.tmp_dir = data_dir / "tmp"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._owner = _lock_data_dir(data_dir)
        self._path = data_dir / "outbox.sqlite3"
        # When an earlier run last wrote here: its last sign of life, if it was killed.
        self.last_active = _last_write(self._path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self.changed = threading.Event()
        with self._db() as db:
            db.executescript(SCHEMA)
            # A (re)start is when a key or the network may have been fixed: try everything now.
            db.execute("UPDATE events SET next_try = 0 WHERE failed IS NULL")
            db.execute("UPDATE files SET next_try = 0 WHERE failed IS NULL AND sent = 0")
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink(missing_ok=True)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
        return db

    def disconnect(self) -> None:
        """Close the calling thread's connection (each thread has its own)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def close(self) -> None:
        """Disconnect and give the data dir up to the next agent."""
        self.disconnect()
        self._owner.close()

    def put_event(self, payload: dict[str, Any]) -> None:
        """Queue an event, or a newer state of it (non-null fields win)."""
        with self._lock, self._db() as db:
            row = db.execute("SELECT payload FROM events WHERE id = ?", (payload["id"],)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO events (id, payload) VALUES (?, ?)",
                    (payload["id"], json.dumps(payload)),
                )
            else:
                merged = json.loads(row[0])
                merged.update({k: v for k, v in payload.items() if v is not None})
                db.execute(
                    "UPDATE events SET payload = ?, version = version + 1, next_try = 0, "
                    "attempts = 0, failed = NULL WHERE id = ?",
                    (json.dumps(merged), payload["id"]),
                )
        self.changed.set()

    def open_events(self) -> list[dict[str, Any]]:
        """Queued events that have no end yet (not given up)."""
        rows = self._db().execute("SELECT payload FROM events WHERE failed IS NULL")
        payloads = [json.loads(row[0]) for row in rows]
        return [p for p in payloads if p.get("end_time") is None]

    def has_file(self, event_id: str, kind: str) -> bool:
        row = (
            self._db()
            .execute("SELECT 1 FROM files WHERE event_id = ? AND kind = ?", (event_id, kind))
            .fetchone()
        )
        return row is not None

    def enqueue_file(self, event_id: str, kind: str, path: Path, sha256: str, size: int) -> None:
        """Queue for upload a file already published under ``files_dir``; the first one wins."""
        with self._lock, self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO files (event_id, kind, path, sha256, size) "
                "VALUES (?, ?, ?, ?, ?)",
                (event_id, kind, str(path), sha256, size),
            )
        self.changed.set()

    def due_events(self, now: float, limit: int = 50) -> list[EventJob]:
        rows = self._db().execute(
            "SELECT id, payload, version, attempts FROM events WHERE failed IS NULL "
            "AND sent_version < version AND next_try <= ? ORDER BY rowid LIMIT ?",
            (now, limit),
        )
        return [EventJob(r[0], json.loads(r[1]), r[2], r[3]) for r in rows]

    def due_files(self, now: float, limit: int = 20) -> list[FileJob]:
        """Files whose event the hub already knows (it answers 404 otherwise)."""
        rows = self._db().execute(
            "SELECT f.event_id, f.kind, f.path, f.sha256, f.attempts FROM files f "
            "JOIN events e ON e.id = f.event_id WHERE e.sent_version > 0 AND f.sent = 0 "
            "AND f.failed IS NULL AND f.next_try <= ? ORDER BY f.rowid LIMIT ?",
            (now, limit),
        )
        return [FileJob(r[0], r[1], Path(r[2]), r[3], r[4]) for r in rows]

    def next_due(self) -> float | None:
        """The earliest time anything pending may be tried, or None when nothing is pending."""
        db = self._db()
        a = db.execute(
            "SELECT MIN(next_try) FROM events WHERE failed IS NULL AND sent_version < version"
        ).fetchone()[0]
        b = db.execute(
            "SELECT MIN(f.next_try) FROM files f JOIN events e ON e.id = f.event_id "
            "WHERE e.sent_version > 0 AND f.sent = 0 AND f.failed IS NULL"
        ).fetchone()[0]
        times = [t for t in (a, b) if t is not None]
        return min(times) if times else None

    def event_sent(self, job: EventJob) -> None:
        with self._lock, self._db() as db:
            db.execute(
                "UPDATE events SET sent_version = MAX(sent_version, ?), attempts = 0 WHERE id = ?",
                (job.version, job.id),
            )

    def file_sent(self, job: FileJob) -> None:
        with self._lock, self._db() as db:
            db.execute(
                "UPDATE files SET sent = 1 WHERE event_id = ? AND kind = ?",
                (job.event_id, job.kind),
            )
        job.path.unlink(missing_ok=True)

    def retry_event(self, job: EventJob, delay: float) -> None:
        with self._lock, self._db() as db:
            db.execute(
                "UPDATE events SET attempts = attempts + 1, next_try = ? WHERE id = ?",
                (time.time() + delay, job.id),
            )

    def retry_file(self, job: FileJob, delay: float) -> None:
        with self._lock, self._db() as db:
            db.execute(
                "UPDATE files SET attempts = attempts + 1, next_try = ? "
                "WHERE event_id = ? AND kind = ?",
                (time.time() + delay, job.event_id, job.kind),
            )

    def fail_event(self, job: EventJob, reason: str) -> None:
        """Give the event up, and its files with it (the hub cannot take them without it)."""
        with self._lock, self._db() as db:
            db.execute("UPDATE events SET failed = ? WHERE id = ?", (reason, job.id))
            db.execute(
                "UPDATE files SET failed = ? WHERE event_id = ? AND sent = 0 AND failed IS NULL",
                (f"event refused: {reason}", job.id),
            )

    def fail_file(self, job: FileJob, reason: str) -> None:
        with self._lock, self._db() as db:
            db.execute(
                "UPDATE files SET failed = ? WHERE event_id = ? AND kind = ?",
                (reason, job.event_id, job.kind),
            )

    def pending(self) -> int:
        """Events and files still to upload (not counting those given up on)."""
        db = self._db()
        events = db.execute(
            "SELECT COUNT(*) FROM events WHERE failed IS NULL AND sent_version < version"
        ).fetchone()[0]
        files = db.execute(
            "SELECT COUNT(*) FROM files WHERE failed IS NULL AND sent = 0"
        ).fetchone()[0]
        return int(events) + int(files)


def _last_write(database: Path) -> float | None:
    """The latest modification time of the database or its write-ahead log, if any."""
    times = [
        path.stat().st_mtime
        for path in (database, database.with_name(database.name + "-wal"))
        if path.exists()
    ]
    return max(times) if times else None


def _lock_data_dir(data_dir: Path) -> IO[bytes]:
    """Hold the data dir for one agent: two sharing it would delete each other's clips in
    progress (``tmp/`` is cleared at start) and upload each other's events with the wrong
    camera key. The lock goes with the process, so a killed agent never leaves it stale."""
    handle = open(data_dir / "agent.lock", "a+b")  # noqa: SIM115 (held until close)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(
            f"{data_dir} is in use by another agent; give each camera its own --data-dir"
        ) from None
    return handle
