"""Shared helpers of the hub benchmarks: a real `doorstep serve`, throw-away databases,
bulk loading of owners, cameras and events (sqlite3 executemany / PostgreSQL COPY,
never the ORM), percentiles and a line describing the machine.

Not a benchmark itself; imported by ``bench/hub_*.py``.
"""

from __future__ import annotations

import json
import os
import platform
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Engine, insert
from tqdm import tqdm

from doorstep.hub.db import make_engine
from doorstep.hub.migrate import upgrade
from doorstep.hub.models import ApiToken
from doorstep.hub.security import secret_hash

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
CHUNK_ROWS = 20_000
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bench$not-a-real-password-hash"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs (shared with other jobs), load avg {load}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def database(backend: str, tmp: Path, prefix: str) -> Iterator[str]:
    """A SQLAlchemy URL for an empty database of the backend ('sqlite' or 'postgresql')."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'doorstep.db'}"
    else:
        with pg_database(prefix) as url:
            yield url


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def postgis_available() -> bool:
    with psycopg.connect(PG_ADMIN) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
    return bool(row and row[0])


@contextmanager
def serve(tmp: Path, database_url: str, **settings: str) -> Iterator[str]:
    """`doorstep serve` as a child process on a free port; yields its base URL.

    ``settings`` are more environment variables (``DOORSTEP_SMTP_URL=...``)."""
    port = free_port()
    env = {
        **os.environ,
        "DOORSTEP_DATA_DIR": str(tmp / "data"),
        "DOORSTEP_DATABASE_URL": database_url,
        **settings,
    }
    cmd = [sys.executable, "-m", "doorstep", "serve", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"doorstep serve exited: {stderr}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the hub did not start within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class World:
    """What was loaded: ids in load order, camera positions (lon, lat)."""

    owner_ids: list[str]
    camera_ids: list[str]
    camera_lonlat: list[tuple[float, float]]
    event_ids: list[str]


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for a UTC datetime (naive, microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Loader:
    """Bulk rows into the hub's own tables: sqlite3 executemany or PostgreSQL COPY."""

    def __init__(self, engine: Engine, postgis: bool = False) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.postgis = postgis

    def _value(self, value: Any) -> Any:
        if self.sqlite:
            if isinstance(value, datetime):
                return _sqlite_time(value)
            if isinstance(value, bool):
                return int(value)
        return value

    def insert(self, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if self.sqlite:
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-1000000")  # 1 GB: random-key index inserts
                marks = ", ".join("?" for _ in columns)
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                batch: list[tuple[Any, ...]] = []
                for row in rows:
                    batch.append(tuple(self._value(v) for v in row))
                    if len(batch) >= CHUNK_ROWS:
                        cursor.executemany(sql, batch)
                        batch.clear()
                if batch:
                    cursor.executemany(sql, batch)
            else:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()

    def analyze(self) -> None:
        raw = self.engine.raw_connection()
        try:
            raw.cursor().execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()


def load_world(
    engine: Engine,
    *,
    cameras: int,
    events: int,
    cameras_per_owner: int,
    place: Any,
    event_time: Any,
    rng: random.Random,
    opt_out_fraction: float = 0.0,
    postgis: bool = False,
    progress: bool = True,
) -> World:
    """Owners, their cameras at ``place(rng)`` (lon, lat), events at ``event_time(rng)``."""
    loader = Loader(engine)
    now = datetime.now(UTC)
    n_owners = (cameras + cameras_per_owner - 1) // cameras_per_owner
    owner_ids = [str(uuid.uuid4()) for _ in range(n_owners)]
    camera_ids = [str(uuid.uuid4()) for _ in range(cameras)]
    lonlat = [place(rng) for _ in range(cameras)]
    event_ids = [str(uuid.uuid4()) for _ in range(events)]

    def bar(n: int, what: str) -> tqdm[Any]:
        return tqdm(total=n, desc=f"load {what}", unit="row", disable=not progress, leave=False)

    user_cols = [
        "id",
        "email",
        "name",
        "password_hash",
        "role",
        "is_active",
        "opt_out_requests",
        "created_at",
    ]

    def users() -> Iterator[tuple[Any, ...]]:
        with bar(n_owners, "users") as b:
            for i, oid in enumerate(owner_ids):
                b.update()
                yield (
                    oid,
                    f"owner{i}@bench.example",
                    f"owner {i}",
                    DUMMY_HASH,
                    "owner",
                    True,
                    False,
                    now,
                )

    camera_cols = [
        "id",
        "owner_id",
        "name",
        "latitude",
        "longitude",
        "retention_days",
        "opt_out_requests",
        "key_hash",
        "agent_config",
        "created_at",
    ]
    if postgis:
        camera_cols.append("geom")

    def camera_rows() -> Iterator[tuple[Any, ...]]:
        with bar(cameras, "cameras") as b:
            for i, cid in enumerate(camera_ids):
                b.update()
                lon, lat = lonlat[i]
                row: tuple[Any, ...] = (
                    cid,
                    owner_ids[i // cameras_per_owner],
                    f"camera {i}",
                    lat,
                    lon,
                    30,
                    rng.random() < opt_out_fraction,
                    uuid.uuid4().hex + uuid.uuid4().hex,
                    json.dumps({}),
                    now,
                )
                if postgis:
                    row += (f"SRID=4326;POINT({lon!r} {lat!r})",)
                yield row

    event_cols = ["id", "camera_id", "start_time", "end_time", "label", "score", "created_at"]

    def event_rows() -> Iterator[tuple[Any, ...]]:
        with bar(events, "events") as b:
            for i, eid in enumerate(event_ids):
                b.update()
                start = event_time(rng)
                end = start + timedelta(seconds=rng.randint(5, 120))
                yield (eid, camera_ids[i % cameras], start, end, "motion", 0.5, now)

    loader.insert("users", user_cols, users())
    loader.insert("cameras", camera_cols, camera_rows())
    loader.insert("events", event_cols, event_rows())
    loader.analyze()
    return World(owner_ids, camera_ids, lonlat, event_ids)


def add_tokens(engine: Engine, owner_ids: list[str]) -> dict[str, str]:
    """A user token per owner given (API and, as the session cookie, the pages)."""
    now = datetime.now(UTC)
    tokens = {owner: f"dst_bench_{uuid.uuid4().hex}" for owner in owner_ids}
    with engine.begin() as conn:
        conn.execute(
            insert(ApiToken),
            [
                {
                    "token_hash": secret_hash(t),
                    "user_id": o,
                    "created_at": now,
                    "expires_at": now + timedelta(days=1),
                }
                for o, t in tokens.items()
            ],
        )
    return tokens
