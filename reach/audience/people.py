"""Counting a campaign's reach per cell and its people across networks, exactly.

A *person* is the set of accounts that share a ``person_id``; an account without one,
or the only account of its person, is a person of its own (README.md, "Metrics").
Cells are counted by compiled kernels (``reach.followers.kernels``) on per-network
scratch that is never cleared between cells: stamps for small cells, bitsets (with
precomputed follower rows of the accounts many cells reuse) for large ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from reach.engine.cells import Cell
from reach.followers.graph import FollowerGraph
from reach.followers.kernels import (
    AUTHORS,
    LINKED,
    SHARERS,
    STAMPS,
    cell_reach,
    cell_reach_dense,
    follower_bits,
    people_counts,
    set_persons,
)
from reach.hash_numbers import text_codes


@dataclass(frozen=True)
class PersonLinks:
    """Which accounts share a ``person_id`` with another account, per network, as dense
    person indexes.

    ``person_of[network][key]`` is the person's index, or -1 for an account that is a
    person of its own: one without a ``person_id``, or the only account of its person.
    Either can be counted only once anyway, so only persons with several accounts need
    mapping when people are counted across networks.
    """

    person_of: dict[str, np.ndarray]
    n: int  # distinct persons with several accounts

    @classmethod
    def from_accounts(cls, accounts: dict[str, pl.DataFrame], sizes: dict[str, int]
                      ) -> PersonLinks:
        """``accounts``: per network, account_key and person_id
        (``distinct.accounts_by_network``); ``sizes``: how many account keys each network
        has (max key + 1)."""
        ids = {net: accounts[net].filter(pl.col("person_id").is_not_null())
               for net in sizes if net in accounts}
        code = text_codes(pl.concat([p["person_id"] for p in ids.values()])
                          if ids else pl.Series(dtype=pl.String))
        count = np.bincount(code)
        several = count[code] > 1  # persons of two accounts or more
        renumber = (np.cumsum(count > 1) - 1).astype(np.int32)
        person_of, at = {}, 0
        for network, n in sizes.items():
            ident = np.full(n, -1, dtype=np.int32)
            if network in ids:
                keys = ids[network]["account_key"].to_numpy()
                rows = slice(at, at + keys.size)
                at += keys.size
                keep = several[rows]
                ident[keys[keep]] = renumber[code[rows][keep]]
            person_of[network] = ident
        return cls(person_of, int(np.count_nonzero(count > 1)))


#: a cell is counted on bitsets (``cell_reach_dense``) when it gathers at least this many
#: followers per 64 accounts of its network, else follower by follower (``cell_reach``)
DENSE_FROM = 1.0
#: the fewest followers for which an account gets a bitset row (and at least a quarter
#: of the row's words: an OR of a word costs a fraction of a scattered follower)
HEAVY_DEGREE = 64


def heavy_rows(g: FollowerGraph, exposers: list[np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Accounts worth a bitset row: exposers of two cells or more with many
    followers, most gathered first, in at most half the memory of the follower
    lists."""
    words = (g.n + 63) // 64
    row = np.full(g.n, -1, dtype=np.int32)
    uses = (np.bincount(np.concatenate(exposers), minlength=g.n) if exposers
            else np.zeros(g.n, dtype=np.int64))
    degree = g.in_degree()
    worth = np.flatnonzero((uses >= 2) & (degree >= max(HEAVY_DEGREE, words // 4)))
    worth = worth[np.argsort(-(uses[worth] * degree[worth]), kind="stable")]
    worth = np.sort(worth[:g.followers.nbytes // 2 // (words * 8)])
    row[worth] = np.arange(worth.size, dtype=np.int32)
    return row, follower_bits(g.offsets, g.followers, worth, words)



@dataclass(frozen=True)
class NetworkLayout:
    """What every thread reads to count one network's cells, built once: which accounts
    belong to a person with other accounts (as bitset words and as the bytes that start
    each thread's ``seen``), those accounts' persons in key order (word w's from
    ``linked_base[w]``), and the heavy accounts' precomputed follower rows."""

    words: int
    seen: np.ndarray  # uint8, LINKED where the account's person has other accounts
    linked: np.ndarray  # uint64 words: the same as a bitset
    linked_base: np.ndarray
    linked_persons: np.ndarray
    heavy_row: np.ndarray
    heavy_bits: np.ndarray

    @classmethod
    def build(cls, g: FollowerGraph, person_of: np.ndarray, exposers: list[np.ndarray]
              ) -> NetworkLayout:
        """``exposers``: the exposers of the network's cells (for ``heavy_rows``)."""
        linked = person_of >= 0
        words = (g.n + 63) // 64
        packed = np.zeros(words * 8, dtype=np.uint8)
        bits = np.packbits(linked, bitorder="little")
        packed[:bits.size] = bits
        words_of = packed.view(np.uint64)
        base = np.concatenate(([0], np.cumsum(np.bitwise_count(words_of))[:-1]))
        return cls(words, np.where(linked, LINKED, 0).astype(np.uint8), words_of,
                   base.astype(np.int64), person_of[linked], *heavy_rows(g, exposers))


class NetworkScratch:
    """One thread's scratch for counting one network's cells: which accounts the current
    cell has met (``cell_reach``'s bytes: the stamp of the last cell that met each, and
    whether its person has other accounts) and, for cells counted on bitsets, the
    bitsets; beside the network's shared ``layout``.

    A new cell takes the next stamp; the stamps are wiped only when they run out.
    """

    def __init__(self, layout: NetworkLayout):
        self.layout = layout
        self.bytes = layout.seen.copy()
        self.gen = 0
        self.scratch = np.zeros((3, layout.words), dtype=np.uint64)

    def next(self) -> int:
        if self.gen == STAMPS:
            self.bytes &= LINKED
            self.gen = 0
        self.gen += 1
        return self.gen


#: the most memory one thread's campaign person bitsets take (``campaign_batch``)
PEOPLE_SCRATCH = 64 << 20
#: campaigns counted together, network by network (``campaign_batch``)
BATCH = 16


def campaign_batch(persons: int) -> int:
    """How many campaigns a thread counts together, network by network: a network's
    graph and scratch stay in cache from one campaign's cell to the next (the 21.9M-edge
    sample: 0.37 s -> 0.30 s on one core). Each campaign needs four bitsets over the
    persons, so fewer when persons are many."""
    return int(max(1, min(BATCH, PEOPLE_SCRATCH // (32 * ((max(persons, 1) + 63) // 64)))))


class CampaignPeople:
    """One campaign's people across networks: persons with several accounts as bits
    of ``bits`` (rows ``REACHED_FIRST``, ``REACHED``, ``AUTHORS``, ``SHARERS``), the
    other accounts as plain counts (each is its own person and appears on one network).

    Filled cell by cell; ``summary`` reads the campaign's people and ``reset`` makes it
    ready for another. Authors' persons are excluded across networks, so a person who
    posted on one network is not counted as reached on another.
    """

    def __init__(self, links: PersonLinks):
        self.links = links
        self.bits = np.zeros((4, (max(links.n, 1) + 63) // 64), dtype=np.uint64)
        self.tally = np.zeros(2, dtype=np.int64)  # linked accounts reached first, later
        self.first = self.total = 0  # reached accounts, linked or not
        self.lone_authors = self.lone_sharers = 0  # accounts that are persons of their own

    def count_cell(self, cell: Cell, g: FollowerGraph, scratch: NetworkScratch, gathered: int
                   ) -> tuple[int, int]:
        """(first-degree, total) reach of an exact cell, which gathers ``gathered``
        follower entries; its people join the campaign's."""
        person_of = self.links.person_of[cell.network]
        n_authors = int(cell.is_author.sum())
        lay = scratch.layout
        if gathered >= DENSE_FROM * lay.words:
            f, t = cell_reach_dense(g.offsets, g.followers, cell.exposers, n_authors,
                                    lay.heavy_row, lay.heavy_bits, lay.linked,
                                    lay.linked_base, lay.linked_persons, self.bits,
                                    self.tally, *scratch.scratch)
        else:
            f, t = cell_reach(g.offsets, g.followers, cell.exposers, n_authors, scratch.bytes,
                              scratch.next(), person_of, self.bits, self.tally)
        self.first += int(f)
        self.total += int(t)
        self.lone_authors += set_persons(person_of, cell.exposers[:n_authors],
                                         self.bits[AUTHORS])
        self.lone_sharers += set_persons(person_of, cell.exposers[cell.is_sharer],
                                         self.bits[SHARERS])
        return int(f), int(t)

    def summary(self) -> tuple[int, int, int, int]:
        """The campaign's distinct people, unlinked accounts plus persons: (first-degree
        reach, total reach, authors, sharers), the reached less its authors' persons."""
        first_linked, later_linked = (int(x) for x in self.tally)
        first_p, total_p, authors_p, sharers_p = (int(x) for x in people_counts(self.bits))
        return (self.first - first_linked + first_p,
                self.total - first_linked - later_linked + total_p,
                self.lone_authors + authors_p, self.lone_sharers + sharers_p)

    def reset(self) -> None:
        self.bits[:] = 0
        self.tally[:] = 0
        self.first = self.total = self.lone_authors = self.lone_sharers = 0
