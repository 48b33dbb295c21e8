"""Request matching latency at scale: the hub's matching service against a full scan
(and PostGIS when installed), on SQLite and PostgreSQL, same data, same run.

Loads ``--cameras`` cameras (two per owner, 1% opted out) uniformly over a square
city of ``--city-km`` km a side around Bristol and ``--events`` events (round-robin
over the cameras, uniformly over the last 29 days) with sqlite3 executemany /
PostgreSQL COPY into the hub's own migrated schema. Then, for ``--queries`` random
request areas of 0.025-0.5 sq mi (circles and squares, validated by ``geo.parse_area``
as the API does) with a 2 h window, times
:func:`doorstep.hub.services.matching.match` (what ``create_request`` calls), a fresh
session per query, in these variants:

* ``hub``: unchanged (bounding box on ``ix_cameras_lat_lon``, shapely exact test);
* ``full scan`` (baseline): the same code with the candidate query's columns written
  ``latitude + 0`` so no index can serve it (first ``--baseline-queries`` areas);
* ``PostGIS`` (PostgreSQL, when the extension is installed): cameras from
  ``ST_Covers(area, geom)`` on a GIST index, then the hub's own event search.

Every variant must return the same events for the same area (checked).

    python bench/hub_matching.py [--cameras 1000000] [--events 500000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub_common import database, load_world, machine, migrated_engine, percentile, postgis_available
from sqlalchemy import Engine, Select, false, select, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from doorstep import geo
from doorstep.hub.models import Camera, User
from doorstep.hub.services import matching

CENTER = (-2.597, 51.45)  # lon, lat: the hub's default map centre
M_PER_DEG = 111_320.0
SQ_M_PER_SQ_MI = 2_589_988.11
WINDOW = timedelta(hours=2)
HISTORY = timedelta(days=29)


@dataclass
class Query:
    area: geo.Area
    start: datetime
    end: datetime


def metres_to_deg(lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return east_m / (M_PER_DEG * math.cos(math.radians(lat))), north_m / M_PER_DEG


def make_queries(n: int, city_m: float, now: datetime, rng: random.Random) -> list[Query]:
    queries = []
    inner = city_m / 2 - 1000
    while len(queries) < n:
        dlon, dlat = metres_to_deg(
            CENTER[1], rng.uniform(-inner, inner), rng.uniform(-inner, inner)
        )
        lon, lat = CENTER[0] + dlon, CENTER[1] + dlat
        sq_m = rng.uniform(0.027, 0.49) * SQ_M_PER_SQ_MI
        raw: dict[str, Any]
        if len(queries) % 2:
            raw = {"type": "Circle", "center": [lon, lat], "radius_m": math.sqrt(sq_m / math.pi)}
        else:
            hx, hy = metres_to_deg(lat, math.sqrt(sq_m) / 2, math.sqrt(sq_m) / 2)
            ring = [[lon - hx, lat - hy], [lon + hx, lat - hy], [lon + hx, lat + hy]]
            ring += [[lon - hx, lat + hy], [lon - hx, lat - hy]]
            raw = {"type": "Polygon", "coordinates": [ring]}
        end = now - timedelta(hours=1) - (HISTORY - WINDOW) * rng.random()
        queries.append(Query(geo.parse_area(raw), end - WINDOW, end))
    return queries


def full_scan_candidates(area: geo.Area) -> Select:  # type: ignore[type-arg]
    """The hub's candidate query with ``+ 0`` on the columns: no index can answer it."""
    min_lon, min_lat, max_lon, max_lat = area.bbox
    lat, lon = Camera.latitude + 0, Camera.longitude + 0
    return (
        select(Camera.id, Camera.latitude, Camera.longitude, Camera.owner_id)
        .join(User, User.id == Camera.owner_id)
        .where(
            lat >= min_lat,
            lat <= max_lat,
            lon >= min_lon,
            lon <= max_lon,
            Camera.opt_out_requests == false(),
            User.opt_out_requests == false(),
            User.is_active.is_(True),
        )
    )


POSTGIS_SQL = text(
    "SELECT c.id FROM cameras c JOIN users u ON u.id = c.owner_id "
    "WHERE ST_Covers(ST_SetSRID(ST_GeomFromGeoJSON(:area), 4326), c.geom) "
    "AND NOT c.opt_out_requests AND NOT u.opt_out_requests AND u.is_active"
)


def postgis_cameras(session: Session, area: geo.Area) -> list[str]:
    return list(session.scalars(POSTGIS_SQL, {"area": json.dumps(area.to_geojson())}))


@contextmanager
def patched(name: str, replacement: Callable[..., Any] | None) -> Iterator[None]:
    """Swap one function of the matching module for the duration of a variant."""
    if replacement is None:
        yield
        return
    original = getattr(matching, name)
    setattr(matching, name, replacement)
    try:
        yield
    finally:
        setattr(matching, name, original)


