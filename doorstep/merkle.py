"""RFC 9162 Merkle tree hashing, proofs and their verification (no I/O).

The audit log is an append-only Merkle tree exactly as Certificate Transparency
defines it (RFC 9162 section 2.1), so any CT tooling, and anyone with SHA-256, can
check what the hub publishes:

* a leaf hash is ``SHA-256(0x00 || data)``, an interior node ``SHA-256(0x01 || left ||
  right)`` (the prefixes stop a leaf from passing for a node), and the empty tree's
  hash is ``SHA-256("")``;
* a tree of ``n > 1`` leaves splits at ``k``, the largest power of two below ``n``.

This module owns the arithmetic only. Storage is abstracted as a :data:`PerfectNode`
function, because the only hashes a log ever needs to keep are those of *perfect*
subtrees (``2**level`` leaves starting at a multiple of ``2**level``): they never
change once complete, and every root and proof is built from ``O(log n)`` of them.
The hub stores them in its database; :class:`MemoryTree` keeps them in lists for
tests and tools; :class:`StreamingRoot` keeps only the ``O(log n)`` it still needs
to compute a root from a stream.

Every function here takes and returns leaf *hashes*, never entry bytes: what goes
into a leaf (the canonical entry and its salt) is the caller's business.

Decisions
---------
* Proof builders raise :class:`ValueError` on impossible arguments: a caller asking
  for leaf 10 of a 5-leaf tree has a bug. Verifiers never raise: they are fed data
  from the network, and any malformed input simply does not verify.
* Indexes are 0-based, as in RFC 9162 (the CT C++ code counts leaves from 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryTree",
    "PerfectNode",
    "StreamingRoot",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "new_perfect_nodes",
    "node_hash",
    "root_hash",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

PerfectNode = Callable[[int, int], bytes]
"""(level, index) -> hash of the perfect subtree over leaves
[index * 2**level, (index + 1) * 2**level)."""

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}): the hash of the empty tree (RFC 9162 section 2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the prefix keeps leaves and nodes from colliding."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n >= 2``): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _hash_list(proof: object) -> list[bytes] | None:
    """The proof as a list of 32-byte hashes, or None when it is anything else."""
    if not isinstance(proof, Sequence) or isinstance(proof, bytes | bytearray | str):
        return None
    return list(proof) if all(_is_hash(p) for p in proof) else None


def subtree_hash(start: int, end: int, perfect: PerfectNode) -> bytes:
    """MTH(D[start:end]) for a range that RFC 9162's recursion produces.

    Such a range starts at a multiple of the smallest power of two ``>= end - start``,
    so it is a run of perfect subtrees of decreasing size (the binary digits of its
    length); folding them from the right gives the hash with one :func:`node_hash` per
    extra run. Other ranges are not subtrees of any tree and raise ``ValueError``.
    """
    n = end - start
    if start < 0 or n <= 0:
        raise ValueError(f"empty or negative leaf range [{start}, {end})")
    if start % (1 << (n - 1).bit_length()):
        raise ValueError(f"leaf range [{start}, {end}) is not a subtree of any Merkle tree")
    parts: list[bytes] = []
    pos = start
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            parts.append(perfect(level, pos >> level))
            pos += 1 << level
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def root_hash(size: int, perfect: PerfectNode) -> bytes:
    """MTH(D[0:size]): the tree head's root hash; :data:`EMPTY_ROOT` for size 0."""
    if size < 0:
        raise ValueError(f"negative tree size {size}")
    return subtree_hash(0, size, perfect) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, perfect: PerfectNode) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf side first.

    Descends from the root keeping the sibling of the half that holds ``index``.
    All siblings are perfect subtrees except at most one, so this costs ``O(log n)``
    calls to ``perfect``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(subtree_hash(mid, hi, perfect))
            hi = mid
        else:
            path.append(subtree_hash(lo, mid, perfect))
            lo = mid
    path.reverse()
    return path


