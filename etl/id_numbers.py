"""Account ids numbered in the order a load first sees them, for the streamed follows.

A follower graph names each account tens of times; joining every row's ids to the key
map by text, once per piece, cost most of a large load (0.3 µs per row and id against a
5M-id map). Instead each id is hashed (64 bits) and looked up in one hash table that
lives for the whole load, which gives it a number (0, 1, 2, … per network); the staged
rows carry those numbers, and once the dense keys are known one array turns numbers
into keys.

A hash is not the id: two ids could share one. So each number also keeps a second,
independent 64-bit hash of its first id, and every row's second hash is compared to its
number's; a mismatch raises :class:`HashCollision` (the load starts its follows again
with other seeds). Two different ids go unnoticed only if both hashes collide: for 10M
ids, a chance below 10⁻²⁴ (comparing every row's text instead cost 0.2 s per million rows,
more than all the rest).
"""

from __future__ import annotations

import contextlib

import numpy as np
import polars as pl

from reach.hash_numbers import EMPTY, number_hashes, rehash


class HashCollision(Exception):
    """Two different ids of one network share a 64-bit hash under this seed."""


def warm_up() -> None:
    """Load the compiled kernels (numba's first call costs ~0.5 s even from its cache): a
    load calls this on a thread while it hashes its inputs. A failure here is the real
    call's to report, not this thread's."""
    from reach.followers.kernels import csr_order
    with contextlib.suppress(Exception):
        IdNumbers(0, capacity=2).number(pl.Series(["a", "b"]))
        csr_order(np.zeros(1, dtype=np.int64), 1)


class IdNumbers:
    """The ids of one network, numbered in the order first seen; ``texts[n]`` is number
    n's id."""

    def __init__(self, seed: int, capacity: int = 1 << 16):
        self.seeds = (2 * seed, 2 * seed + 1)
        self._hash = np.zeros(capacity, dtype=np.uint64)
        self._number = np.full(capacity, EMPTY, dtype=np.int32)
        self._check = np.zeros(capacity // 2, dtype=np.uint64)  # per number
        self.count = 0
        self.texts = pl.Series("account_id", [], dtype=pl.String)

    def number(self, ids: pl.Series) -> np.ndarray:
        """The numbers of ``ids`` (no nulls), new ids numbered in order of appearance."""
        hashes, checks = self.hashes(ids)
        self._reserve(hashes.size)
        out = np.empty(hashes.size, dtype=np.int32)
        firsts = np.empty(hashes.size, dtype=np.int64)
        known = self.count
        self.count = number_hashes(self._hash, self._number, hashes, out, firsts, known)
        if self.count > known:
            new = firsts[:self.count - known]
            self.texts.append(ids.gather(new))
            self._check[known:self.count] = checks[new]
            if self.texts.n_chunks() > 64:
                self.texts = self.texts.rechunk()
        if not np.array_equal(self._check[out], checks):
            raise HashCollision(f"two account ids share a hash under seeds {self.seeds}")
        return out

    def hashes(self, ids: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """Two independent 64-bit hashes of each id: the table's, and the check's."""
        return ids.hash(self.seeds[0]).to_numpy(), ids.hash(self.seeds[1]).to_numpy()

    def _reserve(self, more: int) -> None:
        size = self._hash.size
        if 2 * (self.count + more) <= size:
            return
        while 2 * (self.count + more) > size:
            size *= 2
        new_hash = np.zeros(size, dtype=np.uint64)
        new_number = np.full(size, EMPTY, dtype=np.int32)
        rehash(self._hash, self._number, new_hash, new_number)
        self._hash, self._number = new_hash, new_number
        self._check = np.concatenate([self._check,
                                      np.zeros(size // 2 - self._check.size, np.uint64)])
