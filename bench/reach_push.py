"""Event to phone: from an event accepted by the hub (its 201) to the push request
arriving at the push service, with ``--owners`` subscribed owners (1,000 by default).

Each owner has one camera and one push subscription whose endpoint is a local stand-in
for the push service (``reach_common.PushSink``: it answers 201 and timestamps; no
decryption, so it is not what limits the rate). A real `doorstep serve` child process
with its embedded worker takes one event per camera through the ingest API at a steady
``--rate``, each followed by its snapshot upload (as the agent does). Latency per event:
first POST to its device's endpoint minus the moment the 201 came back (and minus the
moment the POST was sent). Target: p99 < 1 s; moonshot p99 < 200 ms.

Baselines in the same run, same hub: the ingest POST itself (sent to 201), and the
existing live message (server-sent events) to an open page of ``--sse`` owners, from
the POST being sent to the ``event`` message arriving.

    python bench/reach_push.py [--owners 1000] [--rate 20] [--sse 20] [--backend both]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import httpx
import numpy as np
from hub_common import add_tokens, database, load_world, machine, migrated_engine, serve
from reach_common import add_subscriptions, push_sink, set_camera_keys, summary

from doorstep.web.session import SESSION_COOKIE

WARMUP = 10  # events first, not counted: connections, the VAPID header, caches


def snapshot_jpeg() -> bytes:
    frame = np.random.default_rng(1).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return data.tobytes()


def listen(base: str, token: str, seen: dict[str, float], stop: threading.Event) -> None:
    """An open page's live feed: the time each event's message arrives."""
    with httpx.Client(base_url=base, cookies={SESSION_COOKIE: token}, timeout=None) as http:
        try:
            with http.stream("GET", "/live/stream") as reply:
                kind = ""
                for line in reply.iter_lines():
                    if stop.is_set():
                        return
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "event":
                        seen[json.loads(line[6:])["event"]["id"]] = time.perf_counter()
        except httpx.TransportError:
            return  # the hub stopped at the end of the run


def bench_backend(backend: str, args: argparse.Namespace) -> None:
    n = args.owners + WARMUP
    rng = random.Random(args.seed)
    jpeg = snapshot_jpeg()
    digest = hashlib.sha256(jpeg).hexdigest()
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(backend, Path(tmp), "bench_push") as url,
        push_sink() as sink,
    ):
        engine = migrated_engine(url)
        world = load_world(
            engine,
            cameras=n,
            events=0,
            cameras_per_owner=1,
            place=lambda r: (-2.6 + r.uniform(0, 0.1), 51.4 + r.uniform(0, 0.1)),
            event_time=lambda r: datetime.now(UTC),
            rng=rng,
        )
        keys = set_camera_keys(engine, world.camera_ids)
        paths = add_subscriptions(engine, world.owner_ids, sink.url)
        watched = rng.sample(range(WARMUP, n), min(args.sse, args.owners))
        tokens = add_tokens(engine, [world.owner_ids[i] for i in watched])
        engine.dispose()

        sent: dict[int, float] = {}
        accepted: dict[int, float] = {}
        event_ids = [str(uuid.uuid4()) for _ in range(n)]
        live: dict[str, float] = {}
        stop = threading.Event()

        def post(i: int, http: httpx.Client) -> None:
            start = datetime.now(UTC) - timedelta(seconds=30)
            body = {
                "id": event_ids[i],
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(seconds=20)).isoformat(),
                "label": "person",
                "score": 0.9,
            }
            auth = {"Authorization": f"Bearer {keys[i]}"}
            sent[i] = time.perf_counter()
            http.post("/api/v1/ingest/events", json=body, headers=auth).raise_for_status()
            accepted[i] = time.perf_counter()
            headers = {**auth, "X-Content-SHA256": digest}
            http.put(
                f"/api/v1/ingest/events/{event_ids[i]}/snapshot", content=jpeg, headers=headers
            ).raise_for_status()

        env = {
            "DOORSTEP_ENVIRONMENT": "development",
            "DOORSTEP_MAP_TILE_URL": "",
            "DOORSTEP_PUSH_SERVICE_HOSTS": "127.0.0.1",  # the local stand-in
        }
        with serve(Path(tmp), url, **env) as base:
            listeners = [
                threading.Thread(target=listen, args=(base, t, live, stop), daemon=True)
                for t in tokens.values()
            ]
            for thread in listeners:
                thread.start()
            time.sleep(1.0)  # the pages' feeds connect
            clients = [httpx.Client(base_url=base, timeout=60) for _ in range(args.clients)]
            with ThreadPoolExecutor(args.clients) as pool:
                t0 = time.perf_counter()
                futures = []
                for i in range(n):
                    delay = t0 + i / args.rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    futures.append(pool.submit(post, i, clients[i % args.clients]))
                for f in futures:
                    f.result()
                posting_s = time.perf_counter() - t0
            deadline = time.perf_counter() + args.wait
            while sink.count() < n and time.perf_counter() < deadline:
                time.sleep(0.05)
            stop.set()
            for c in clients:
                c.close()

    counted = range(WARMUP, n)
    arrived = [i for i in counted if paths[i] in sink.first]
    from_201 = [sink.first[paths[i]] - accepted[i] for i in arrived]
    from_sent = [sink.first[paths[i]] - sent[i] for i in arrived]
    ingest = [accepted[i] - sent[i] for i in counted]
    sse = [live[event_ids[i]] - sent[i] for i in watched if event_ids[i] in live]
    print(f"\n[{backend}] {args.owners:,} owners with a device, {args.rate:g} events/s")
    print(f"  posting took {posting_s:.1f} s; pushes arrived {len(arrived)}/{args.owners}")
    print(f"  push requests at the sink: {sink.hits} (one per device expected)")
    print("| measure | n | p50 / p99 / max ms |")
    print("|---|---|---|")
    print(f"| event 201 -> push at the endpoint | {len(from_201)} | {summary(from_201)} |")
    print(f"| event POST sent -> push at the endpoint | {len(from_sent)} | {summary(from_sent)} |")
    print(f"| baseline: ingest POST (sent -> 201) | {len(ingest)} | {summary(ingest)} |")
    print(f"| baseline: POST sent -> live message on an open page | {len(sse)} | {summary(sse)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--clients", type=int, default=4, help="concurrent camera clients")
    parser.add_argument("--sse", type=int, default=20, help="owners with an open page")
    parser.add_argument("--wait", type=float, default=60.0, help="s to wait for stragglers")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        bench_backend(backend, args)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