def consistency_proof(old: int, new: int, perfect: PerfectNode) -> list[bytes]:
    """PROOF(old, D[0:new]) of RFC 9162 section 2.1.4.1, as SUBPROOF(old, D[0:new], true).

    Proves that the tree of size ``old`` is a prefix of the tree of size ``new``;
    ``[]`` when they are equal. Size 0 has no proof (every tree extends the empty one).
    """
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    tail: list[bytes] = []
    lo, hi, m, whole_old_root_known = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            tail.append(subtree_hash(lo + k, hi, perfect))
            hi = lo + k
        else:
            tail.append(subtree_hash(lo, lo + k, perfect))
            lo, m, whole_old_root_known = lo + k, m - k, False
    head = [] if whole_old_root_known else [subtree_hash(lo, hi, perfect)]
    return head + tail[::-1]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: is ``leaf`` (a leaf hash) number ``index`` of the tree
    of ``size`` leaves whose root is ``root``? False, never an exception, on bad input."""
    if not (_is_size(index) and _is_size(size) and index < size):
        return False
    path = _hash_list(proof)
    if path is None or not (_is_hash(leaf) and _is_hash(root)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree (``old``, ``old_root``) a prefix of the tree
    (``new``, ``new_root``)? False, never an exception, on bad input.

    Equal sizes need an empty proof and equal roots; from size 0 an empty proof and
    ``old_root`` equal to :data:`EMPTY_ROOT`, since every tree extends the empty one.
    """
    if not (_is_size(old) and _is_size(new) and old <= new):
        return False
    path = _hash_list(proof)
    if path is None or not (_is_hash(old_root) and _is_hash(new_root)):
        return False
    if old == new:
        return not path and old_root == new_root
    if old == 0:
        return not path and old_root == EMPTY_ROOT
    if not path:
        return False
    if old & (old - 1) == 0:  # the old tree is a perfect subtree: the prover omits its root
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def new_perfect_nodes(
    size_before: int, leaf: bytes, perfect: PerfectNode
) -> list[tuple[int, int, bytes]]:
    """The ``(level, index, hash)`` of every perfect node that appending ``leaf`` as leaf
    number ``size_before`` completes: the leaf itself, then each parent while the node
    just completed is a right child. What a store must write to keep proofs O(log n)."""
    if size_before < 0:
        raise ValueError(f"negative tree size {size_before}")
    nodes = [(0, size_before, leaf)]
    level, index, h = 0, size_before, leaf
    while index & 1:
        h = node_hash(perfect(level, index - 1), h)
        level, index = level + 1, index >> 1
        nodes.append((level, index, h))
    return nodes


class MemoryTree:
    """An in-memory tree of leaf hashes, for tests, tools and rebuilding a log.

    Keeps every perfect node as it completes (about ``2n`` hashes), so ``perfect`` is a
    list lookup and proofs cost what they would against the hub's store.
    """

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash as the next leaf."""
        if not _is_hash(leaf):
            raise ValueError("a leaf must be a 32-byte leaf hash")
        levels = self._levels
        for level, _index, h in new_perfect_nodes(len(levels[0]), leaf, self.perfect):
            if level == len(levels):
                levels.append([])
            levels[level].append(h)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def perfect(self, level: int, index: int) -> bytes:
        """A :data:`PerfectNode` over this tree; ValueError for a node not yet complete."""
        if level < 0 or index < 0 or level >= len(self._levels):
            raise ValueError(f"no perfect node ({level}, {index}) in a tree of size {self.size}")
        row = self._levels[level]
        if index >= len(row):
            raise ValueError(f"no perfect node ({level}, {index}) in a tree of size {self.size}")
        return row[index]

    def root(self, size: int | None = None) -> bytes:
        """The root hash now, or when the tree had ``size`` leaves."""
        size = self.size if size is None else size
        if size > self.size:
            raise ValueError(f"tree size {size} is beyond the {self.size} leaves held")
        return root_hash(size, self.perfect)


class StreamingRoot:
    """The root of a long stream of leaf hashes in O(log n) memory.

    Keeps only the roots of the perfect subtrees that the size's binary digits name
    (a "compact range"): rebuilding the root of a million-entry log to compare with a
    signed checkpoint never holds the million hashes. The hub keeps the compact range
    of its log beside the head and resumes from it, so an append reads no tree node.
    """

    def __init__(self, size: int = 0, compact: Sequence[bytes] = ()) -> None:
        if size < 0 or len(compact) != bin(size).count("1"):
            raise ValueError(f"a tree of {size} leaves has {bin(size).count('1')} compact roots")
        self._stack: list[bytes] = list(compact)
        self._size = size

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash as the next leaf; returns the perfect nodes it completes,
        ``(level, index, hash)`` from the leaf up (what a store of nodes must write)."""
        stack, h, n = self._stack, leaf, self._size
        completed = [(0, n, h)]
        level = 0
        while n & 1:
            h = node_hash(stack.pop(), h)
            n >>= 1
            level += 1
            completed.append((level, n, h))
        stack.append(h)
        self._size += 1
        return completed

    @property
    def compact(self) -> list[bytes]:
        """The perfect subtree roots covering the leaves, largest (leftmost) first."""
        return list(self._stack)

    @property
    def size(self) -> int:
        """The number of leaves appended."""
        return self._size

    def root(self) -> bytes:
        """MTH of the leaves so far; :data:`EMPTY_ROOT` when there are none."""
        if not self._stack:
            return EMPTY_ROOT
        stack = self._stack
        result = stack[-1]
        for h in reversed(stack[:-1]):
            result = node_hash(h, result)
        return result
