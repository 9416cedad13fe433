"""The follower graph of one network as compressed sparse rows (CSR).

``followers[offsets[a]:offsets[a + 1]]`` are the accounts that follow account ``a``
(dense keys, in no particular order). Reading who follows a set of accounts is one vectorised
gather, with no join and no hashing — the reason reach beats a SQL engine on the
union-count queries that reach metrics are made of.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from reach.followers.kernels import count_memberships, csr_order, mark_new, sorted_offsets


@dataclass(frozen=True)
class FollowerGraph:
    network: str
    offsets: np.ndarray  # int64, n + 1
    followers: np.ndarray  # int32, grouped by followee, read-only

    def __post_init__(self) -> None:
        # Read-only whatever made it (a Polars column, a copy, a permutation): a graph is
        # shared by threads and never written, and numba compiles one kernel per array
        # type, so a mix of writable and read-only lists would load two of each.
        object.__setattr__(self, "followers", read_only(self.followers))

    @property
    def n(self) -> int:
        return self.offsets.size - 1

    @property
    def edges(self) -> int:
        return int(self.followers.size)

    def in_degree(self, keys: np.ndarray | None = None) -> np.ndarray:
        if keys is None:
            return np.diff(self.offsets)
        keys = np.asarray(keys, dtype=np.int64)
        return self.offsets[keys + 1] - self.offsets[keys]

    def gather(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Followers of every account in ``keys`` (with repeats), and whose each one is.

        Returns ``(followers, owner)`` where ``owner[i]`` is the position in ``keys`` of
        the account that ``followers[i]`` follows.
        """
        keys = np.asarray(keys, dtype=np.int64)
        starts = self.offsets[keys]
        lens = self.offsets[keys + 1] - starts
        total = int(lens.sum())
        if total == 0:
            return np.empty(0, np.int32), np.empty(0, np.int64)
        owner = np.repeat(np.arange(keys.size), lens)
        begin = np.cumsum(lens) - lens
        idx = np.arange(total, dtype=np.int64) + np.repeat(starts - begin, lens)
        return self.followers[idx], owner

    def followers_of(self, keys: np.ndarray) -> np.ndarray:
        """Followers of every account in ``keys`` (with repeats), without their owners."""
        keys = np.asarray(keys, dtype=np.int64)
        starts = self.offsets[keys]
        lens = self.offsets[keys + 1] - starts
        if keys.size == 1:  # one account: its slice, no index array
            return self.followers[starts[0]:starts[0] + lens[0]]
        begin = np.cumsum(lens) - lens
        idx = np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(starts - begin, lens)
        return self.followers[idx]

    @classmethod
    def from_edges(cls, network: str, follower: np.ndarray, followee: np.ndarray, n: int
                   ) -> FollowerGraph:
        follower = np.asarray(follower, dtype=np.int32)
        followee = read_only(np.asarray(followee, dtype=np.int32))
        offsets, ascending = sorted_offsets(followee, n)
        if not ascending:
            # A table of several files (each load adds some) is not in followee order:
            # a counting sort, O(edges).
            offsets, order = csr_order(followee, n)
            return cls(network, offsets, follower[order])
        return cls(network, offsets, follower)


def read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (``a`` itself stays as it was)."""
    view = a.view()
    view.flags.writeable = False
    return view


def account_key_sizes(account_keys: pl.LazyFrame) -> dict[str, int]:
    """Per network, how many account keys there are (max key + 1)."""
    return dict(account_keys.group_by("network").agg(pl.col("account_key").max() + 1)
                .collect().iter_rows())


def build_graphs(follows: pl.LazyFrame, account_keys: pl.LazyFrame,
                 sizes: dict[str, int] | None = None) -> dict[str, FollowerGraph]:
    """One graph per network that has follows; ``n`` covers every keyed account
    (``sizes``, from :func:`account_key_sizes` when not given)."""
    sizes = account_key_sizes(account_keys) if sizes is None else sizes
    graphs = {}
    # One network at a time: the partition filter prunes files, no string column of
    # ten million network names is ever built, and one network's edges are read at once
    # (reading all four in one collect_all measured no faster).
    for network in sorted(sizes):
        part = (follows.filter(pl.col("network") == network)
                .select("follower_key", "followee_key").collect())
        if part.height == 0:
            continue
        graphs[network] = FollowerGraph.from_edges(
            network, part["follower_key"].to_numpy(), part["followee_key"].to_numpy(),
            int(sizes[network]))
        del part
    return graphs


class Marker:
    """A reusable bitmap over one network's accounts (or persons) for distinct counts.

    Marking k entries costs O(k); counting and clearing are one pass over n bytes
    (memset-fast), so one Marker serves thousands of cells. Used either in one call
    (``count``) or step by step (``mark``/``unmark``/``tally``/``members``/``reset``).
    """

    def __init__(self, n: int):
        self.bits = np.zeros(max(n, 1), dtype=bool)
        self._new = np.empty(max(n, 1), dtype=np.int32)
        self._owner = np.empty(max(n, 1), dtype=np.int32)
        self._counts: np.ndarray | None = None  # allocated on first use (counts)

    def mark_followers(self, graph: FollowerGraph, keys: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Mark every follower of ``keys`` (in order); return the accounts newly marked
        and, for each, the position in ``keys`` of the first account that reached it.

        One compiled pass over the gathered followers, no index arrays: the fast path
        for distinct counts. The returned views are valid until the next call.
        """
        count = mark_new(graph.offsets, graph.followers, np.asarray(keys, dtype=np.int64),
                         self.bits, self._new, self._owner)
        return self._new[:count], self._owner[:count]

    def membership_histogram(self, graph: FollowerGraph, keys: np.ndarray
                             ) -> tuple[np.ndarray, int]:
        """For followers of ``keys`` not marked: ``hist[j]`` = how many appear in exactly
        j of the keys' lists; and how many list entries belong to marked accounts.
        Leaves the bitmap as it was."""
        n, marked_entries = count_memberships(
            graph.offsets, graph.followers, np.asarray(keys, dtype=np.int64), self.bits,
            self.counts, self._owner)
        seen = self._owner[:n]
        hist = np.bincount(self.counts[seen]) if n else np.zeros(1, dtype=np.int64)
        self.counts[seen] = 0
        return hist, int(marked_entries)

    @property
    def counts(self) -> np.ndarray:
        """A zeroed int32 counter per account (allocated on first use), which every user
        leaves zero again."""
        if self._counts is None:
            self._counts = np.zeros(self.bits.size, dtype=np.int32)
        return self._counts

    def distinct_followers(self, graph: FollowerGraph, keys: np.ndarray,
                           excluded: np.ndarray) -> int:
        """|followers(keys) \\ excluded|, leaving the bitmap clear."""
        self.bits[excluded] = True
        new, _ = self.mark_followers(graph, keys)
        count = int(new.size)
        self.bits[new] = False
        self.bits[excluded] = False
        return count

    def mark(self, keys: np.ndarray) -> None:
        self.bits[keys] = True

    def unmark(self, keys: np.ndarray) -> None:
        self.bits[keys] = False

    def tally(self) -> int:
        return int(np.count_nonzero(self.bits))

    def members(self) -> np.ndarray:
        return np.flatnonzero(self.bits)

    def reset(self) -> None:
        self.bits.fill(False)

    @classmethod
    def per_network(cls, graphs: dict[str, FollowerGraph]) -> dict[str, Marker]:
        """A marker for each network's graph: a worker thread's scratch."""
        return {net: cls(g.n) for net, g in graphs.items()}
