"""RFC 9162 Merkle tree: Certificate Transparency's own test vectors, then cross-checks.

The known answers are copied from Certificate Transparency's C++ tests as Debian ships
them: package ``golang-github-google-certificate-transparency-dev``, version
``0.0~git20160709.0.0f6e3d1~ds1-3`` (bookworm), file
``/usr/share/gocode/src/github.com/google/certificate-transparency/cpp/merkletree/
merkle_tree_test.cc`` (upstream ``github.com/google/certificate-transparency``,
Apache-2.0): ``kSHA256EmptyTreeHash``, ``kInputs``, ``kSHA256Roots``, ``kSHA256Paths``
and ``kSHA256Proofs``. The tampering checks follow that file's ``VerifierCheck`` and
``VerifierConsistencyCheck``, and the exhaustive checks its reference implementations.
CT counts leaves from 1 in its path table; Doorstep, like RFC 9162, from 0.
"""

from __future__ import annotations

import os
import random
from functools import cache

import pytest

from doorstep import merkle as mk

# --- kSHA256EmptyTreeHash, kInputs, kSHA256Roots (verbatim, as hex) ---------------------

CT_EMPTY_TREE_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

CT_INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]

# Roots after adding kInputs leaf by leaf: kSHA256Roots[i] is the root of size i + 1.
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# kSHA256Paths: (leaf, snapshot, path), leaf counted from 1; leaf 0 is CT's invalid case.
CT_PATHS: list[tuple[int, int, list[str]]] = [
    (0, 0, []),
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# kSHA256Proofs: (snapshot1, snapshot2, proof); sizes, so the same in both conventions.
CT_PROOFS: list[tuple[int, int, list[str]]] = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

H = bytes.fromhex
CT_LEAVES = [mk.leaf_hash(H(x)) for x in CT_INPUTS]


def ct_tree(size: int = 8) -> mk.MemoryTree:
    return mk.MemoryTree(CT_LEAVES[:size])


# --- RFC 9162 section 2.1 written as literally as possible, to cross-check against -------


def ref_mth(leaves: tuple[bytes, ...]) -> bytes:
    @cache
    def mth(lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return mk.EMPTY_ROOT
        if n == 1:
            return leaves[lo]
        k = 1
        while k * 2 < n:
            k *= 2
        return mk.node_hash(mth(lo, lo + k), mth(lo + k, hi))

    return mth(0, len(leaves))


def ref_path(m: int, leaves: tuple[bytes, ...]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, leaves[:k], b) + [ref_mth(leaves[k:])]
    return ref_subproof(m - k, leaves[k:], False) + [ref_mth(leaves[:k])]


# --- known answers -------------------------------------------------------------------------


def test_empty_tree_is_sha256_of_nothing() -> None:
    assert H(CT_EMPTY_TREE_HASH) == mk.EMPTY_ROOT
    assert mk.root_hash(0, ct_tree(0).perfect) == H(CT_EMPTY_TREE_HASH)
    assert mk.MemoryTree().root() == mk.StreamingRoot().root() == H(CT_EMPTY_TREE_HASH)


def test_leaf_and_node_hashes_use_rfc9162_prefixes() -> None:
    import hashlib

    assert mk.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = bytes(range(32)), bytes(range(32, 64))
    assert mk.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    # The size-1 root is the leaf hash of the empty input.
    assert CT_LEAVES[0].hex() == CT_ROOTS[0]


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_every_prefix_match_ct(size: int) -> None:
    expected = H(CT_ROOTS[size - 1])
    full = ct_tree(8)
    assert full.root(size) == expected
    assert ct_tree(size).root() == expected
    assert mk.root_hash(size, full.perfect) == expected
    streaming = mk.StreamingRoot()
    for leaf in CT_LEAVES[:size]:
        streaming.append(leaf)
    assert streaming.size == size
    assert streaming.root() == expected


def test_roots_while_growing_match_ct() -> None:
    tree, streaming = mk.MemoryTree(), mk.StreamingRoot()
    for i, leaf in enumerate(CT_LEAVES):
        tree.append(leaf)
        streaming.append(leaf)
        assert tree.size == streaming.size == i + 1
        assert tree.root() == streaming.root() == H(CT_ROOTS[i])


@pytest.mark.parametrize(("leaf", "snapshot", "path"), CT_PATHS[1:])
def test_inclusion_paths_match_ct(leaf: int, snapshot: int, path: list[str]) -> None:
    index = leaf - 1
    expected = [H(x) for x in path]
    assert mk.inclusion_proof(index, snapshot, ct_tree(8).perfect) == expected
    assert mk.inclusion_proof(index, snapshot, ct_tree(snapshot).perfect) == expected
    assert mk.verify_inclusion(
        index, snapshot, CT_LEAVES[index], expected, H(CT_ROOTS[snapshot - 1])
    )


def test_ct_invalid_path_entry_is_refused() -> None:
    leaf, snapshot, path = CT_PATHS[0]
    assert (leaf, snapshot, path) == (0, 0, [])
    with pytest.raises(ValueError):
        mk.inclusion_proof(leaf - 1, snapshot, ct_tree().perfect)
    with pytest.raises(ValueError):
        mk.inclusion_proof(0, 0, ct_tree().perfect)
    # CT's PathToCurrentRoot(9) on 8 leaves has no path either.
    with pytest.raises(ValueError):
        mk.inclusion_proof(8, 8, ct_tree().perfect)


@pytest.mark.parametrize(("old", "new", "proof"), CT_PROOFS)
def test_consistency_proofs_match_ct(old: int, new: int, proof: list[str]) -> None:
    expected = [H(x) for x in proof]
    assert mk.consistency_proof(old, new, ct_tree(8).perfect) == expected
    assert mk.consistency_proof(old, new, ct_tree(new).perfect) == expected
    assert mk.verify_consistency(old, new, H(CT_ROOTS[old - 1]), H(CT_ROOTS[new - 1]), expected)


# --- tampering: CT's VerifierCheck and VerifierConsistencyCheck ----------------------------

EMPTY = H(CT_EMPTY_TREE_HASH)


def assert_inclusion_tamper_proof(
    index: int, size: int, leaf: bytes, path: list[bytes], root: bytes
) -> None:
    assert mk.verify_inclusion(index, size, leaf, path, root)
    v = mk.verify_inclusion
    for wrong_index in (index - 1, index + 1, index ^ 2, (index + 1 ^ 2) - 1, size):
        if wrong_index != index:
            assert not v(wrong_index, size, leaf, path, root), wrong_index
    for wrong_size in (size * 2, size // 2, size + path_capacity_gap(size)):
        if wrong_size != size:
            assert not v(index, wrong_size, leaf, path, root), wrong_size
    assert not v(index, size, mk.leaf_hash(b"WrongLeaf"), path, root)
    assert not v(index, size, b"WrongLeaf", path, root)
    assert not v(index, size, leaf, path, EMPTY)
    assert not v(index, size, leaf, path, root[:-1] + bytes([root[-1] ^ 1]))
    for j in range(len(path)):
        wrong = list(path)
        wrong[j] = EMPTY
        assert not v(index, size, leaf, wrong, root)
    assert not v(index, size, leaf, [*path, b""], root)
    assert not v(index, size, leaf, [*path, root], root)
    if path:
        assert not v(index, size, leaf, path[:-1], root)
    assert not v(index, size, leaf, [b"", *path], root)
    assert not v(index, size, leaf, [root, *path], root)


def path_capacity_gap(size: int) -> int:
    """A larger size whose inclusion path for low leaves has one more level."""
    return 1 << (size - 1).bit_length() if size > 1 else 1


def assert_consistency_tamper_proof(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    v = mk.verify_consistency
    assert v(old, new, old_root, new_root, proof)
    if not proof:
        return
    for wrong_old in (old - 1, old + 1, old ^ 2):
        assert not v(wrong_old, new, old_root, new_root, proof), wrong_old
    for wrong_new in (new * 2, new // 2):
        assert not v(old, wrong_new, old_root, new_root, proof), wrong_new
    assert not v(old, new, old_root, b"WrongRoot", proof)
    assert not v(old, new, b"WrongRoot", new_root, proof)
    assert not v(old, new, old_root, EMPTY, proof)
    assert not v(old, new, EMPTY, new_root, proof)
    assert not v(old, new, new_root, old_root, proof)
    assert not v(old, new, old_root, new_root, [])
    for j in range(len(proof)):
        wrong = list(proof)
        wrong[j] = EMPTY
        assert not v(old, new, old_root, new_root, wrong)
    assert not v(old, new, old_root, new_root, [*proof, b""])
    assert not v(old, new, old_root, new_root, [*proof, proof[-1]])
    assert not v(old, new, old_root, new_root, proof[:-1])
    assert not v(old, new, old_root, new_root, [b"", *proof])
    assert not v(old, new, old_root, new_root, [proof[0], *proof])


@pytest.mark.parametrize(("leaf", "snapshot", "path"), CT_PATHS[1:])
def test_ct_inclusion_paths_reject_tampering(leaf: int, snapshot: int, path: list[str]) -> None:
    assert_inclusion_tamper_proof(
        leaf - 1, snapshot, CT_LEAVES[leaf - 1], [H(x) for x in path], H(CT_ROOTS[snapshot - 1])
    )


@pytest.mark.parametrize(("old", "new", "proof"), CT_PROOFS)
def test_ct_consistency_proofs_reject_tampering(old: int, new: int, proof: list[str]) -> None:
    assert_consistency_tamper_proof(
        old, new, H(CT_ROOTS[old - 1]), H(CT_ROOTS[new - 1]), [H(x) for x in proof]
    )


def test_verify_inclusion_refuses_malformed_input_without_raising() -> None:
    leaf = CT_LEAVES[0]
    root = H(CT_ROOTS[0])
    v = mk.verify_inclusion
    assert v(0, 1, leaf, [], root)
    for index, size in ((0, 0), (1, 0), (1, 1), (2, 1), (-1, 1), (0, -1)):
        assert not v(index, size, leaf, [], root)
        assert not v(index, size, leaf, [], EMPTY)
    garbage: list[object] = [None, "abc", b"x" * 32, 5, [None], [1], ["a" * 32], [b"x" * 31]]
    for proof in garbage:
        assert not v(0, 1, leaf, proof, root)  # type: ignore[arg-type]
        assert not v(0, 2, leaf, proof, root)  # type: ignore[arg-type]
    assert not v(0, 1, None, [], root)  # type: ignore[arg-type]
    assert not v(0, 1, leaf, [], None)  # type: ignore[arg-type]
    assert not v(0.0, 1, leaf, [], root)  # type: ignore[arg-type]
    assert not v(False, True, leaf, [], root)
    assert v(0, 1, leaf, (), root)  # any sequence will do


def test_verify_consistency_trivial_and_malformed_cases() -> None:
    v = mk.verify_consistency
    r1, r8 = H(CT_ROOTS[0]), H(CT_ROOTS[7])
    # Equal sizes: consistent exactly when the roots are equal and the proof empty.
    assert v(1, 1, r1, r1, [])
    assert v(8, 8, r8, r8, ())
    assert not v(1, 1, r1, r8, [])
    assert not v(1, 1, r1, r1, [EMPTY])
    # Every tree extends the empty tree, whose root is known.
    assert v(0, 0, EMPTY, EMPTY, [])
    assert v(0, 8, EMPTY, r8, [])
    assert not v(0, 8, r1, r8, [])
    assert not v(0, 8, EMPTY, r8, [EMPTY])
    # Time travel and missing proofs.
    assert not v(1, 0, r1, EMPTY, [])
    assert not v(8, 1, r8, r1, [])
    assert not v(1, 8, r1, r8, [])
    garbage: list[object] = [None, "abc", b"x" * 32, 5, [None], [b"x" * 31]]
    for proof in garbage:
        assert not v(1, 8, r1, r8, proof)  # type: ignore[arg-type]
    assert not v(-1, 8, r1, r8, [EMPTY])
    assert not v(1, 8, None, r8, [EMPTY])  # type: ignore[arg-type]
    assert not v(1, 8, r1, "r8", [EMPTY])  # type: ignore[arg-type]


def test_proof_builders_refuse_impossible_arguments() -> None:
    perfect = ct_tree(8).perfect
    for index, size in ((-1, 5), (5, 5), (0, 0), (9, 8)):
        with pytest.raises(ValueError):
            mk.inclusion_proof(index, size, perfect)
    for old, new in ((0, 5), (6, 5), (-1, 5), (0, 0)):
        with pytest.raises(ValueError):
            mk.consistency_proof(old, new, perfect)
    assert mk.consistency_proof(5, 5, perfect) == []
    for start, end in ((1, 3), (2, 5), (3, 3), (4, 2), (-1, 1), (6, 9)):
        with pytest.raises(ValueError):
            mk.subtree_hash(start, end, perfect)
    with pytest.raises(ValueError):
        mk.root_hash(-1, perfect)
    with pytest.raises(ValueError):
        mk.new_perfect_nodes(-1, CT_LEAVES[0], perfect)


def test_subtree_hash_of_ct_subtrees() -> None:
    leaves = tuple(CT_LEAVES)
    perfect = ct_tree(8).perfect
    for start, end in ((0, 8), (4, 8), (4, 7), (4, 6), (6, 7), (0, 3), (2, 4), (4, 5)):
        assert mk.subtree_hash(start, end, perfect) == ref_mth(leaves[start:end]), (start, end)


def test_memory_tree_refuses_what_it_does_not_hold() -> None:
    tree = ct_tree(5)
    assert tree.size == 5
    assert tree.perfect(2, 0) == mk.subtree_hash(0, 4, tree.perfect)
    for level, index in ((0, 5), (1, 2), (2, 1), (3, 0), (-1, 0), (0, -1)):
        with pytest.raises(ValueError):
            tree.perfect(level, index)
    with pytest.raises(ValueError):
        tree.root(6)
    with pytest.raises(ValueError):
        tree.append(b"not a hash")


def test_new_perfect_nodes_are_what_a_store_must_write() -> None:
    tree = ct_tree(7)
    nodes = mk.new_perfect_nodes(7, CT_LEAVES[7], tree.perfect)
    assert [(level, index) for level, index, _ in nodes] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert nodes[0][2] == CT_LEAVES[7]
    assert nodes[-1][2] == H(CT_ROOTS[7])
    full = ct_tree(8)
    for level, index, h in nodes:
        assert full.perfect(level, index) == h
    assert mk.new_perfect_nodes(4, CT_LEAVES[4], full.perfect) == [(0, 4, CT_LEAVES[4])]
    assert mk.new_perfect_nodes(0, CT_LEAVES[0], full.perfect) == [(0, 0, CT_LEAVES[0])]


# --- exhaustive against the RFC's recursion, as CT's reference tests do -------------------

CT_DATA = tuple(mk.leaf_hash(bytes([i])) for i in range(256))  # CT's data_: 256 one-byte inputs


def test_every_proof_up_to_64_leaves_matches_the_rfc_recursion() -> None:
    tree = mk.MemoryTree(CT_DATA[:64])
    for size in range(1, 65):
        leaves = CT_DATA[:size]
        root = ref_mth(leaves)
        assert tree.root(size) == root
        for index in range(size):
            path = mk.inclusion_proof(index, size, tree.perfect)
            assert path == ref_path(index, leaves), (index, size)
            assert mk.verify_inclusion(index, size, leaves[index], path, root)
        for old in range(1, size + 1):
            proof = mk.consistency_proof(old, size, tree.perfect)
            assert proof == ref_subproof(old, leaves, True), (old, size)
            assert mk.verify_consistency(old, size, tree.root(old), root, proof)


def test_tampering_is_caught_for_every_proof_up_to_32_leaves() -> None:
    tree = mk.MemoryTree(CT_DATA[:32])
    for size in range(1, 33):
        root = tree.root(size)
        for index in range(size):
            path = mk.inclusion_proof(index, size, tree.perfect)
            assert_inclusion_tamper_proof(index, size, CT_DATA[index], path, root)
        for old in range(1, size + 1):
            proof = mk.consistency_proof(old, size, tree.perfect)
            assert_consistency_tamper_proof(old, size, tree.root(old), root, proof)


# --- randomized cross-check ---------------------------------------------------------------


def test_random_trees_up_to_300_leaves() -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    leaves = [mk.leaf_hash(rng.randbytes(rng.randrange(0, 64))) for _ in range(300)]
    tree, streaming = mk.MemoryTree(), mk.StreamingRoot()
    roots: list[bytes] = [mk.EMPTY_ROOT]
    for size, leaf in enumerate(leaves, start=1):
        tree.append(leaf)
        streaming.append(leaf)
        roots.append(streaming.root())
        assert tree.root() == roots[size], (seed, size)
    assert roots[-1] == ref_mth(tuple(leaves)), seed
    assert mk.MemoryTree(leaves).root(217) == roots[217]
    for _ in range(400):
        size = rng.randrange(1, 301)
        index = rng.randrange(size)
        path = mk.inclusion_proof(index, size, tree.perfect)
        assert mk.verify_inclusion(index, size, leaves[index], path, roots[size]), (seed, size)
        assert not mk.verify_inclusion(index, size, leaves[index], path, roots[size - 1])
        if size > 1:
            other = rng.choice([i for i in range(size) if i != index])
            assert not mk.verify_inclusion(other, size, leaves[index], path, roots[size])
        old = rng.randrange(1, size + 1)
        proof = mk.consistency_proof(old, size, tree.perfect)
        assert mk.verify_consistency(old, size, roots[old], roots[size], proof), (seed, old, size)
        if old < size:
            assert not mk.verify_consistency(old, size, roots[old - 1], roots[size], proof)
            assert not mk.verify_consistency(old, size, roots[old], roots[size - 1], proof)
            forged = list(proof)
            j = rng.randrange(len(forged))
            forged[j] = bytes([forged[j][0] ^ 0x80]) + forged[j][1:]
            assert not mk.verify_consistency(old, size, roots[old], roots[size], forged)


def test_a_rewritten_history_has_no_consistency_proof() -> None:
    leaves = list(CT_DATA[:20])
    honest = mk.MemoryTree(leaves)
    leaves[6] = mk.leaf_hash(b"a decline turned into a share")
    rewritten = mk.MemoryTree(leaves)
    proof = mk.consistency_proof(10, 20, rewritten.perfect)
    assert not mk.verify_consistency(10, 20, honest.root(10), rewritten.root(20), proof)
    path = mk.inclusion_proof(6, 20, rewritten.perfect)
    assert not mk.verify_inclusion(6, 20, CT_DATA[6], path, rewritten.root(20))


def test_a_streaming_root_resumes_from_its_compact_range_and_names_the_nodes_it_completes() -> None:
    """The hub keeps the compact range beside the log's head and appends from it."""
    leaves = [mk.leaf_hash(bytes([i])) for i in range(70)]
    tree = mk.MemoryTree()
    stream = mk.StreamingRoot()
    for leaf in leaves:
        resumed = mk.StreamingRoot(stream.size, stream.compact)
        assert resumed.append(leaf) == mk.new_perfect_nodes(tree.size, leaf, tree.perfect)
        stream.append(leaf)
        tree.append(leaf)
        assert resumed.root() == stream.root() == tree.root()
    with pytest.raises(ValueError):
        mk.StreamingRoot(5, stream.compact[:1])  # 5 leaves need two compact roots
