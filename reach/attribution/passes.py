"""Compiled passes over touches grouped by path: the rule-based models' totals per
channel, the distinct (path, channel) pairs, and whether the touches are in order.

``models.attribution_rows`` credits every touch of a converting path as an array per
model, then sums them per channel: at 28M touchpoints that is a few arrays of 28M values
per model and channel type, and on a machine where fresh memory is costly the arrays
cost more than the arithmetic. The mart only needs each channel's totals, so one pass
over the touches (already in path and time order) computes every rule's credit for a
touch and adds it, and credit × the path's value, into small per-channel sums.

The credits are the same expressions, added in the same order, as the array models'
``np.bincount``: the totals are equal to the last bit (``tests/test_attribution.py``
holds them so). The array models stay for per-conversion credits (``models.credits``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: the rule-based models, in the order of the kernel's rows
RULES = ("first_touch", "last_touch", "linear", "position", "time_decay")


def rule_totals(tpath: np.ndarray, channel: np.ndarray, decay: np.ndarray,
                converted: np.ndarray, value: np.ndarray, k: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(conversions credited, value credited), each ``(len(RULES), k)``: per rule, the
    credit per channel over the converting paths. ``tpath``: each touch's path row, touches
    grouped by path and in time order within it; ``decay``: each touch's time-decay weight
    (2^(−age / half-life)); ``converted``, ``value``: per path."""
    conv = np.zeros((len(RULES), max(k, 1)))
    val = np.zeros((len(RULES), max(k, 1)))
    _add_rule_credits(tpath, channel, decay, converted, value, conv, val)
    return conv[:, :k], val[:, :k]


@njit(cache=True)
def _path_end(tpath, i):
    """Where the touches of row ``i``'s path end (they start at ``i``)."""
    j = i + 1
    while j < tpath.size and tpath[j] == tpath[i]:
        j += 1
    return j


@njit(cache=True, nogil=True)
def _add_rule_credits(tpath, channel, decay, converted, value, conv, val):
    credit = np.empty(5)
    i = 0
    while i < tpath.size:
        p, j = tpath[i], _path_end(tpath, i)
        if converted[p]:
            n, v = j - i, value[p]
            total = 0.0  # the path's decay weights, summed in touch order as bincount does
            for q in range(i, j):
                total += decay[q]
            for q in range(i, j):
                first, last = q == i, q == j - 1
                credit[0] = 1.0 if first else 0.0
                credit[1] = 1.0 if last else 0.0
                credit[2] = 1.0 / n
                if n == 1:
                    credit[3] = 1.0
                elif n == 2:
                    credit[3] = 0.5
                elif first or last:
                    credit[3] = 0.4
                else:
                    credit[3] = 0.2 / (n - 2)
                credit[4] = decay[q] / total
                c = channel[q]
                for m in range(5):
                    conv[m, c] += credit[m]
                    val[m, c] += credit[m] * v
        i = j


def distinct_pairs(tpath: np.ndarray, channel: np.ndarray, keep: np.ndarray, k: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (path row, channel) pairs of the paths with ``keep`` set, sorted by
    path then channel, from touches grouped by path: a pass that marks each path's
    channels (sorting the few of each path), where sorting every touch's pair code
    costs a sort of all the touches."""
    seen = np.full(max(k, 1), -1, dtype=np.int64)
    n = _pairs(tpath, channel, keep, seen, np.empty(0, np.int64), np.empty(0, np.int64))
    prow, pch = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    seen[:] = -1
    _pairs(tpath, channel, keep, seen, prow, pch)
    return prow, pch


@njit(cache=True, nogil=True)
def _pairs(tpath, channel, keep, seen, prow, pch):
    """Count the pairs (``prow`` empty) or write them."""
    write = prow.size > 0
    n, i = 0, 0
    while i < tpath.size:
        p, j = tpath[i], _path_end(tpath, i)
        if keep[p]:
            start = n
            for q in range(i, j):
                c = channel[q]
                if seen[c] != p:
                    seen[c] = p
                    if write:
                        pch[n] = c
                    n += 1
            if write:
                pch[start:n].sort()
                prow[start:n] = p
        i = j
    return n


@njit(cache=True, nogil=True)
def in_order(row: np.ndarray, t: np.ndarray, channel: np.ndarray) -> bool:
    """Whether the touches are sorted by (path row, time, channel): one pass, where
    sorting them again would copy every column."""
    for i in range(1, row.size):
        if row[i] != row[i - 1]:
            if row[i] < row[i - 1]:
                return False
        elif t[i] != t[i - 1]:
            if t[i] < t[i - 1]:
                return False
        elif channel[i] < channel[i - 1]:
            return False
    return True
