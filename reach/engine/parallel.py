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


def rows_per_group(groups: Iterable[G], rows: Callable[[S, G], list],
                   scratch: Callable[[], S], progress: Callable[[int, int], None] | None = None
                   ) -> list:
    """``rows(scratch, group)`` (a list: rows, or one item per group) for every group, on
    :data:`THREADS` threads, concatenated in the groups' order; ``scratch()`` is called
    once per thread."""
    groups = list(groups)
    local = threading.local()

    def run(group: G) -> list:
        if not hasattr(local, "scratch"):
            local.scratch = scratch()
        return rows(local.scratch, group)

    out: list = []
    with ThreadPoolExecutor(THREADS) as pool:
        for i, part in enumerate(pool.map(run, groups)):
            out.extend(part)
            if progress and i % 50 == 0:
                progress(i, len(groups))
    return out
