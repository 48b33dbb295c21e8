"""Request fan-out: an officer's request that reaches ``--owners`` owners (10,000 by
default), from the POST to every owner's inbox having it, on SQLite and PostgreSQL.

Each owner has one camera inside an 800 m square (0.247 sq mi) and one event in
a 2 h window, bulk-loaded into the hub's migrated schema (not through the ORM). A
real `doorstep serve` child process then takes ``POST /api/v1/requests`` from an
officer; the fan-out is timed from sending the POST to the moment a separate
connection sees ``--owners`` rows in ``request_recipients`` for it (every inbox has
it), and a sample of owners' ``GET /api/v1/inbox`` is checked to list it.

Baselines in the same run, same database:

* ``empty request``: the same POST for an area with no cameras (the fixed cost);
* ``matching only``: ``services.matching.match`` for the area, in this process;
* ``bulk insert floor``: the rows a fan-out writes (one recipient, one clip and one
  notification per owner) inserted with one executemany per table, one commit.

    python bench/hub_fanout.py [--owners 10000] [--repeat 2] [--backend both]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from hub_common import add_tokens, database, load_world, machine, migrated_engine, serve
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from doorstep import geo
from doorstep.hub import totp
from doorstep.hub.db import make_session_factory, new_id, session_scope
from doorstep.hub.models import Role
from doorstep.hub.models_requests import (
    Notification,
    PoliceRequest,
    RequestClip,
    RequestRecipient,
)
from doorstep.hub.services import mfa
from doorstep.hub.services.accounts import create_user
from doorstep.hub.services.matching import match

CENTER = (-2.597, 51.45)  # lon, lat
HALF_M = 400.0
M_PER_DEG = 111_320.0
PASSWORD = "correct horse battery"
SAMPLE_OWNERS = 20


def square(lon: float, lat: float, half_m: float) -> dict[str, Any]:
    hx = half_m / (M_PER_DEG * 0.6225)  # cos(51.45 deg)
    hy = half_m / M_PER_DEG
    ring = [[lon - hx, lat - hy], [lon + hx, lat - hy], [lon + hx, lat + hy], [lon - hx, lat + hy]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def request_body(area: dict[str, Any], start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "incident_type": "burglary",
        "case_number": f"BENCH-{uuid.uuid4().hex[:8]}",
        "reason": "Benchmark: break-in reported between the given times.",
        "contact": "bench@police.example",
        "area": area,
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
    }


def recipients(engine: Engine, request_id: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).where(RequestRecipient.request_id == request_id)
        return int(conn.scalar(query.select_from(RequestRecipient)) or 0)


def bulk_floor(
    engine: Engine, request_id: str, owners: list[str], cameras: list[str], events: list[str]
) -> float:
    """Write the rows of a fan-out for a copy of the request: one executemany per table."""
    now = datetime.now(UTC)
    columns = [c.name for c in PoliceRequest.__table__.columns if c.name != "id"]
    copy_id = new_id()
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO police_requests (id, {', '.join(columns)}) "
                f"SELECT :copy, {', '.join(columns)} FROM police_requests WHERE id = :id"
            ),
            {"copy": copy_id, "id": request_id},
        )
    t0 = time.perf_counter()
    rec_ids = [new_id() for _ in owners]
    with engine.begin() as conn:
        conn.execute(
            insert(RequestRecipient),
            [
                {
                    "id": r,
                    "request_id": copy_id,
                    "owner_id": o,
                    "decision": "pending",
                    "share_location": False,
                    "created_at": now,
                }
                for r, o in zip(rec_ids, owners, strict=True)
            ],
        )
        conn.execute(
            insert(RequestClip),
            [
                {
                    "id": new_id(),
                    "request_id": copy_id,
                    "recipient_id": r,
                    "camera_id": c,
                    "event_id": e,
                    "shared": False,
                }
                for r, c, e in zip(rec_ids, cameras, events, strict=True)
            ],
        )
        conn.execute(
            insert(Notification),
            [
                {
                    "id": new_id(),
                    "user_id": o,
                    "kind": "request",
                    "created_at": now,
                    "payload": {"request_id": copy_id, "incident_type": "burglary", "clips": 1},
                }
                for o in owners
            ],
        )
    return time.perf_counter() - t0


def bench_backend(backend: str, args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    end = now - timedelta(hours=1)
    start = end - timedelta(hours=2)
    inner = (HALF_M - 50) / M_PER_DEG

    def place(rng: random.Random) -> tuple[float, float]:
        return (
            CENTER[0] + rng.uniform(-inner, inner) / 0.6225,
            CENTER[1] + rng.uniform(-inner, inner),
        )

    def event_time(rng: random.Random) -> datetime:
        return start + timedelta(minutes=rng.uniform(10, 100))

    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp), "bench_fanout") as url:
        engine = migrated_engine(url)
        world = load_world(
            engine,
            cameras=args.owners,
            events=args.owners,
            cameras_per_owner=1,
            place=place,
            event_time=event_time,
            rng=random.Random(args.seed),
        )
        officer_secret = add_officer(engine, now)
        sample = random.Random(args.seed).sample(world.owner_ids, SAMPLE_OWNERS)
        tokens = add_tokens(engine, sample)
        area = square(*CENTER, HALF_M)
        parsed = geo.parse_area(area)
        with Session(engine) as session:
            t0 = time.perf_counter()
            matched = match(session, parsed, start, end)
            match_s = time.perf_counter() - t0
        if len(matched) != args.owners:
            raise SystemExit(f"{backend}: the area matches {len(matched)} owners")

        with serve(Path(tmp), url) as base, httpx.Client(base_url=base, timeout=600) as http:
            reply = http.post(
                "/api/v1/auth/token",
                data={
                    "username": "officer@bench.example",
                    "password": PASSWORD,
                    "totp_code": totp.current_code(officer_secret),
                },
            )
            officer = {"Authorization": f"Bearer {reply.raise_for_status().json()['access_token']}"}
            empty_area = square(CENTER[0] + 1.0, CENTER[1], HALF_M)  # 70 km east: no cameras
            empty, posts, visible, request_ids = [], [], [], []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                http.post(
                    "/api/v1/requests", json=request_body(empty_area, start, end), headers=officer
                ).raise_for_status()
                empty.append(time.perf_counter() - t0)
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                reply = http.post(
                    "/api/v1/requests", json=request_body(area, start, end), headers=officer
                )
                posts.append(time.perf_counter() - t0)
                request_id = reply.raise_for_status().json()["id"]
                while recipients(engine, request_id) < args.owners:
                    time.sleep(0.01)
                visible.append(time.perf_counter() - t0)
                request_ids.append(request_id)
            for owner, token in tokens.items():
                reply = http.get("/api/v1/inbox", headers={"Authorization": f"Bearer {token}"})
                listed = {item["request_id"] for item in reply.raise_for_status().json()}
                if not set(request_ids) <= listed:
                    raise SystemExit(f"{backend}: owner {owner}'s inbox lacks a request")
        floor = bulk_floor(
            engine, request_ids[0], world.owner_ids, world.camera_ids, world.event_ids
        )
        engine.dispose()

    best = min(visible)
    print(f"\n[{backend}] {args.owners:,} owners, {args.repeat} requests each way")
    print("| measure | best s | all runs s | per owner ms | vs bulk floor |")
    print("|---|---|---|---|---|")
    rows = [
        ("POST to every inbox has it", visible),
        ("POST reply (201)", posts),
        ("empty request (no cameras)", empty),
        ("matching only", [match_s]),
        ("bulk insert floor", [floor]),
    ]
    for name, values in rows:
        runs = ", ".join(f"{v:.2f}" for v in values)
        per = min(values) / args.owners * 1000
        print(f"| {name} | {min(values):.2f} | {runs} | {per:.3f} | {min(values) / floor:.1f}x |")
    print(f"  inboxes checked through GET /api/v1/inbox: {SAMPLE_OWNERS} owners, all list it")
    print(f"  fan-out minus empty request: {best - min(empty):.2f} s")


def add_officer(engine: Engine, now: datetime) -> str:
    """The benchmark's officer (City police); returns the TOTP secret they sign in with,
    since police sign in with a code as well."""
    secret = totp.new_secret()
    with session_scope(make_session_factory(engine)) as session:
        officer = create_user(
            session,
            email="officer@bench.example",
            password=PASSWORD,
            name="Officer",
            role=Role.officer,
            agency_name="Bench Police",
        )
        mfa.set_secret(session, officer, secret, now)
    return secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2, help="requests per measure")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        bench_backend(backend, args)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
