"""What the Merkle audit log adds to a request: one append with its signed checkpoint.

Issue 11's target: appending an entry and its checkpoint adds < 2 ms p99 to a request
on PostgreSQL. Each sample is one transaction, as a request's is: the baseline arm
updates one row (the work a typical state change does); the log arm does the same
plus ``audit.record`` (lock the head, salted leaf, perfect subtrees, root, Ed25519
signed checkpoint). Both arms alternate in one run, on a log that already holds
``--prefill`` entries so the tree is deep, on SQLite and PostgreSQL.

    .venv/bin/python bench/log_append.py [--samples 2000] [--prefill 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hub_common import database, machine, migrated_engine, percentile
from sqlalchemy import text
from tqdm import tqdm

from doorstep.hub.context import LogKey
from doorstep.hub.db import make_session_factory, session_scope
from doorstep.hub.services import audit
from doorstep.signing import Ed25519PrivateKey


def run(backend: str, samples: int, prefill: int, tmp: Path) -> dict[str, list[float]]:
    with database(backend, tmp, "bench_log_append") as url:
        engine = migrated_engine(url)
        sessions = make_session_factory(engine)
        key = LogKey.for_key(Ed25519PrivateKey.generate())
        with session_scope(sessions) as session:
            session.execute(text("CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, n INTEGER)"))
            session.execute(text("INSERT INTO bench_counter VALUES (1, 0)"))
        for start in tqdm(range(0, prefill, 1000), desc=f"{backend}: prefill", unit="k"):
            with session_scope(sessions) as session:
                for i in range(start, min(prefill, start + 1000)):
                    audit.record(session, key, None, "bench.prefill", f"entry:{i}")
        timings: dict[str, list[float]] = {"baseline": [], "with log": []}
        for i in tqdm(range(samples), desc=f"{backend}: samples"):
            for arm in ("baseline", "with log") if i % 2 else ("with log", "baseline"):
                began = time.perf_counter()
                with session_scope(sessions) as session:
                    session.execute(text("UPDATE bench_counter SET n = n + 1 WHERE id = 1"))
                    if arm == "with log":
                        audit.record(session, key, None, "bench.append", f"sample:{i}")
                timings[arm].append((time.perf_counter() - began) * 1000)
        engine.dispose()
        return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--prefill", type=int, default=100_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    print(machine())
    print(f"{args.prefill:,} entries before the samples; {args.samples:,} samples per arm\n")
    print(f"{'backend':<11} {'arm':<9} {'p50 ms':>8} {'p99 ms':>8}   added by the log")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            timings = run(backend, args.samples, args.prefill, Path(tmp))
            base, log = timings["baseline"], timings["with log"]
            for arm, values in timings.items():
                print(
                    f"{backend:<11} {arm:<9} {percentile(values, 0.5):8.3f} "
                    f"{percentile(values, 0.99):8.3f}"
                )
            added50 = percentile(log, 0.5) - percentile(base, 0.5)
            added99 = percentile(log, 0.99) - percentile(base, 0.99)
            print(f"{'':<21}p50 +{added50:.3f} ms, p99 +{added99:.3f} ms (target < 2 ms p99)")


if __name__ == "__main__":
    main()
