"""Hub ingest throughput: events/s and clip MB/s through the real HTTP API of a real
`doorstep serve` child process, with several concurrent camera clients.

For each backend (SQLite; PostgreSQL too with ``--pg``) a fresh hub is started on a
free port with a temporary data dir; one owner signs up and registers one camera per
client. Each client is a thread with its own ``httpx.Client`` and camera key. Phases,
each timed from the first request to the last reply:

1. ``health``: ``GET /api/v1/health`` (the HTTP floor: what an empty request costs);
2. ``events``: ``POST /api/v1/ingest/events`` only (JSON, no clip);
3. ``events + clips``: event, then ``PUT .../clip`` of a real clip
   (``traffic_camera.mp4``, 720p H.264, with a 16-byte unique trailer so content
   addressing cannot skip any write; hashes computed before timing).

Baseline in the same run (the ceiling for clips): what the hub's blob store does
with the same bytes, without HTTP or a database: write to a temp file in the same
filesystem while hashing with SHA-256, fsync, rename, fsync the folder, with the same
number of threads.

    python bench/hub_ingest.py [--pg] [--clients 4] [--events 2000] [--clips 80]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from hub_common import MEDIA, database, machine, serve
from tqdm import tqdm

PASSWORD = "correct horse battery"


def timed_parallel(clients: int, jobs: list[list[Callable[[], None]]], label: str) -> float:
    """Run each client's jobs in its own thread; seconds from start to the last reply."""
    bar = tqdm(total=sum(len(j) for j in jobs), desc=label, leave=False)

    def worker(mine: list[Callable[[], None]]) -> None:
        for job in mine:
            job()
            bar.update()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker, mine) for mine in jobs]:
            future.result()
    elapsed = time.perf_counter() - t0
    bar.close()
    return elapsed


def event_body(when: datetime) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "start_time": when.isoformat(),
        "end_time": (when + timedelta(seconds=20)).isoformat(),
        "label": "motion",
        "score": 0.7,
        "box": [0.1, 0.2, 0.3, 0.4],
    }


def setup_cameras(url: str, clients: int) -> list[str]:
    with httpx.Client(base_url=url, timeout=60) as http:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
        body = {"email": email, "password": PASSWORD, "name": "bench"}
        http.post("/api/v1/auth/signup", json=body).raise_for_status()
        reply = http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        token = reply.raise_for_status().json()["access_token"]
        keys = []
        for i in range(clients):
            cam = {"name": f"bench camera {i}", "latitude": 51.45, "longitude": -2.59}
            reply = http.post(
                "/api/v1/cameras", json=cam, headers={"Authorization": f"Bearer {token}"}
            )
            keys.append(reply.raise_for_status().json()["api_key"])
    return keys


def bench_hub(
    backend: str, args: argparse.Namespace, clips: list[tuple[bytes, str]]
) -> dict[str, float]:
    results: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(backend, Path(tmp), "bench_ingest") as db,
        serve(Path(tmp), db) as url,
    ):
        keys = setup_cameras(url, args.clients)
        https = [
            httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {k}"})
            for k in keys
        ]
        per = [range(i, args.events, args.clients) for i in range(args.clients)]
        early_404: list[str] = []

        def health(h: httpx.Client) -> Callable[[], None]:
            def job() -> None:
                h.get("/api/v1/health").raise_for_status()

            return job

        def event(h: httpx.Client) -> Callable[[], None]:
            def job() -> None:
                when = datetime.now(UTC) - timedelta(minutes=5)
                h.post("/api/v1/ingest/events", json=event_body(when)).raise_for_status()

            return job

        def event_clip(h: httpx.Client, data: bytes, sha: str) -> Callable[[], None]:
            def job() -> None:
                when = datetime.now(UTC) - timedelta(minutes=5)
                reply = h.post("/api/v1/ingest/events", json=event_body(when))
                event_id = reply.raise_for_status().json()["id"]
                for _ in range(100):
                    reply = h.put(
                        f"/api/v1/ingest/events/{event_id}/clip",
                        content=data,
                        headers={"X-Content-SHA256": sha},
                    )
                    if reply.status_code != 404:
                        break
                    early_404.append(event_id)  # the 201 reached us before the commit
                    time.sleep(0.005)
                if reply.status_code != 201:
                    raise RuntimeError(f"upload answered {reply.status_code}: {reply.text}")

            return job

        # warm-up: connections, code paths, caches
        timed_parallel(args.clients, [[event(h)] * 5 for h in https], "warm-up")
        jobs = [[health(h)] * len(r) for h, r in zip(https, per, strict=True)]
        results["health_s"] = timed_parallel(args.clients, jobs, f"{backend} health")
        jobs = [[event(h)] * len(r) for h, r in zip(https, per, strict=True)]
        results["events_s"] = timed_parallel(args.clients, jobs, f"{backend} events")
        clip_jobs: list[list[Callable[[], None]]] = [[] for _ in https]
        for i, (data, sha) in enumerate(clips):
            clip_jobs[i % args.clients].append(event_clip(https[i % args.clients], data, sha))
        results["clips_s"] = timed_parallel(args.clients, clip_jobs, f"{backend} clips")
        for h in https:
            h.close()
        results["early_404"] = len(early_404)
        results["early_404_events"] = len(set(early_404))
        stored = sum(1 for p in (Path(tmp) / "data" / "clips" / "blobs").glob("*/*/*"))
        if stored != len(clips):
            raise SystemExit(f"{backend}: {stored} blobs stored, expected {len(clips)}")
    return results


