"""The inner loops that reach spends its time in, compiled with numba.

All are exact and touch each follower entry once: ``mark_new`` walks the follower
slices of a set of accounts and sets one byte per follower in a bitmap, writing each
account it sets for the first time to ``out``; ``cell_reach`` does the same walk for the
reach mart, counting instead of writing; ``csr_order`` is a counting sort of edges by
followee. NumPy needs an index array per gathered entry for the walks (four passes over
memory instead of one) and a comparison sort for the last.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: how many exposers ahead a cell kernel asks for an account's offsets, and for the
#: start of its follower slice (``prefetch``): exposers are scattered over the graph,
#: so each costs two cache misses that a plain loop waits out one after the other
OFFSETS_AHEAD = 16
FOLLOWERS_AHEAD = 8


@intrinsic
def prefetch(typingctx, arr, index):
    """Ask the CPU to bring ``arr[index]`` into cache (LLVM ``prefetch``; no effect on
    results). Cell kernels walk thousands of small follower slices at random places:
    fetched ahead, their misses overlap instead of queueing (measured on the 21.9M-edge
    sample: the walk of the light exposers 0.40 s -> 0.15 s)."""
    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False, boundscheck=False)
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
            "llvm.prefetch.p0")
        # read, keep in all cache levels, data cache
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), ir.Constant(i32, 0),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.void(arr, index), codegen


@njit(cache=True, nogil=True, inline="always")
def _fetch_ahead(offsets: np.ndarray, followers: np.ndarray, keys: np.ndarray, i: int,
                 end: int) -> None:
    """Prefetch for the walk of ``keys[i:end]``: the offsets of the key
    ``OFFSETS_AHEAD`` on, and the follower slice of the key ``FOLLOWERS_AHEAD`` on (its
    offsets fetched earlier)."""
    if i + OFFSETS_AHEAD < end:
        prefetch(offsets, keys[i + OFFSETS_AHEAD])
    if i + FOLLOWERS_AHEAD < end:
        start = offsets[keys[i + FOLLOWERS_AHEAD]]
        if start < followers.size:
            prefetch(followers, start)


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
def sorted_offsets(followee: np.ndarray, n: int) -> tuple[np.ndarray, bool]:
    """CSR offsets of edges already grouped by followee, and whether they are (in
    ascending followee order): one pass, where a check and a count are two."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    ascending = True
    last = -1
    for v in followee:
        if v < 0 or v >= n:
            raise ValueError("a followee key lies outside the network's account keys")
        offsets[v + 1] += 1
        if v < last:
            ascending = False
        last = v
    for i in range(n):
        offsets[i + 1] += offsets[i]
    return offsets, ascending


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


#: the high bit of a ``seen`` byte: the account belongs to a person with other accounts
LINKED = 128
#: the low bits of a ``seen`` byte hold the stamp of the cell that last met the account
STAMPS = LINKED - 1
#: rows of a campaign's person bitsets (``CampaignPeople.bits``): persons reached through
#: an author, reached, the campaign's authors, its sharers
REACHED_FIRST, REACHED, AUTHORS, SHARERS = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def cell_reach(offsets: np.ndarray, followers: np.ndarray, exposers: np.ndarray,
               n_authors: int, seen: np.ndarray, gen: int, person_of: np.ndarray,
               reached: np.ndarray, tally: np.ndarray) -> tuple[int, int]:
    """First-degree and total reach of one cell, and its people, in one pass over the
    followers of ``exposers`` (authors first: the first ``n_authors``).

    ``seen[k] & STAMPS == gen`` marks an account already met in this cell; authors are
    stamped before any list is walked, so they are never counted as reached. Only an
    account whose byte has the ``LINKED`` bit is looked up in ``person_of``: its person
    is set in the bitsets ``reached[REACHED_FIRST]`` (through an author) and
    ``reached[REACHED]``, which gather the campaign's people across its cells. ``tally``
    adds [linked accounts reached first, linked accounts reached later]. Stamps instead of
    bits: nothing is cleared between cells or campaigns.
    """
    for i in range(n_authors):
        k = exposers[i]
        seen[k] = (seen[k] & LINKED) | gen
    first_reach, added = 0, 0
    for i in range(exposers.size):
        _fetch_ahead(offsets, followers, exposers, i, exposers.size)
        author = i < n_authors
        k = exposers[i]
        for j in range(offsets[k], offsets[k + 1]):
            f = followers[j]
            s = seen[f]
            if (s & STAMPS) == gen:
                continue
            seen[f] = (s & LINKED) | gen
            if author:
                first_reach += 1
            else:
                added += 1
            if s & LINKED:
                p = person_of[f]
                bit = np.uint64(1) << np.uint64(p & 63)
                reached[REACHED, p >> 6] |= bit
                if author:
                    reached[REACHED_FIRST, p >> 6] |= bit
                    tally[0] += 1
                else:
                    tally[1] += 1
    return first_reach, first_reach + added


