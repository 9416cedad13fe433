"""Theta sketches of every account's follower list in one compiled pass, byte for byte
the compact sketches Apache DataSketches (``datasketches``) builds from the same updates.

``datasketches`` takes one Python call per update: 21.9M follower entries cost ~5 s.
Here each list is hashed and sketched in compiled code, following the library's update
sketch (lg_k = ``LG_K``, resize factor 8, sampling p = 1, seed 9001) and its compact
serialization (version 3, ordered):

* an update hashes the value's 8 little-endian bytes with MurmurHash3_x64_128 under the
  seed and keeps the first 64 bits shifted right by one; 0 and hashes at or above theta
  are skipped, repeats are kept once;
* the table rebuilds when it holds more than 15/16 of 2^(lg_k + 1) entries: theta becomes
  the (2^lg_k + 1)-th smallest hash and the 2^lg_k smaller ones stay (earlier, smaller
  tables only resize, which keeps every entry);
* the compact form is the retained hashes in ascending order, behind a preamble of one
  word (one entry), two (exact: the count) or three (theta below its maximum: the count,
  then theta).

What the result depends on is the set kept and theta, which this reproduces update by
update in the list's order; ``tests/test_theta_build.py`` compares the bytes with the
library's on lists across the rebuild points.
"""

from __future__ import annotations

from functools import cache

import datasketches as ds
import numpy as np
import pyarrow as pa
from numba import njit

SEED = 9001  # the library's default update seed
MAX_THETA = (1 << 63) - 1
_C1, _C2 = np.uint64(0x87C37B91114253D5), np.uint64(0x4CF5AD432745937F)
_F1, _F2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)


@cache
def _seed_hash() -> int:
    """The 16-bit seed hash the library writes into every sketch (asked of it once)."""
    return ds.update_theta_sketch(12).compact().get_seed_hash()


def compact_sketches(offsets: np.ndarray, followers: np.ndarray, keys: np.ndarray,
                     lg_k: int) -> pa.Array:
    """Serialized compact sketches of the follower lists of ``keys`` (each non-empty),
    as an Arrow binary array in the order of ``keys``."""
    keys = np.asarray(keys, dtype=np.int64)
    lengths = offsets[keys + 1] - offsets[keys]
    if (lengths == 0).any():  # an empty sketch has a form of its own, not needed here
        raise ValueError("every account sketched must have followers")
    capacity = _capacity(lg_k)
    words = np.empty(int(np.minimum(lengths, capacity).sum()) + 3 * keys.size, dtype=np.uint64)
    ends = np.empty(keys.size + 1, dtype=np.int64)
    used = _sketch_lists(offsets, followers, keys, 1 << lg_k, capacity,
                         np.uint64(_seed_hash()), words, ends)
    data = words[:used].view(np.uint8)
    return pa.Array.from_buffers(pa.large_binary(), keys.size,
                                 [None, pa.py_buffer(ends * 8), pa.py_buffer(data)])


def _capacity(lg_k: int) -> int:
    """Entries the full table holds before it rebuilds."""
    return (15 << (lg_k + 1)) // 16


@njit(cache=True)
def _rotl(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


@njit(cache=True)
def _fmix(k):
    k ^= k >> np.uint64(33)
    k *= _F1
    k ^= k >> np.uint64(33)
    k *= _F2
    k ^= k >> np.uint64(33)
    return k


@njit(cache=True)
def theta_hash(value: np.int64) -> np.uint64:
    """The library's hash of an integer update: MurmurHash3_x64_128 of its 8 bytes, the
    first half, shifted right by one."""
    seed = np.uint64(SEED)
    h1, h2 = seed, seed
    k1 = np.uint64(value)
    k1 *= _C1
    k1 = _rotl(k1, 31)
    k1 *= _C2
    h1 ^= k1
    h1 ^= np.uint64(8)
    h2 ^= np.uint64(8)
    h1 += h2
    h2 += h1
    h1 = _fmix(h1)
    h2 = _fmix(h2)
    h1 += h2
    return h1 >> np.uint64(1)


@njit(cache=True)
def _sort(a, n):
    """Sort ``a[:n]`` in place (a heap sort: numba's own sort costs seconds to compile)."""
    for start in range(n // 2 - 1, -1, -1):
        _sift(a, start, n)
    for end in range(n - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        _sift(a, 0, end)


@njit(cache=True)
def _sift(a, root, n):
    while True:
        child = 2 * root + 1
        if child >= n:
            return
        if child + 1 < n and a[child + 1] > a[child]:
            child += 1
        if a[root] >= a[child]:
            return
        a[root], a[child] = a[child], a[root]
        root = child


@njit(cache=True)
def _insert(table, h):
    """Add ``h`` to the open-addressing set ``table`` (0 = free); False if present."""
    mask = table.size - 1
    i = np.int64(h) & mask
    while table[i] != 0:
        if table[i] == h:
            return False
        i = (i + 1) & mask
    table[i] = h
    return True


@njit(cache=True, nogil=True)
def _sketch_lists(offsets, followers, keys, nominal, capacity, seed_hash, words, ends):
    """Write each list's sketch as 64-bit words; ``ends[i]:ends[i + 1]`` are sketch i's
    (in words). ``nominal`` = 2^lg_k, ``capacity``: :func:`_capacity`. Returns the words
    used."""
    table = np.zeros(4 * nominal, dtype=np.uint64)  # never over 15/32 full
    kept = np.empty(capacity + 1, dtype=np.uint64)
    at = 0
    ends[0] = 0
    for i in range(keys.size):
        theta = np.uint64(MAX_THETA)
        n = 0
        for j in range(offsets[keys[i]], offsets[keys[i] + 1]):
            h = theta_hash(np.int64(followers[j]))
            if h == 0 or h >= theta or not _insert(table, h):
                continue
            kept[n] = h
            n += 1
            if n > capacity:  # rebuild: theta = the (nominal + 1)-th smallest
                _sort(kept, n)
                theta = kept[nominal]
                for q in range(table.size):
                    table[q] = 0
                n = nominal
                for q in range(n):
                    _insert(table, kept[q])
        _sort(kept, n)
        entries = kept[:n]
        pre = 1 if n == 1 else (2 if theta == np.uint64(MAX_THETA) else 3)
        # preamble bytes: longs, serial version 3, type 3 (compact), 0, 0, flags
        # (read-only | compact | ordered), seed hash (little-endian)
        words[at] = (np.uint64(pre) | np.uint64(3 << 8) | np.uint64(3 << 16)
                     | np.uint64(0x1A << 40) | (seed_hash << np.uint64(48)))
        at += 1
        if pre >= 2:
            words[at] = np.uint64(n)
            at += 1
        if pre == 3:
            words[at] = theta
            at += 1
        for q in range(n):  # loops, not slice assignments: those take seconds to compile
            words[at + q] = entries[q]
        at += n
        ends[i + 1] = at
        for q in range(n):  # leave the set empty for the next list
            _remove_all(table, entries[q])
    return at


@njit(cache=True)
def _remove_all(table, h):
    """Free ``h``'s run of slots (the set is emptied after each list, so clearing
    whole probe runs is safe)."""
    mask = table.size - 1
    i = np.int64(h) & mask
    while table[i] != 0:
        table[i] = 0
        i = (i + 1) & mask