def raw_write(folder: Path, data: bytes, sha: str) -> None:
    """The hub's blob store minus HTTP and the database: hash while writing, fsync, rename."""
    temp = folder / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    with open(temp, "wb") as out:
        for i in range(0, len(data), 1024 * 1024):
            chunk = data[i : i + 1024 * 1024]
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != sha:
        raise RuntimeError("hash mismatch")
    os.replace(temp, folder / sha)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bench_raw(clients: int, clips: list[tuple[bytes, str]]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        jobs: list[list[Callable[[], None]]] = [[] for _ in range(clients)]
        for i, (data, sha) in enumerate(clips):
            jobs[i % clients].append(lambda d=data, s=sha: raw_write(Path(tmp), d, s))
        return timed_parallel(clients, jobs, "raw write+sha256")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--clients", type=int, default=4, help="concurrent camera clients")
    parser.add_argument("--events", type=int, default=2000, help="events in the events phase")
    parser.add_argument("--clips", type=int, default=80, help="event+clip uploads")
    parser.add_argument("--clip", type=Path, default=MEDIA / "dvrscan" / "traffic_camera.mp4")
    args = parser.parse_args()
    base = args.clip.read_bytes()
    clips = []
    for _ in range(args.clips):
        data = base + uuid.uuid4().bytes
        clips.append((data, hashlib.sha256(data).hexdigest()))
    size_mb = len(clips[0][0]) / 1e6
    total_mb = size_mb * len(clips)
    print(f"machine: {machine()}")
    print(
        f"clip: {args.clip.name}, {size_mb:.2f} MB each, {len(clips)} uploads, "
        f"{args.clients} clients"
    )
    raw_s = bench_raw(args.clients, clips)
    raw_mbs = total_mb / raw_s
    print(f"baseline raw write+sha256+fsync: {raw_mbs:.0f} MB/s ({len(clips) / raw_s:.0f} clips/s)")
    print(
        "| backend | health req/s | events/s | events/s vs health | event+clip/s | clip MB/s "
        "| vs raw write |"
    )
    print("|---|---|---|---|---|---|---|")
    for backend in ["sqlite", "postgresql"] if args.pg else ["sqlite"]:
        r = bench_hub(backend, args, clips)
        health = args.events / r["health_s"]
        events = args.events / r["events_s"]
        clip_rate = len(clips) / r["clips_s"]
        mbs = total_mb / r["clips_s"]
        print(
            f"| {backend} | {health:.0f} | {events:.0f} | {events / health:.2f}x | "
            f"{clip_rate:.1f} | {mbs:.0f} | {mbs / raw_mbs:.0%} |"
        )
        if r["early_404"]:
            print(
                f"  {backend}: {r['early_404_events']:.0f} of {len(clips)} clip uploads sent right "
                f"after their event's 201 got 404 (event not committed yet); "
                f"{r['early_404']:.0f} retries"
            )
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
