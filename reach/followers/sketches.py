"""Apache DataSketches theta sketches of each account's followers (built in compiled code
by ``reach.followers.theta_build``, read and combined with ``datasketches``).

Used where an exact union would cost too much (a cell whose exposers have more than
``EXACT_LIMIT`` followers in all, or ``--approx``), and for what-if questions ("if these
1,000 accounts reshare, how many more people do we reach?"), which a union of stored
sketches answers in milliseconds with error bounds.

Sketches hash the dense account keys of one network, with ``LG_K = 12`` (4,096 nominal
entries): relative standard error about 1/sqrt(4096) = 1.6 %; below 4,096 distinct
followers a sketch is exact.

References
----------
Dasgupta, Lang, Rhodes & Thaler, "A Framework for Estimating Stream Expression
Cardinalities", ICDT 2016 (the theta sketch framework); https://datasketches.apache.org
"""

from __future__ import annotations

from dataclasses import dataclass

import datasketches as ds
import numpy as np
import polars as pl

from reach.followers.graph import FollowerGraph
from reach.followers.theta_build import compact_sketches

LG_K = 12
#: exact unions above this many gathered follower entries per cell switch to sketches
EXACT_LIMIT = 250_000_000
NUM_STD = 2  # bounds at about 95 %


@dataclass(frozen=True)
class Estimate:
    """A distinct count with its approximate 95 % bounds."""

    estimate: float
    low: float
    high: float

    @property
    def rel_error(self) -> float:
        return 0.0 if self.estimate <= 0 else (self.high - self.low) / (2 * self.estimate)

    @classmethod
    def of(cls, sketch) -> Estimate:
        return cls(sketch.get_estimate(), sketch.get_lower_bound(NUM_STD),
                   sketch.get_upper_bound(NUM_STD))


def sketch_of(keys: np.ndarray) -> ds.compact_theta_sketch:
    s = ds.update_theta_sketch(LG_K)
    for k in np.asarray(keys).tolist():
        s.update(k)
    return s.compact()


def follower_sketches(graph: FollowerGraph) -> pl.DataFrame:
    """One serialized compact sketch per account with followers: the bytes
    ``datasketches`` makes from the list's updates, built in compiled code
    (``reach.followers.theta_build``)."""
    deg = graph.in_degree()
    keys = np.flatnonzero(deg)
    blobs = compact_sketches(graph.offsets, graph.followers, keys, LG_K)
    return pl.DataFrame({"account_key": keys.astype(np.int32), "followers": deg[keys],
                         "sketch": pl.Series(blobs).cast(pl.Binary)})


class SketchStore:
    """Follower sketches of one network, deserialized on demand."""

    def __init__(self, table: pl.DataFrame):
        self._blobs = dict(zip(table["account_key"].to_list(), table["sketch"].to_list(),
                               strict=True))
        self._cache: dict[int, ds.compact_theta_sketch] = {}

    def get(self, key: int) -> ds.compact_theta_sketch | None:
        s = self._cache.get(key)
        if s is None:
            blob = self._blobs.get(key)
            if blob is None:
                return None
            s = self._cache[key] = ds.compact_theta_sketch.deserialize(blob)
        return s

    def union(self, keys: np.ndarray) -> ds.compact_theta_sketch:
        u = ds.theta_union(LG_K)
        for k in np.asarray(keys).tolist():
            s = self.get(k)
            if s is not None:
                u.update(s)
        return u.get_result()


def reach_estimate(store: SketchStore, exposers: np.ndarray, excluded: np.ndarray) -> Estimate:
    """|F(exposers) minus excluded| from sketches."""
    union = store.union(exposers)
    if excluded.size:
        union = ds.theta_a_not_b().compute(union, sketch_of(excluded))
    return Estimate.of(union)


def what_if(store: SketchStore, current: ds.compact_theta_sketch | np.ndarray,
            candidates: np.ndarray, excluded: np.ndarray | None = None) -> Estimate:
    """How many more distinct people a reshare by ``candidates`` would reach.

    ``current`` is the campaign's present audience: a sketch, or the keys of its
    exposers. The answer is |F(candidates) \\ (current audience ∪ excluded)|.

    Examples
    --------
    >>> est = what_if(store, cell_exposers, np.array([17, 42, 99]))   # doctest: +SKIP
    >>> round(est.estimate), round(est.low), round(est.high)          # doctest: +SKIP
    """
    if isinstance(current, np.ndarray):
        current = store.union(current)
    added = store.union(candidates)
    added = ds.theta_a_not_b().compute(added, current)
    if excluded is not None and excluded.size:
        added = ds.theta_a_not_b().compute(added, sketch_of(excluded))
    return Estimate.of(added)
