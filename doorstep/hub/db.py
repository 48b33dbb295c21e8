"""Database engine, sessions and the column types shared by every model.

SQLite is the embedded default; PostgreSQL is the scale path. Both are reached
through the same SQLAlchemy 2 engine; the differences (SQLite pragmas, naive
datetimes) are handled here and nowhere else.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import DateTime, Engine, String, create_engine, event, inspect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from doorstep.errors import NotFound


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    """Random, unguessable identifiers: nothing can be enumerated by counting."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), str: String()}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # A database that stops answering (a dropped network, not a refused port) must fail
    # a request in seconds, not hang it until TCP gives up: hence the connect timeout.
    # pool_pre_ping replaces connections that died while idle in the pool; one that dies
    # mid-request fails that request (503), and SQLAlchemy then discards every pooled
    # connection opened before the failure.
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = 5
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
    )


def describe_error(exc: BaseException) -> str:
    """One line for the log: the driver's first line, without the SQL and parameters
    SQLAlchemy appends (they may hold personal data, and make a log line a page)."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else 'no message'}"


def describe_url(url: str) -> str:
    """Where a database is, fit for a message: the file of a SQLite URL, else no password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def open_existing_readonly(url: str, *, required_table: str) -> Engine:
    """An engine that only reads a database that exists and holds ``required_table``.

    For checking a database (``audit verify``) or reporting from it: a missing SQLite
    file is never created (SQLite opens it ``mode=ro``), PostgreSQL sessions run with
    ``default_transaction_read_only``, and nothing is migrated. A missing file, or a
    database without the table, raises :class:`NotFound` naming where it looked.
    """
    parsed = make_url(url)
    where = describe_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or parsed.database == ":memory:" or not path.is_file():
            raise NotFound(f"no database at {where}; give --data-dir or --database-url")
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        engine = create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30),
            poolclass=NullPool,
        )
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            connect_args={"options": "-c default_transaction_read_only=on"},
            poolclass=NullPool,
        )
    else:
        engine = create_engine(url, poolclass=NullPool)
    if not inspect(engine).has_table(required_table):
        engine.dispose()
        raise NotFound(
            f"the database at {where} has no {required_table} table: it is empty or not a "
            "Doorstep hub's database (a hub creates it on start, or `doorstep db upgrade`)"
        )
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
