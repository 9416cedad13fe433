"""The follows table loaded in bounded memory, however large the follower graph.

A follower graph is the one input that outgrows memory, so it is never held whole:

1. **check**: each piece of each file (``readers.pieces.part_pieces``) is typed and checked
   against the follows suite; rejected rows go to quarantine files, accepted ones to a
   staging file, their ids replaced by numbers in the order first seen (``id_numbers``:
   one hash table for the load; each distinct id is the only thing held for the batch);
2. **key**: once every id has its dense key, one array per network turns the staged
   rows' numbers into keys, and the rows are spread into buckets, each a range of
   followee keys of one network;
3. **per bucket**: a key repeated inside the batch keeps its first row (the others are
   quarantined, naming where the first is); rows the lake already holds unchanged are
   skipped, changed ones replace theirs; rows are put in (followee, follower) key order.

Each bucket then becomes one Parquet file and the files are committed as one Delta
transaction (etl.lake.LoadCommit.append_files), so memory is bounded by a piece and a
bucket, not by the file (README.md, "The lake").
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from reach.followers.kernels import csr_order
from reach.schema import TABLES

from .context import follows_context
from .id_numbers import IdNumbers
from .lake import Lake, table_schema
from .parse import to_canonical
from .quarantine import combine, rejected, tally
from .readers.base import TablePart
from .readers.pieces import part_pieces
from .rules import row_violations

#: rows per bucket of followee keys (a bucket is sorted and checked in memory)
BUCKET_ROWS = 4_000_000
#: an edge's key (network aside) as one 64-bit number
_PAIR = pl.col("followee_key").cast(pl.Int64) * (1 << 32) + pl.col("follower_key")
#: the columns a keyed row keeps until its bucket is settled
_STAGED = ("followee_key", "follower_key", "followed_at", "file", "line")


def _write(df: pl.DataFrame, path: Path) -> Path:
    """Quarantine parts: Parquet, as the lake's quarantine file is made of them."""
    df.write_parquet(path, compression="lz4", statistics=False)
    return path


def _stage(df: pl.DataFrame, path: Path) -> tuple[Path, int]:
    """Staged rows: uncompressed Arrow IPC, read back once (a tenth of Parquet's time)."""
    df.write_ipc(path, compression="uncompressed")
    return path, df.height


def _split(part: pl.DataFrame, bucket: np.ndarray, buckets: int
           ) -> Iterator[tuple[int, pl.DataFrame]]:
    """``part``'s rows by ``bucket`` (0 … buckets − 1), in order: one counting sort."""
    offsets, order = csr_order(bucket, buckets)
    ordered = part[order]
    for b in np.flatnonzero(np.diff(offsets)):
        yield int(b), ordered.slice(int(offsets[b]), int(offsets[b + 1] - offsets[b]))