@intrinsic
def _popcount(typingctx, x):
    """The CPU's popcount of a uint64 (LLVM ``ctpop``)."""
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])
    return types.uint64(types.uint64), codegen


@intrinsic
def _lowest_bit(typingctx, x):
    """Index of the lowest set bit of a non-zero uint64 (LLVM ``cttz``)."""
    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))
    return types.uint64(types.uint64), codegen


@njit(cache=True, nogil=True)
def follower_bits(offsets: np.ndarray, followers: np.ndarray, keys: np.ndarray,
                  words: int) -> np.ndarray:
    """One bitset row (``words`` uint64) per account in ``keys``: its followers."""
    rows = np.zeros((keys.size, words), dtype=np.uint64)
    for r in range(keys.size):
        k = keys[r]
        for j in range(offsets[k], offsets[k + 1]):
            f = followers[j]
            rows[r, f >> 6] |= np.uint64(1) << np.uint64(f & 63)
    return rows


@njit(cache=True, nogil=True, inline="always")
def _or_followers(offsets: np.ndarray, followers: np.ndarray, keys: np.ndarray, begin: int,
                  end: int, heavy_row: np.ndarray, heavy_bits: np.ndarray, into: np.ndarray
                  ) -> None:
    """OR the followers of ``keys[begin:end]`` into the bitset ``into``: a heavy
    account's precomputed row a word at a time, any other follower by follower."""
    for i in range(begin, end):
        _fetch_ahead(offsets, followers, keys, i, end)
        if i + OFFSETS_AHEAD < end:
            prefetch(heavy_row, keys[i + OFFSETS_AHEAD])
        k = keys[i]
        h = heavy_row[k]
        if h >= 0:
            row = heavy_bits[h]
            for w in range(into.size):
                into[w] |= row[w]
        else:
            for j in range(offsets[k], offsets[k + 1]):
                f = followers[j]
                into[f >> 6] |= np.uint64(1) << np.uint64(f & 63)


@njit(cache=True, nogil=True)
def cell_reach_dense(offsets: np.ndarray, followers: np.ndarray, exposers: np.ndarray,
                     n_authors: int, heavy_row: np.ndarray, heavy_bits: np.ndarray,
                     linked: np.ndarray, linked_base: np.ndarray, linked_persons: np.ndarray,
                     reached: np.ndarray, tally: np.ndarray, first: np.ndarray,
                     total: np.ndarray, authors: np.ndarray) -> tuple[int, int]:
    """``cell_reach`` for a cell that gathers at least one follower per bitset word: the
    followers' union as bitsets, so an account with ``heavy_row[k] >= 0`` adds its
    precomputed row (``heavy_bits``) a word at a time instead of a follower at a time.

    ``linked`` is the bitset of accounts with the ``LINKED`` bit, and the persons of
    those accounts are ``linked_persons`` in key order, word w's from ``linked_base[w]``
    on (entries for linked accounts only, read in key order); ``first``, ``total`` and
    ``authors`` are scratch bitsets, zero on entry and left zero. Same results, same
    ``reached`` and ``tally``; linked accounts are counted a word at a time.
    """
    one = np.uint64(1)
    for i in range(n_authors):
        k = exposers[i]
        authors[k >> 6] |= one << np.uint64(k & 63)
    _or_followers(offsets, followers, exposers, 0, n_authors, heavy_row, heavy_bits, first)
    for w in range(total.size):
        total[w] = first[w]
    _or_followers(offsets, followers, exposers, n_authors, exposers.size, heavy_row,
                  heavy_bits, total)
    first_reach, total_reach, first_linked, total_linked = 0, 0, 0, 0
    for w in range(total.size):
        keep = ~authors[w]
        f = first[w] & keep
        t = total[w] & keep
        first_reach += np.int64(_popcount(f))
        total_reach += np.int64(_popcount(t))
        lw = linked[w]
        lt = t & lw
        if lt:
            first_linked += np.int64(_popcount(f & lt))
            total_linked += np.int64(_popcount(lt))
            base = linked_base[w]
            while lt:
                b = _lowest_bit(lt)
                lt &= lt - one
                p = linked_persons[base + np.int64(_popcount(lw & ((one << b) - one)))]
                bit = one << np.uint64(p & 63)
                reached[REACHED, p >> 6] |= bit
                reached[REACHED_FIRST, p >> 6] |= bit & (np.uint64(0) - ((f >> b) & one))
        first[w] = 0
        total[w] = 0
        authors[w] = 0
    tally[0] += first_linked
    tally[1] += total_linked - first_linked
    return first_reach, total_reach


