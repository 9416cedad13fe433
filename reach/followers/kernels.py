"""The two inner loops that reach spends its time in, compiled with numba.

Both are exact and touch each follower entry once: ``mark_new`` walks the follower
slices of a set of accounts and sets one byte per follower in a bitmap, writing each
account it sets for the first time to ``out``; ``csr_order`` is a counting sort of
edges by followee. NumPy needs an index array per gathered entry for the first (four
passes over memory instead of one) and a comparison sort for the second.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def mark_new(offsets: np.ndarray, followers: np.ndarray, keys: np.ndarray,
             bits: np.ndarray, out: np.ndarray, owner: np.ndarray) -> int:
    """Set ``bits`` for every follower of ``keys``, in order; the newly set ones go to ``out``.

    ``owner[i]`` is the position in ``keys`` of the account that first reached
    ``out[i]``. Returns how many were newly set; both buffers must hold ``bits.size``.
    """
    count = 0
    for i in range(keys.size):
        k = keys[i]
        for j in range(offsets[k], offsets[k + 1]):
            f = followers[j]
            if not bits[f]:
                bits[f] = True
                out[count] = f
                owner[count] = i
                count += 1
    return count


@njit(cache=True, nogil=True)
def csr_order(followee: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets per followee and a stable permutation of the edges grouped by followee."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    for v in followee:
        offsets[v + 1] += 1
    for i in range(n):
        offsets[i + 1] += offsets[i]
    fill = offsets[:-1].copy()
    order = np.empty(followee.size, dtype=np.int64)
    for i in range(followee.size):
        v = followee[i]
        order[fill[v]] = i
        fill[v] += 1
    return offsets, order


@njit(cache=True, nogil=True)
def mark_persons(person_of: np.ndarray, keys: np.ndarray, bits: np.ndarray) -> int:
    """Mark the person of each account in ``keys``; return how many have none (-1)."""
    unlinked = 0
    for k in keys:
        p = person_of[k]
        if p < 0:
            unlinked += 1
        else:
            bits[p] = True
    return unlinked


@njit(cache=True, nogil=True)
def count_memberships(offsets: np.ndarray, followers: np.ndarray, keys: np.ndarray,
                      bits: np.ndarray, counts: np.ndarray, touched: np.ndarray
                      ) -> tuple[int, int]:
    """For followers of ``keys`` not set in ``bits``: how many of the keys' lists each
    appears in (``counts``, the ones touched listed in ``touched``).

    Returns (persons touched, list entries of persons set in ``bits``). ``counts`` must be
    zero on entry; the caller clears the touched entries after reading them.
    """
    n_touched, excluded = 0, 0
    for i in range(keys.size):
        k = keys[i]
        for j in range(offsets[k], offsets[k + 1]):
            f = followers[j]
            if bits[f]:
                excluded += 1
            else:
                if counts[f] == 0:
                    touched[n_touched] = f
                    n_touched += 1
                counts[f] += 1
    return n_touched, excluded


@njit(cache=True, nogil=True)
def mlem(design: np.ndarray, observed: np.ndarray, start: np.ndarray, iterations: int,
         tolerance: float) -> np.ndarray:
    """Maximum-likelihood EM for non-negative ``x`` with ``observed ~ Poisson(design @ x)``
    (Shepp & Vardi 1982); stops when the total changes by less than ``tolerance``
    (relative) over 25 iterations."""
    rows, cols = design.shape
    x = start.copy()
    sens = np.zeros(cols)
    for r in range(rows):
        for c in range(cols):
            sens[c] += design[r, c]
    last = x.sum()
    for it in range(iterations):
        ratio = np.zeros(rows)
        for r in range(rows):
            lam = 0.0
            for c in range(cols):
                lam += design[r, c] * x[c]
            if lam > 0:
                ratio[r] = observed[r] / lam
        for c in range(cols):
            if sens[c] > 0:
                acc = 0.0
                for r in range(rows):
                    acc += design[r, c] * ratio[r]
                x[c] *= acc / sens[c]
        if it % 25 == 24:
            total = x.sum()
            if abs(total - last) <= tolerance * max(total, 1.0):
                break
            last = total
    return x