def run_variant(
    engine: Engine, queries: list[Query], label: str
) -> tuple[list[float], list[list[str]]]:
    """Latency (ms) of ``matching.match`` per query and the matched event ids."""
    times, results = [], []
    for q in tqdm(queries, desc=label, leave=False):
        with Session(engine) as session:
            t0 = time.perf_counter()
            matches = matching.match(session, q.area, q.start, q.end)
            times.append((time.perf_counter() - t0) * 1000)
            results.append(sorted(e.id for m in matches for e in m.events))
    return times, results


def plan(engine: Engine, query: Select) -> str:  # type: ignore[type-arg]
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + sql).all()
    return " / ".join(str(r[-1]) for r in rows)


def bench_backend(
    backend: str, args: argparse.Namespace, queries: list[Query], now: datetime
) -> None:
    use_postgis = backend == "postgresql" and postgis_available() and not args.no_postgis
    half = args.city_km * 500.0

    def place(rng: random.Random) -> tuple[float, float]:
        dlon, dlat = metres_to_deg(CENTER[1], rng.uniform(-half, half), rng.uniform(-half, half))
        return CENTER[0] + dlon, CENTER[1] + dlat

    def event_time(rng: random.Random) -> datetime:
        return now - HISTORY * rng.random()

    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp), "bench_match") as url:
        engine = migrated_engine(url)
        if use_postgis:
            with engine.begin() as conn:
                conn.execute(text("CREATE EXTENSION postgis"))
                conn.execute(text("ALTER TABLE cameras ADD COLUMN geom geometry(Point, 4326)"))
        t0 = time.perf_counter()
        load_world(
            engine,
            cameras=args.cameras,
            events=args.events,
            cameras_per_owner=2,
            place=place,
            event_time=event_time,
            rng=random.Random(args.seed),
            opt_out_fraction=0.01,
            postgis=use_postgis,
        )
        with engine.begin() as conn:
            if use_postgis:
                conn.execute(
                    text("CREATE INDEX ix_bench_cameras_geom ON cameras USING GIST (geom)")
                )
            conn.execute(text("ANALYZE cameras"))
        load_s = time.perf_counter() - t0
        print(
            f"\n[{backend}] loaded {args.cameras:,} cameras, {args.events:,} events "
            f"in {load_s:.0f} s"
        )
        print(
            f"  hub candidate plan:       {plan(engine, matching.candidate_query(queries[0].area))}"
        )
        print(f"  full-scan candidate plan: {plan(engine, full_scan_candidates(queries[0].area))}")

        run_variant(engine, queries[: args.warmup], "warm-up")
        variants: dict[str, tuple[list[float], list[list[str]]]] = {}
        base = queries[: args.baseline_queries]
        with patched("candidate_query", full_scan_candidates):
            variants["full scan"] = run_variant(engine, base, "full scan")
        variants["hub"] = run_variant(engine, queries, "hub")
        if use_postgis:
            with patched("cameras_in_area", postgis_cameras):
                variants["PostGIS"] = run_variant(engine, queries, "PostGIS")
        for name, (_, results) in variants.items():
            reference = variants["hub"][1]
            if results != reference[: len(results)]:
                raise SystemExit(f"{backend}: {name} matched different events than the hub")
        with Session(engine) as session:
            n_cams = [len(matching.cameras_in_area(session, q.area)) for q in base]
        n_events = [len(r) for r in variants["hub"][1]]
        engine.dispose()

    hub_p50 = percentile(variants["hub"][0], 0.5)
    print(
        f"  cameras in area: mean {sum(n_cams) / len(n_cams):.0f} (first {len(base)} areas); "
        f"events matched: mean {sum(n_events) / len(n_events):.1f}, max {max(n_events)}"
    )
    print("  | variant | queries | p50 ms | p95 ms | p50 vs hub |")
    print("  |---|---|---|---|---|")
    for name, (times, _) in variants.items():
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        print(f"  | {name} | {len(times)} | {p50:.1f} | {p95:.1f} | {p50 / hub_p50:.2f}x |")
    if backend == "postgresql" and not use_postgis:
        print("  PostGIS not installed" if not postgis_available() else "  PostGIS skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=1_000_000)
    parser.add_argument(
        "--events", type=int, default=500_000, help="10M takes far too long to load here"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--city-km", type=float, default=30.0, help="side of the square city")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--no-postgis", action="store_true", help="skip PostGIS even if installed")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    now = datetime.now(UTC)
    queries = make_queries(args.queries, args.city_km * 1000, now, random.Random(args.seed + 1))
    print(f"machine: {machine()}")
    print(f"postgis: {'installed' if postgis_available() else 'PostGIS not installed'}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        bench_backend(backend, args, queries, now)


if __name__ == "__main__":
    main()