@njit(cache=True, nogil=True)
def people_counts(bits: np.ndarray) -> tuple[int, int, int, int]:
    """Persons of a campaign's bitsets: reached through an author, reached (neither
    counting its authors' persons), authors, sharers."""
    first, total, authors, sharers = 0, 0, 0, 0
    for w in range(bits.shape[1]):
        keep = ~bits[AUTHORS, w]
        first += np.int64(_popcount(bits[REACHED_FIRST, w] & keep))
        total += np.int64(_popcount(bits[REACHED, w] & keep))
        authors += np.int64(_popcount(bits[AUTHORS, w]))
        sharers += np.int64(_popcount(bits[SHARERS, w]))
    return first, total, authors, sharers


@njit(cache=True, nogil=True)
def exposer_totals(offsets: np.ndarray, potential: np.ndarray, keys: np.ndarray
                   ) -> tuple[int, float, int]:
    """Over ``keys``: follower entries listed (in-degree), the sum of the known
    ``potential`` counts (NaN = unknown) and how many are known. One pass, where NumPy
    gathers three arrays per cell."""
    gathered, total, known = 0, 0.0, 0
    for i in range(keys.size):
        if i + OFFSETS_AHEAD < keys.size:
            prefetch(offsets, keys[i + OFFSETS_AHEAD])
            prefetch(potential, keys[i + OFFSETS_AHEAD])
        k = keys[i]
        gathered += offsets[k + 1] - offsets[k]
        p = potential[k]
        if not np.isnan(p):
            total += p
            known += 1
    return gathered, total, known


@njit(cache=True, nogil=True)
def set_persons(person_of: np.ndarray, keys: np.ndarray, row: np.ndarray) -> int:
    """Set the person of each account in ``keys`` in the bitset ``row``; return how many
    accounts are persons of their own (-1)."""
    lone = 0
    for k in keys:
        p = person_of[k]
        if p < 0:
            lone += 1
        else:
            row[p >> 6] |= np.uint64(1) << np.uint64(p & 63)
    return lone


#: ``cell_opportunities`` keeps an account's OTS from shares above this bit, from posts below
SHARES_SHIFT = 32


@njit(cache=True, nogil=True, inline="always")
def _add_opportunities(offsets: np.ndarray, followers: np.ndarray, post_keys: np.ndarray,
                       post_counts: np.ndarray, share_keys: np.ndarray,
                       share_counts: np.ndarray, excluded: np.ndarray, counts: np.ndarray,
                       touched: np.ndarray) -> int:
    """Every follower of ``post_keys[i]`` gains ``post_counts[i]`` in ``counts`` (shares
    above ``SHARES_SHIFT``), ``excluded`` reset to zero; the accounts touched go to
    ``touched``, and how many is returned."""
    n = 0
    for kind in range(2):
        keys = post_keys if kind == 0 else share_keys
        weights = post_counts if kind == 0 else share_counts
        shift = 0 if kind == 0 else SHARES_SHIFT
        for i in range(keys.size):
            k, w = keys[i], weights[i] << shift
            for j in range(offsets[k], offsets[k + 1]):
                f = followers[j]
                if counts[f] == 0:
                    touched[n] = f
                    n += 1
                counts[f] += w
    for e in excluded:
        counts[e] = 0
    return n


