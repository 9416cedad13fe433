"""What every reader hands to the loader: raw table parts plus what it repaired."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from reach.errors import TableError
from reach.schema import TABLES

#: how far a .gz input may expand (README.md, "Input: the canonical tables")
MAX_RATIO_DEFAULT = 200
MAX_BYTES_DEFAULT = 4 << 30


def _limit(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise TableError(f"{name}={text!r}: expected a whole number greater than 0")
    return int(text)


class LimitedGzip:
    """A .gz file read as a stream that refuses to expand past the ratio or size limits.

    A few megabytes of gzip can expand to many gigabytes (a "decompression bomb"); the
    limits stop it after reading at most one chunk past them, whatever the file claims.
    """

    def __init__(self, path: Path, rel: str):
        self.path, self.rel = path, rel
        self.ratio = _limit("REACH_GZIP_MAX_RATIO", MAX_RATIO_DEFAULT)
        self.cap = min(_limit("REACH_GZIP_MAX_BYTES", MAX_BYTES_DEFAULT),
                       max(path.stat().st_size, 1) * self.ratio)
        self.total = 0
        self._fh = gzip.open(path, "rb")  # noqa: SIM115 (closed by __exit__)

    def __enter__(self) -> LimitedGzip:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def read(self, size: int = 1 << 20) -> bytes:
        try:
            chunk = self._fh.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise TableError(f"{self.rel}: not a readable gzip file ({exc}). Fix or remove "
                             "the file and load again.") from None
        self.total += len(chunk)
        if self.total > self.cap:
            raise TableError(
                f"{self.rel}: refused, it expands past {self.cap:,} bytes "
                f"({self.path.stat().st_size:,} compressed; the limits are {self.ratio}x its "
                f"size and {_limit('REACH_GZIP_MAX_BYTES', MAX_BYTES_DEFAULT):,} bytes). If "
                "the file is genuine, raise REACH_GZIP_MAX_RATIO or REACH_GZIP_MAX_BYTES.")
        return chunk


def gunzip(path: Path, rel: str) -> bytes:
    """A .gz file's whole content, within the limits of :class:`LimitedGzip`."""
    out = []
    with LimitedGzip(path, rel) as fh:
        while chunk := fh.read(1 << 20):
            out.append(chunk)
    return b"".join(out)


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
    #: per-row problems the reader saw (e.g. a row with the wrong number of fields)
    reader_reason: pl.Series | None = None
    #: a large file read piece by piece (``raw`` then holds only its header's columns;
    #: etl.readers.pieces.part_pieces reads either kind of part in pieces)
    stream: Callable[[], Iterator[Piece]] | None = None


@dataclass
class Piece:
    """A bounded run of a part's rows, with their lines (and files, where they differ)."""

    raw: pl.DataFrame
    lines: pl.Series
    reader_reason: pl.Series | None = None
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
    #: hashtags, mentions and links of posts (post_id, kind, value), for --campaign-rule
    entities: pl.DataFrame | None = None


def line_numbers(height: int, first: int) -> pl.Series:
    return pl.int_range(first, first + height, eager=True, dtype=pl.Int64).alias("line")


def conform(raw: pl.DataFrame, table: str, where: str, hint: str,
            warnings: list[str]) -> pl.DataFrame:
    """Check a table's required columns and that its values are flat (a TableError naming
    ``where`` and how to fix it), and drop the columns it does not have, saying so in
    ``warnings``."""
    spec = TABLES[table]
    missing = [c for c in spec.required if c not in raw.columns]
    if missing and len(raw.columns) == 1:
        seen = next((name for sep, name in ((";", "semicolons"), ("\t", "tabs"),
                                             ("|", "vertical bars")) if sep in raw.columns[0]),
                    None)
        if seen:  # one column holding the whole header: another delimiter
            raise TableError(
                f"{where}: the header is one column, '{raw.columns[0][:60]}': the file is "
                f"separated by {seen}, not commas. Save it as comma-separated CSV (or as "
                "Parquet) and load again.")
    if missing:
        raise TableError(
            f"{where}: required column `{missing[0]}` of table `{table}` is missing "
            f"(found: {', '.join(raw.columns) or 'no columns'}). {hint.format(col=missing[0])}; "
            f"required: {', '.join(spec.required)}.")
    extra = [c for c in raw.columns if c not in spec.names]
    if extra:
        warnings.append(f"{where}: columns {', '.join(extra)} are not part of `{table}` and "
                        "were not loaded")
        raw = raw.drop(extra)
    for c, dtype in raw.schema.items():  # any reader: Parquet, NDJSON, a database's arrays
        if dtype.is_nested() or dtype == pl.Object:
            raise TableError(f"{where}: column '{c}' holds {dtype} values (lists or records), "
                             "not single values. Flatten it (one value per cell) or drop it, "
                             "and load again.")
    return raw
