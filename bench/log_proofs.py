"""Transparency-log proofs and rebuilds at a million entries (issue 11's speed targets).

Builds a :class:`doorstep.merkle.MemoryTree` over ``--leaves`` random entries of
``--entry-bytes`` bytes each (an audit entry's canonical bytes with its salt are a few
hundred), then, for ``--samples`` random queries each, times:

* **serve**: :func:`~doorstep.merkle.inclusion_proof` (random size in the newest half
  of the log, random leaf) and :func:`~doorstep.merkle.consistency_proof` (random
  ``old < new``), reading perfect nodes from memory, so this is the hashing and
  bookkeeping a request costs on top of fetching ``O(log n)`` stored nodes;
* **verify**: :func:`~doorstep.merkle.verify_inclusion` and
  :func:`~doorstep.merkle.verify_consistency` on those proofs, what a witness or an
  owner checking a receipt runs;
* **rebuild**: the root from the serialised entries with
  :class:`~doorstep.merkle.StreamingRoot` (leaf hash + append per entry, as
  ``doorstep audit verify`` must), against ``sha256sum`` over the same bytes written
  to a temporary file (warm page cache, best of ``--repeat``), in the same run.

Every proof is checked to verify; the rebuilt root must equal the tree's.

    python bench/log_proofs.py [--leaves 1000000] [--entry-bytes 320] [--samples 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from doorstep import merkle


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rebuild(blob: bytes, entry_bytes: int) -> bytes:
    streaming = merkle.StreamingRoot()
    append, leaf_hash = streaming.append, merkle.leaf_hash
    for offset in range(0, len(blob), entry_bytes):
        append(leaf_hash(blob[offset : offset + entry_bytes]))
    return streaming.root()


def sha256sum(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--entry-bytes", type=int, default=320)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="rebuild runs; the best counts")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    n, size_b = args.leaves, args.entry_bytes
    rng = random.Random(args.seed)

    chunk = 4096 * size_b  # randbytes refuses one call of more than 2**31 bits
    blob = b"".join(rng.randbytes(min(chunk, n * size_b - i)) for i in range(0, n * size_b, chunk))
    start = time.perf_counter()
    tree = merkle.MemoryTree(
        merkle.leaf_hash(blob[i : i + size_b]) for i in range(0, len(blob), size_b)
    )
    build_s = time.perf_counter() - start
    perfect = tree.perfect

    inc_serve, inc_verify, con_serve, con_verify = [], [], [], []
    for _ in range(args.samples):
        size = rng.randint(max(1, n // 2), n)
        index = rng.randrange(size)
        root = tree.root(size)
        leaf = perfect(0, index)
        t0 = time.perf_counter()
        path = merkle.inclusion_proof(index, size, perfect)
        t1 = time.perf_counter()
        ok = merkle.verify_inclusion(index, size, leaf, path, root)
        t2 = time.perf_counter()
        assert ok, (index, size)
        inc_serve.append(t1 - t0)
        inc_verify.append(t2 - t1)

        new = rng.randint(2, n)
        old = rng.randrange(1, new)
        old_root, new_root = tree.root(old), tree.root(new)
        t0 = time.perf_counter()
        proof = merkle.consistency_proof(old, new, perfect)
        t1 = time.perf_counter()
        ok = merkle.verify_consistency(old, new, old_root, new_root, proof)
        t2 = time.perf_counter()
        assert ok, (old, new)
        con_serve.append(t1 - t0)
        con_verify.append(t2 - t1)

    with tempfile.TemporaryDirectory() as tmp:
        path_file = Path(tmp) / "entries.bin"
        path_file.write_bytes(blob)
        sha256sum(path_file)  # warm the page cache
        sum_s = min(sha256sum(path_file) for _ in range(args.repeat))
    rebuild_s = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        root = rebuild(blob, size_b)
        rebuild_s = min(rebuild_s, time.perf_counter() - start)
        assert root == tree.root(), "the rebuilt root differs from the tree's"

    mib = len(blob) / 2**20
    print(
        f"{n:,} entries of {size_b} B ({mib:,.0f} MiB), {args.samples:,} samples per proof; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}, {sys.platform}"
    )
    print()
    print(f"{'operation':<34}{'p50':>10}{'p99':>10}{'max':>10}")
    for name, values in (
        ("inclusion proof, serve", inc_serve),
        ("inclusion proof, verify", inc_verify),
        ("consistency proof, serve", con_serve),
        ("consistency proof, verify", con_verify),
    ):
        p50, p99, top = percentile(values, 0.5), percentile(values, 0.99), max(values)
        print(f"{name:<34}{p50 * 1e3:>8.3f}ms{p99 * 1e3:>8.3f}ms{top * 1e3:>8.3f}ms")
    print()
    print(f"{'whole log':<34}{'seconds':>10}{'MiB/s':>10}{'entries/s':>12}")
    for name, seconds in (
        ("MemoryTree build (all nodes)", build_s),
        ("StreamingRoot rebuild", rebuild_s),
        ("sha256sum, same bytes", sum_s),
    ):
        print(f"{name:<34}{seconds:>10.2f}{mib / seconds:>10.0f}{n / seconds:>12,.0f}")
    print()
    print(f"rebuild / sha256sum: {rebuild_s / sum_s:.1f}x")
    print(f"build with all nodes / rebuild: {build_s / rebuild_s:.2f}x")
    serve_p99 = max(percentile(inc_serve, 0.99), percentile(con_serve, 0.99)) * 1e3
    verify_p99 = max(percentile(inc_verify, 0.99), percentile(con_verify, 0.99)) * 1e3
    print(f"worst p99: serve {serve_p99:.3f} ms (target < 5), verify {verify_p99:.3f} ms (< 1)")


if __name__ == "__main__":
    main()