@njit(cache=True, nogil=True)
def cell_opportunities(offsets: np.ndarray, followers: np.ndarray, post_keys: np.ndarray,
                       post_counts: np.ndarray, share_keys: np.ndarray,
                       share_counts: np.ndarray, excluded: np.ndarray, counts: np.ndarray,
                       touched: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Opportunities to see of one cell: every follower of ``post_keys[i]`` gains
    ``post_counts[i]`` (and likewise for shares). Returns the followers reached, not in
    ``excluded``, with their OTS from posts and from shares.

    Both counts of an account live in one int64 of ``counts`` (shares above
    ``SHARES_SHIFT``): one memory access per gathered follower. ``counts`` must be zero
    on entry and is left zero; ``touched`` holds one entry per account.
    """
    n = _add_opportunities(offsets, followers, post_keys, post_counts, share_keys,
                           share_counts, excluded, counts, touched)
    reached = np.empty(n, dtype=np.int64)
    from_posts, from_shares = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    low = (1 << SHARES_SHIFT) - 1
    m = 0
    for i in range(n):
        f = touched[i]
        c = counts[f]
        if c != 0:
            reached[m], from_posts[m], from_shares[m] = f, c & low, c >> SHARES_SHIFT
            m += 1
            counts[f] = 0
    return reached[:m], from_posts[:m], from_shares[:m]


@njit(cache=True, nogil=True)
def cell_histograms(offsets: np.ndarray, followers: np.ndarray, post_keys: np.ndarray,
                    post_counts: np.ndarray, share_keys: np.ndarray,
                    share_counts: np.ndarray, excluded: np.ndarray, counts: np.ndarray,
                    touched: np.ndarray, person_of: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The counts of :func:`cell_opportunities`, kept as what the frequency mart needs:
    ``hist[s, k]``, how many reached accounts had k opportunities in scope s (0: posts
    and shares, 1: posts, 2: shares; k = 0: none in that scope), and the reached accounts
    that belong to a person with other accounts (``person_of`` ≥ 0) with their OTS from
    posts and from shares. No array per reached account: most are linked to nobody.
    ``counts`` is left zero."""
    n = _add_opportunities(offsets, followers, post_keys, post_counts, share_keys,
                           share_counts, excluded, counts, touched)
    hist = np.zeros((3, post_counts.sum() + share_counts.sum() + 1), dtype=np.int64)
    low = (1 << SHARES_SHIFT) - 1
    linked = 0
    for i in range(n):
        f = touched[i]
        c = counts[f]
        if c != 0:
            p, s = c & low, c >> SHARES_SHIFT
            hist[0, p + s] += 1
            hist[1, p] += 1
            hist[2, s] += 1
            if person_of[f] >= 0:
                linked += 1
    keys = np.empty(linked, dtype=np.int64)
    from_posts, from_shares = np.empty(linked, dtype=np.int64), np.empty(linked, dtype=np.int64)
    m = 0
    for i in range(n):
        f = touched[i]
        c = counts[f]
        if c != 0:
            if person_of[f] >= 0:
                keys[m], from_posts[m], from_shares[m] = f, c & low, c >> SHARES_SHIFT
                m += 1
            counts[f] = 0
    return hist, keys, from_posts, from_shares


@njit(cache=True, nogil=True)
def scatter_add(into: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """``into[index[i]] += values[i]`` for every i, repeats adding up (``np.add.at``,
    which is an order of magnitude slower)."""
    for i in range(index.size):
        into[index[i]] += values[i]


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
def coverage_shares(offsets: np.ndarray, followers: np.ndarray, keys: np.ndarray,
                    blocked: np.ndarray, counts: np.ndarray, shapley: np.ndarray,
                    incremental: np.ndarray) -> None:
    """The coverage game's Shapley values (``reach.cascades.credit``) of ``keys``: each
    follower not ``blocked`` splits one unit among the keys that reach it, and counts
    toward ``incremental`` of a key that alone reaches it. Two passes over the gathered
    followers (count, then share) and a third that leaves ``counts`` zero again, where
    ``np.unique`` sorts them; sums are added in the same order as NumPy's ``bincount``
    over the gathered list, so the values are the same to the last bit."""
    for i in range(keys.size):
        _fetch_ahead(offsets, followers, keys, i, keys.size)
        k = keys[i]
        for j in range(offsets[k], offsets[k + 1]):
            f = followers[j]
            if not blocked[f]:
                counts[f] += 1
    for i in range(keys.size):
        _fetch_ahead(offsets, followers, keys, i, keys.size)
        k = keys[i]
        share, alone = 0.0, 0
        for j in range(offsets[k], offsets[k + 1]):
            f = followers[j]
            if not blocked[f]:
                c = counts[f]
                share += 1.0 / c
                if c == 1:
                    alone += 1
        shapley[i] = share
        incremental[i] = alone
    for i in range(keys.size):
        k = keys[i]
        for j in range(offsets[k], offsets[k + 1]):
            counts[followers[j]] = 0


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