@dataclass
class FollowsLoad:
    """One batch's follows, staged on local disk under ``staging``."""

    staging: Path
    batch_id: str
    params: dict[str, Any]
    say: Callable[[str], None] = lambda _m: None
    files: list[str] = field(default_factory=list)
    line_word: dict[int, str] = field(default_factory=dict)
    rows_in: int = 0
    quarantined: int = 0
    replaced: int = 0
    reasons: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    accepted_per_network: Counter = field(default_factory=Counter)
    _checked: list[tuple[Path, int]] = field(default_factory=list)
    _rejected: list[Path] = field(default_factory=list)
    _final: list[tuple[str, Path, int]] = field(default_factory=list)
    #: seeds the id hashes (etl.id_numbers; another seed after a collision)
    seed: int = 0
    #: set by the caller to stop checking (the rest of the load failed)
    stop: threading.Event = field(default_factory=threading.Event)
    _numbers: dict[str, IdNumbers] = field(default_factory=dict)
    _columns: list[str] = field(default_factory=list)
    _keys: dict[str, pl.DataFrame] = field(default_factory=dict)
    #: rows the lake holds with other values, replaced by this batch
    changed: int = 0

    # -- 1. check --------------------------------------------------------------------
    def check(self, parts: list[TablePart]) -> None:
        spec = TABLES["follows"]
        self._columns = list(dict.fromkeys(c for p in parts for c in p.raw.columns))
        for part in parts:
            index = self._file_index(part.file, part.line_word)
            for piece in part_pieces(part):
                if self.stop.is_set():
                    return
                if piece.files is None:
                    files = pl.repeat(index, piece.raw.height, eager=True, dtype=pl.Int32)
                else:  # a part gathering many files names each row's
                    files = piece.files.replace_strict(
                        {f: self._file_index(f, part.line_word)
                         for f in piece.files.unique(maintain_order=True)},
                        return_dtype=pl.Int32)
                typed, type_reason = to_canonical(piece.raw, spec)
                flags = [c for c in typed.columns if c.startswith("__type_failed_")]
                typed = typed.with_columns(pl.col(flags).fill_null(False))
                reason = combine(*([piece.reader_reason] if piece.reader_reason is not None
                                   else []), type_reason,
                                 row_violations(follows_context(typed), "follows",
                                                self.params))
                good = reason.is_null()
                self.rows_in += piece.raw.height
                if not good.all():
                    bad = ~good
                    self._reject(piece.raw.filter(bad), files.filter(bad),
                                 piece.lines.filter(bad), reason.filter(bad))
                ok = typed.filter(good).select(spec.names).with_columns(
                    files.filter(good).alias("file"), piece.lines.filter(good).alias("line"))
                self.accepted_per_network.update(dict(ok["network"].value_counts().iter_rows()))
                self._checked.append(_stage(self._numbered(ok), self._path("checked")))
                self.say(f"checking follows ({self.rows_in:,} rows read)")

    def _file_index(self, name: str, line_word: str) -> int:
        if name not in self.files:
            self.files.append(name)
            self.line_word[len(self.files) - 1] = line_word
        return self.files.index(name)

    def _path(self, kind: str) -> Path:
        n = len(self._checked) + len(self._rejected) + len(self._final)
        return self.staging / f"{kind}-{n:06d}.{'parquet' if kind == 'rejected' else 'arrow'}"

    def _reject(self, values: pl.DataFrame, files: pl.Series, lines: pl.Series,
                reason: pl.Series) -> None:
        names = pl.Series(self.files).gather(files)
        word = self.line_word[int(files[0])]
        values = values.select([pl.col(c) if c in values.columns else pl.lit(None).alias(c)
                                for c in self._columns])
        q = rejected(values, names, lines, word, reason, self.batch_id)
        self.quarantined += q.height
        self.reasons.update(tally(q))
        self.examples.extend(q["reason"].head(3 - len(self.examples)).to_list())
        self._rejected.append(_write(q, self._path("rejected")))

    def _numbered(self, ok: pl.DataFrame) -> pl.DataFrame:
        """``ok`` with each id replaced by its number (``follower_n``, ``followee_n``)."""
        parts = (ok.partition_by("network", as_dict=True) if ok["network"].n_unique() > 1
                 else {(ok["network"][0],): ok} if ok.height else {})
        out = []
        for (network,), part in parts.items():
            numbers = self._numbers.setdefault(network, IdNumbers(self.seed))
            out.append(part.with_columns(
                pl.Series("follower_id", numbers.number(part["follower_id"])),
                pl.Series("followee_id", numbers.number(part["followee_id"]))))
        return (pl.concat(out) if out else ok).rename(
            {"follower_id": "follower_n", "followee_id": "followee_n"})

    def account_ids(self) -> pl.DataFrame:
        """Every account id in the accepted rows (network, account_id), each once."""
        frames = [pl.DataFrame({"network": network, "account_id": n.texts})
                  for network, n in self._numbers.items()]
        return (pl.concat(frames) if frames
                else pl.DataFrame(schema={"network": pl.String, "account_id": pl.String}))

    @property
    def accepted(self) -> int:
        return self.rows_in - self.quarantined

    # -- 2. key, 3. per bucket ---------------------------------------------------------
    def arrange(self, keys: pl.DataFrame, lake: Lake) -> None:
        """Give the staged rows their keys, bucket them, then settle each bucket."""
        self._keys = {n: k.sort("account_key") for (n,), k in
                      keys.partition_by("network", as_dict=True, include_key=False).items()}
        width, count, writers, key_of = {}, {}, {}, {}
        for network, rows in self.accepted_per_network.items():
            size = self._keys[network].height
            width[network] = math.ceil(size / max(1, math.ceil(rows / BUCKET_ROWS)))
            count[network] = (size - 1) // width[network] + 1  # buckets
            # number -> key: the numbered ids joined to the key map once
            key_of[network] = (pl.DataFrame({"account_id": self._numbers[network].texts})
                               .join(self._keys[network], on="account_id", how="left",
                                     maintain_order="left")["account_key"])
        try:
            for group in self._groups():
                staged = pl.concat([pl.read_ipc(path) for path in group])
                for path in group:
                    path.unlink()
                for (network,), part in staged.partition_by("network", as_dict=True).items():
                    keys_ = key_of[network]
                    part = part.with_columns(
                        keys_.gather(part["follower_n"]).alias("follower_key"),
                        keys_.gather(part["followee_n"]).alias("followee_key"))
                    part = part.select(_STAGED)
                    bucket = part["followee_key"].to_numpy().astype(np.int64) // width[network]
                    for b, rows in _split(part, bucket, count[network]):
                        table = rows.to_arrow()
                        if (network, b) not in writers:
                            path = self.staging / f"bucket-{len(writers):06d}.arrow"
                            writers[(network, b)] = (path, pa.ipc.new_stream(path, table.schema))
                        writers[(network, b)][1].write_table(table)
        finally:
            for _, w in writers.values():
                w.close()
        self.say("checking follows against the lake")
        # the lake's follows, opened once (each scan reads the Delta log)
        stored = lake.scan("follows") if lake.versions.get("follows") is not None else None
        for (network, b) in sorted(writers):
            path = writers[(network, b)][0]
            self._settle(network, pl.read_ipc_stream(path), stored)
            path.unlink()

    def _groups(self) -> Iterator[list[Path]]:
        """The staged files, gathered into runs of about BUCKET_ROWS rows (fewer, larger
        writes to the buckets)."""
        group, rows = [], 0
        for path, height in self._checked:
            group.append(path)
            rows += height
            if rows >= BUCKET_ROWS:
                yield group
                group, rows = [], 0
        if group:
            yield group

    def _settle(self, network: str, rows: pl.DataFrame, stored: pl.LazyFrame | None) -> None:
        """One bucket: repeated keys quarantined, rows the lake holds unchanged dropped,
        the rest in (followee, follower) key order for the commit."""
        # a stable sort puts a key's rows together, its first row first: repeats are the
        # rows equal to the one before (cheaper than hashing every pair)
        rows = rows.sort(_PAIR, maintain_order=True)
        first = rows.select((pl.col("followee_key") != pl.col("followee_key").shift(1))
                            | (pl.col("follower_key") != pl.col("follower_key").shift(1))
                            ).to_series().fill_null(True)
        if not first.all():
            self._duplicates(network, rows, first)
            rows = rows.filter(first)
        if stored is not None:
            lo, hi = int(rows["followee_key"].min()), int(rows["followee_key"].max())
            # one 64-bit key tested while the lake's files are read: less than a join
            old = (stored.filter(pl.col("network") == network,
                                 pl.col("followee_key").is_between(lo, hi),
                                 _PAIR.is_in(rows.select(_PAIR).to_series().implode()))
                   .select("followee_key", "follower_key", "followed_at").collect())
            if old.height:
                self.replaced += old.height
                same = old.join(rows, on=["followee_key", "follower_key", "followed_at"],
                                how="semi", nulls_equal=True)
                rows = rows.join(same, on=["followee_key", "follower_key"], how="anti",
                                 maintain_order="left")
                self.changed += old.height - same.height
        if rows.height:
            final = rows.select("followee_key", "follower_key", "followed_at")
            self._final.append((network, *_stage(final, self._path("final"))))

    def _duplicates(self, network: str, rows: pl.DataFrame, first: pl.Series) -> None:
        """Quarantine each later row of a repeated key, naming where its first row is
        (``rows`` sorted by key, first rows first: a later row's first is the last first
        row above it)."""
        above = (pl.when(first).then(pl.int_range(0, rows.height, dtype=pl.Int64))
                 .forward_fill())
        where = rows.select(above.alias("_at"))["_at"]
        later = rows.filter(~first).with_columns(
            rows["file"].gather(where.filter(~first)).alias("_ffile"),
            rows["line"].gather(where.filter(~first)).alias("_fline"))
        ids = self._keys[network]["account_id"]
        names = pl.Series(self.files)
        values = pl.DataFrame({
            "network": pl.repeat(network, later.height, eager=True, dtype=pl.String),
            "follower_id": ids.gather(later["follower_key"]),
            "followee_id": ids.gather(later["followee_key"]),
            "followed_at": later["followed_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")})
        first_at = (names.gather(later["_ffile"]) + " "
                    + pl.Series([self.line_word[i] for i in later["_ffile"]]) + " "
                    + later["_fline"].cast(pl.String))
        reason = ("duplicate key (network, follower_id, followee_id) = (" + network + ", "
                  + values["follower_id"] + ", " + values["followee_id"] + "); the first, at "
                  + first_at + ", was kept (rule: unique-key)")
        self._reject(values, later["file"], later["line"], reason)

    # -- the commit ------------------------------------------------------------------
    @property
    def merges(self) -> bool:
        """Whether the batch changes rows the lake holds (a MERGE, not an append)."""
        return self.changed > 0

    def rows_out(self) -> int:
        return sum(height for _, _, height in self._final)

    def buckets(self) -> Iterator[tuple[str, pl.DataFrame]]:
        """The rows to commit, one (network, rows) per bucket, in the table's columns."""
        schema = table_schema("follows")
        for network, path, _ in self._final:
            ids = self._keys[network]["account_id"]
            rows = pl.read_ipc(path)
            yield network, rows.with_columns(
                pl.lit(network).alias("network"),
                ids.gather(rows["follower_key"]).alias("follower_id"),
                ids.gather(rows["followee_key"]).alias("followee_id")
            ).select(list(schema)).cast(schema)

    def batches(self) -> pa.RecordBatchReader:
        """The same rows as one stream (for a MERGE)."""
        arrow = pl.DataFrame(schema=table_schema("follows")).to_arrow().schema
        return pa.RecordBatchReader.from_batches(
            arrow, (b for _, t in self.buckets() for b in t.to_arrow().to_batches()))

    def quarantine_files(self) -> list[Path]:
        return list(self._rejected)
