"""Serving proofs of a million-entry audit log from the database, as the hub does.

Issue 11's target: inclusion and consistency proofs for a 1,000,000-entry log are
served in p99 < 5 ms. ``bench/log_proofs.py`` times the proof arithmetic in memory;
this times the hub's own path (``tlog.inclusion`` / ``tlog.consistency``: a dry run to
find the nodes, one query for them, the proof) over perfect-subtree rows bulk-loaded
into SQLite and PostgreSQL, with the in-memory tree as the baseline in the same run.

    .venv/bin/python bench/log_serve.py [--leaves 1000000] [--samples 2000]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import psycopg
from hub_common import database, machine, migrated_engine, percentile
from sqlalchemy import text
from tqdm import tqdm

from doorstep import merkle
from doorstep.hub.db import make_session_factory, session_scope
from doorstep.hub.services import tlog


def load_nodes(url: str, tree: merkle.MemoryTree, engine: object) -> None:
    """Every perfect subtree of the tree into audit_tree_nodes, and the head's size."""
    rows = []
    for level in range(tree.size.bit_length()):
        for index in range(tree.size >> level):
            rows.append((level, index, tree.perfect(level, index).hex()))
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.executemany("INSERT INTO audit_tree_nodes VALUES (?, ?, ?)", rows)
            conn.execute("UPDATE audit_head SET size = ? WHERE id = 1", (tree.size,))
    else:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn, conn.cursor() as cur:
            buffer = io.StringIO("".join(f"{lv}\t{ix}\t{h}\n" for lv, ix, h in rows))
            with cur.copy("COPY audit_tree_nodes (level, idx, hash) FROM STDIN") as copy:
                copy.write(buffer.read())
            cur.execute("UPDATE audit_head SET size = %s WHERE id = 1", (tree.size,))
            cur.execute("ANALYZE audit_tree_nodes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    rng = random.Random(7)
    tree = merkle.MemoryTree()
    for _ in tqdm(range(args.leaves), desc="tree", unit_scale=True):
        tree.append(os.urandom(32))
    n = tree.size
    queries = [(rng.randrange(n), rng.randrange(1, n)) for _ in range(args.samples)]
    print(machine())
    print(f"{n:,} entries, {args.samples:,} samples per operation\n")
    print(f"{'backend':<11} {'proof':<12} {'p50 ms':>8} {'p99 ms':>8}   vs in memory (p99)")
    memory: dict[str, list[float]] = {"inclusion": [], "consistency": []}
    for index, old in queries:
        began = time.perf_counter()
        merkle.inclusion_proof(index, n, tree.perfect)
        memory["inclusion"].append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        merkle.consistency_proof(old, n, tree.perfect)
        memory["consistency"].append((time.perf_counter() - began) * 1000)
    for kind, values in memory.items():
        print(
            f"{'memory':<11} {kind:<12} {percentile(values, 0.5):8.3f} "
            f"{percentile(values, 0.99):8.3f}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            with database(backend, Path(tmp), "bench_log_serve") as url:
                engine = migrated_engine(url)
                load_nodes(url, tree, engine)
                sessions = make_session_factory(engine)
                timings: dict[str, list[float]] = {"inclusion": [], "consistency": []}
                with session_scope(sessions) as session:
                    session.execute(text("SELECT 1"))
                    for index, old in tqdm(queries, desc=backend):
                        began = time.perf_counter()
                        proof = tlog.inclusion(session, index, n)
                        timings["inclusion"].append((time.perf_counter() - began) * 1000)
                        assert proof == merkle.inclusion_proof(index, n, tree.perfect)
                        began = time.perf_counter()
                        tlog.consistency(session, old, n)
                        timings["consistency"].append((time.perf_counter() - began) * 1000)
                for kind, values in timings.items():
                    ratio = percentile(values, 0.99) / percentile(memory[kind], 0.99)
                    print(
                        f"{backend:<11} {kind:<12} {percentile(values, 0.5):8.3f} "
                        f"{percentile(values, 0.99):8.3f}   {ratio:.1f}x (target < 5 ms)"
                    )
                engine.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
