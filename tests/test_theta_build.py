"""Theta sketches built in compiled code are the library's own, byte for byte.

``reach.followers.theta_build`` re-implements the update sketch of Apache DataSketches
(hash, screening, repeats, rebuilds) and its compact serialization; the oracle is
``datasketches`` itself, fed the same updates in the same order. Lists are sized around
the rebuild points (15/16 of 2^(lg_k + 1) entries) and past several rebuilds."""

from __future__ import annotations

import datasketches as ds
import numpy as np
import pytest

from reach.followers.theta_build import compact_sketches, theta_hash


def library_sketch(values: np.ndarray, lg_k: int) -> bytes:
    s = ds.update_theta_sketch(lg_k)
    for v in values.tolist():
        s.update(v)
    return s.compact().serialize()


@pytest.mark.parametrize("lg_k", [5, 8, 12])
def test_sketches_equal_the_librarys_bytes(lg_k):
    rng = np.random.default_rng(lg_k)
    capacity = (15 << (lg_k + 1)) // 16
    sizes = [1, 2, 3, (1 << lg_k) - 1, 1 << lg_k, (1 << lg_k) + 1, capacity, capacity + 1,
             capacity + 2, 2 * capacity, 7 * capacity + 3]
    lists = [rng.choice(10**7, n, replace=False).astype(np.int32) for n in sizes]
    lists.append(rng.integers(0, 40, 200).astype(np.int32))  # repeats count once
    lists.append(np.array([0, 2**31 - 1, 0], dtype=np.int32))  # the key range's ends
    offsets = np.r_[0, np.cumsum([a.size for a in lists])].astype(np.int64)
    followers = np.concatenate(lists)
    keys = rng.permutation(len(lists))  # any order of accounts
    got = compact_sketches(offsets, followers, keys, lg_k).to_pylist()
    for k, blob in zip(keys.tolist(), got, strict=True):
        assert blob == library_sketch(lists[k], lg_k), f"list {k} of {lists[k].size}"


def test_the_hash_is_the_librarys():
    """One update per sketch: the single entry the library stores is the hash."""
    for v in (0, 1, 42, 2**31 - 1, 123456789):
        stored = np.frombuffer(library_sketch(np.array([v]), 12)[8:16], dtype=np.uint64)[0]
        assert theta_hash(np.int64(v)) == stored
