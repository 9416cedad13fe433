"""What every reader hands to the loader: raw table parts plus what it repaired."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass
class TablePart:
    """Rows of one canonical table from one source file, columns as read.

    ``lines`` holds the 1-based line (or row) number of each row in ``file``, so that
    a rejected row can be found again by whoever fixes the source.
    """

    table: str
    raw: pl.DataFrame
    file: str
    lines: pl.Series
    line_word: str = "line"
    #: per-row source file, where one part gathers rows from many files
    files: pl.Series | None = None


@dataclass
class Extract:
    """Everything one source yielded."""

    fmt: str
    source: str
    parts: list[TablePart] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    root: Path | None = None
    warnings: list[str] = field(default_factory=list)
    #: what the reader dropped or repaired by rule, with counts
    repairs: dict[str, int] = field(default_factory=dict)
    #: facts the user must know about what the format lacks
    notes: list[str] = field(default_factory=list)


def line_numbers(height: int, first: int) -> pl.Series:
    return pl.int_range(first, first + height, eager=True, dtype=pl.Int64).alias("line")
