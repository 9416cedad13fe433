"""Campaigns counted on several threads at once.

The counting kernels are compiled with ``nogil``, so threads run them side by side;
each thread keeps scratch of its own (bitmaps, counters), made once and reused for
every campaign it takes. Campaigns are independent, and rows come back in input order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

#: threads counting campaigns at once
THREADS = min(4, os.cpu_count() or 1)

G = TypeVar("G")
S = TypeVar("S")
R = TypeVar("R")


def per_group(groups: Iterable[G], work: Callable[[S, G], R],
              scratch: Callable[[], S] = lambda: None,
              progress: Callable[[int, int], None] | None = None) -> list[R]:
    """``work(scratch, group)`` for every group, on :data:`THREADS` threads, one result
    per group in the groups' order; ``scratch()`` is called once per thread."""
    groups = list(groups)
    local = threading.local()

    def run(group: G) -> R:
        if not hasattr(local, "scratch"):
            local.scratch = scratch()
        return work(local.scratch, group)

    out: list[R] = []
    with ThreadPoolExecutor(THREADS) as pool:
        for i, result in enumerate(pool.map(run, groups)):
            out.append(result)
            if progress and i % 50 == 0:
                progress(i, len(groups))
    return out


def rows_per_group(groups: Iterable[G], rows: Callable[[S, G], list[dict]],
                   scratch: Callable[[], S], progress: Callable[[int, int], None] | None = None
                   ) -> list[dict]:
    """:func:`per_group` where each group gives rows: all of them, concatenated in the
    groups' order."""
    return [row for part in per_group(groups, rows, scratch, progress) for row in part]
