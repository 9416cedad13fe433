"""The lake: Delta Lake tables, the log of loads, quarantine, raw inputs, marts.

Layout (README.md, "The lake")::

    LAKE/tables/<table>/                  Delta tables (partitioned by network, but campaigns)
    LAKE/tables/_account_keys/            dense account keys per network (Delta)
    LAKE/_loads/                          Delta table: one row per load, the commit point
    LAKE/quarantine/<table>/<batch>.parquet   rejected rows with a `reason`
    LAKE/raw/<batch>/...                  inputs as received
    LAKE/marts/<mart>.parquet             written by `reach compute`

How a load stays atomic: each table's change is one Delta commit (ACID on local disk
and object storage alike). The load's row in ``_loads``, appended after every table
committed, records each table's version; it is the commit point. Readers read every
table at the versions of the last row (or of ``--as-of BATCH``), so they see the lake
before a load or after it, never half of one. A load killed before its row leaves
commits that no row points at: the next load rolls those tables back (Delta RESTORE)
before it writes, and deletes the killed load's quarantine and raw files.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from reach.errors import LakeError, message_lines
from reach.schema import TABLES

from .storage import Location

FORMAT_VERSION = 2
KEYS_TABLE = "_account_keys"
LOADS = "_loads"
ROW_GROUP_ROWS = 256 * 1024
#: files of a table: small enough that a writer's buffer stays small, few enough to list
TARGET_FILE_BYTES = 64 << 20
#: zstd 1 is 2.5x faster than 3; row groups of ROW_GROUP_ROWS bound what a writer buffers
_WRITER = WriterProperties(compression="ZSTD", compression_level=1,
                           max_row_group_size=ROW_GROUP_ROWS)
_LOADS_SCHEMA = pa.schema([("batch_id", pa.string()), ("loaded_at", pa.string()),
                           ("format_version", pa.int32()), ("entry", pa.string())])


def write_parquet_atomic(df: pl.DataFrame, path: Path, **kwargs: Any) -> None:
    """Write next to ``path`` and rename over it: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.write_parquet(tmp, compression="zstd", statistics=True,
                     row_group_size=ROW_GROUP_ROWS, **kwargs)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def table_schema(table: str) -> dict[str, pl.DataType]:
    """The stored columns of a lake table: the canonical ones, then the dense keys."""
    if table == KEYS_TABLE:
        return {"account_id": pl.String(), "account_key": pl.Int32(), "network": pl.String()}
    spec = TABLES[table]
    schema: dict[str, pl.DataType] = dict(spec.schema)
    for key_col in spec.account_keys.values():
        schema[key_col] = pl.Int32()
    return schema


def empty_table(table: str) -> pl.LazyFrame:
    return pl.LazyFrame(schema=table_schema(table))


def _partitioned(table: str) -> bool:
    return table == KEYS_TABLE or TABLES[table].partitioned


class Lake:
    """A reach lake, read as it was after its last load (or after batch ``as_of``)."""

    def __init__(self, root: str | os.PathLike[str] | Location, as_of: str | None = None):
        self.location = Location(root)
        self.as_of = as_of

    @property
    def root(self) -> str:
        return self.location.uri

    def __str__(self) -> str:
        return self.root

    # -- opening ----------------------------------------------------------------------
    def exists(self) -> bool:
        return self._all_entries is not None

    @classmethod
    def open(cls, root: str | os.PathLike[str] | Location, *, create: bool = False,
             as_of: str | None = None) -> Lake:
        lake = cls(root, as_of)
        where = lake.location
        if where.local and where.local.is_file():
            check_new_lake(where)  # says it is a file
        if lake.exists():
            lake._check_version()
            return lake
        if where.local and where.local.joinpath(".snapshots").exists():
            raise LakeError(f"{root} was written by lake format 1 (before Delta Lake); this "
                            f"reach reads format {FORMAT_VERSION}. Rebuild it: reach etl "
                            f"SOURCE --lake NEW_FOLDER")
        if not create:
            hint = ("it does not exist" if where.local and not where.local.exists()
                    else "it has no _loads table, so nothing was loaded into it")
            raise LakeError(f"{root} is not a reach lake: {hint}. "
                            f"Load data first: reach etl SOURCE --lake {root}")
        check_new_lake(where)
        write_deltalake(where.delta(LOADS), _LOADS_SCHEMA.empty_table(), mode="error")
        return cls(root, as_of)  # read afresh: this one remembers that there was no log

    def _check_version(self) -> None:
        versions = {e.get("format_version") for e in self._all_entries}
        if versions - {FORMAT_VERSION}:
            raise LakeError(f"{self.root} was written by lake format {versions}; this reach "
                            f"reads format {FORMAT_VERSION}. Rebuild the lake with reach etl.")

    # -- the log of loads -------------------------------------------------------------
    @cached_property
    def _all_entries(self) -> list[dict[str, Any]] | None:
        """Every committed load, oldest first (each with its table versions); None when
        there is no log of loads (not a lake). Read once per Lake."""
        return _read_log(self.location)

    @cached_property
    def _entries(self) -> list[dict[str, Any]]:
        log = self._all_entries or []
        if self.as_of is None:
            return log
        ids = [e["batch_id"] for e in log]
        if self.as_of not in ids:
            shown = ", ".join(ids[-5:]) or "none yet"
            raise LakeError(f"--as-of {self.as_of}: no load of {self.root} has that batch id "
                            f"(the latest: {shown}; all of them: reach history --lake "
                            f"{self.root})")
        return log[:ids.index(self.as_of) + 1]

    def history(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def manifest(self) -> dict[str, Any]:
        """What was loaded: every load's report, and the tables' row counts now."""
        entries = self._entries
        return {"format_version": FORMAT_VERSION, "loads": entries,
                "tables": entries[-1].get("totals", {}) if entries else {}}

    @property
    def versions(self) -> dict[str, int]:
        """The Delta version of each table as of the last load read."""
        return dict(self._entries[-1]["versions"]) if self._entries else {}

    # -- reading ----------------------------------------------------------------------
    def table_uri(self, table: str) -> str:
        return self.location.delta("tables", table)

    def has(self, table: str) -> bool:
        """Whether the table holds rows as of the load read."""
        return bool(self.manifest()["tables"].get(table, {}).get("rows"))

    def scan(self, table: str) -> pl.LazyFrame:
        """The table as a LazyFrame at the version of the load read."""
        version = self.versions.get(table)
        if version is None:
            return empty_table(table)
        schema = table_schema(table)
        frame = pl.scan_delta(self.table_uri(table), version=version)
        stored = frame.collect_schema()  # a table written before a column was added lacks it
        return frame.select([pl.col(c).cast(t) if c in stored else pl.lit(None, t).alias(c)
                             for c, t in schema.items()])

    def read(self, table: str) -> pl.DataFrame:
        return self.scan(table).collect()

    def files(self, table: str) -> list[str]:
        """The table's current Parquet files as delta-rs lists them (for Spark)."""
        version = self.versions.get(table)
        if version is None:
            return []
        return DeltaTable(self.table_uri(table), version=version).file_uris()

    def verify(self, tables: tuple[str, ...]) -> None:
        """Every current file of ``tables`` has a readable Parquet footer; else name it.

        One small read per file: a damaged file is reported by name before any engine
        reads it (Polars would fail somewhere inside a query, or panic)."""
        where = self.location
        for table in tables:
            for uri in self.files(table):
                path = uri if where.local else where.fs_path_of(uri)
                try:
                    pq.read_metadata(path, filesystem=None if where.local
                                     else where.filesystem)
                except Exception as exc:  # any failure to read the footer
                    raise LakeError(
                        f"table `{table}` of {self.root} has a damaged file: {uri} "
                        f"({str(exc).splitlines()[0]}). Restore the file, or rebuild the "
                        "lake from its raw/ inputs with reach etl.") from None

    def files_sql(self, table: str) -> str:
        """The current files as a SQL list literal, for DuckDB's ``read_parquet``."""
        files = [f.replace("'", "''") for f in self.files(table)]
        return "[" + ", ".join(f"'{f}'" for f in files) + "]"

    # -- marts and plain files ----------------------------------------------------------
    def mart_names(self) -> list[str]:
        return [n.removesuffix(".parquet") for n in self.location.listdir("marts")
                if n.endswith(".parquet") and not n.startswith(".")]

    def read_mart(self, name: str) -> pl.DataFrame:
        return self.read_file("marts", f"{name}.parquet")

    def write_mart(self, name: str, df: pl.DataFrame) -> None:
        self.write_file(df, "marts", f"{name}.parquet")

    def write_marts(self, marts: dict[str, pl.DataFrame]) -> None:
        """`reach compute`'s output: each mart, and the follower sketches what-if reads."""
        for name, df in marts.items():
            if name == "sketches":
                self.write_file(df, "sketches", "followers.parquet")
            else:
                self.write_mart(name, df)

    def read_file(self, *parts: str) -> pl.DataFrame:
        where = self.location
        try:
            if where.local:
                return pl.read_parquet(where.join(*parts))
            return pl.from_arrow(pq.read_table(where.fs_path(*parts),
                                               filesystem=where.filesystem))
        except FileNotFoundError:
            raise
        except Exception as exc:  # a damaged or half-copied file
            fix = ("run `reach compute` again to rewrite the marts" if parts[0] in
                   ("marts", "sketches") else "restore it from a backup")
            raise LakeError(f"{where.join(*parts)} is not a readable Parquet file "
                            f"({str(exc).splitlines()[0]}); {fix}.") from None

    def write_parts(self, sources: list[Path], *parts: str) -> None:
        """Parquet files of one schema written as one file, a batch at a time (memory
        does not grow with them); whole or nothing, as :meth:`write_file`."""
        where = self.location
        if where.local:
            path = Path(where.join(*parts))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        else:
            tmp = Path(sources[0]).with_name("combined.parquet")
        schema = pq.read_schema(sources[0])
        with pq.ParquetWriter(tmp, schema, compression="zstd") as out:
            for source in sources:
                for batch in pq.ParquetFile(source).iter_batches(ROW_GROUP_ROWS):
                    out.write_batch(batch)
        if where.local:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        else:
            _copy_to(tmp, where, where.fs_path(*parts))

    def write_file(self, df: pl.DataFrame, *parts: str) -> None:
        """A whole Parquet file or nothing: renamed into place locally, one PUT on a store."""
        where = self.location
        if where.local:
            write_parquet_atomic(df, Path(where.join(*parts)))
            return
        buf = io.BytesIO()
        df.write_parquet(buf, compression="zstd", statistics=True)
        with where.filesystem.open_output_stream(where.fs_path(*parts)) as fh:
            fh.write(buf.getvalue())


def check_new_lake(where: Location) -> None:
    """Refuse to make a lake in a local folder that holds something else."""
    if where.local is None or not where.local.exists():
        return
    if where.local.is_file():
        raise LakeError(f"--lake {where} is a file; it must be a folder (a new one, or a "
                        "lake made by reach etl)")
    if (where.local / LOADS).exists():
        return
    if any(p.name not in ("marts", ".lock") for p in where.local.iterdir()):
        raise LakeError(f"{where} exists and is not empty, and is not a reach lake; "
                        "choose a new or empty folder for --lake")


def unreachable(where: Location, exc: BaseException) -> str:
    """A storage failure in one readable line: what, where, the cause, what to do."""
    lines = message_lines(exc)
    causes = [ln for ln in lines if not ln.startswith("at ")] or [type(exc).__name__]
    cause = next((ln for ln in reversed(causes) if "rror" in ln), causes[-1])
    if where.local:
        return (f"cannot read the lake at {where}: {cause}. Its log of loads "
                f"({where.join(LOADS, '_delta_log')}) is damaged; restore it from a backup, "
                "or rebuild the lake from its raw/ inputs with reach etl")
    return (f"cannot read the lake at {where}: {cause}. Check the URI, the endpoint and the "
            "credentials in the environment (README.md, \"Lakes on object storage\")")


def _read_log(where: Location) -> list[dict[str, Any]] | None:
    try:
        df = pl.read_delta(DeltaTable(where.delta(LOADS)))  # one read of the log
    except TableNotFoundError:
        return None
    except (DeltaError, OSError) as exc:
        raise LakeError(unreachable(where, exc)) from None
    return [json.loads(e) for e in df.sort("loaded_at")["entry"]]


def _write_file(data: pl.DataFrame, path: str, filesystem) -> None:
    """One data file of a table, as the lake's other writes make them (zstd level 1, row
    groups of ROW_GROUP_ROWS). Polars' writer: twice as fast as pyarrow's here, which
    tries a dictionary for every id column first."""
    with filesystem.open_output_stream(path) as out:
        data.write_parquet(out, compression="zstd", compression_level=1,
                           row_group_size=ROW_GROUP_ROWS)


#: every write of a load goes through this hook (the tests inject faults here)
def _step(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


class LoadCommit:
    """The writes of one load: Delta commits per table, files, then the log row."""

    def __init__(self, lake: Lake, batch_id: str):
        self.lake, self.batch_id = lake, batch_id
        self.versions = lake.versions

    def recover(self) -> list[str]:
        """Undo what a killed load committed after the last logged one; say what."""
        undone = []
        tables = self.lake.location.listdir("tables")
        for table in tables:
            if table.startswith("."):
                continue
            try:
                dt = DeltaTable(self.lake.table_uri(table))
            except TableNotFoundError:
                continue
            want = self.versions.get(table)
            if want is None:
                if _rows(dt):
                    _step(dt.delete)
                    undone.append(table)
            elif dt.version() > want:
                _step(dt.restore, want)
                undone.append(table)
        known = {e["batch_id"] for e in self.lake._all_entries or []}
        for batch in self.lake.location.listdir("raw"):
            if batch not in known:
                self.lake.location.delete_dir("raw", batch)
        for table in self.lake.location.listdir("quarantine"):
            for name in self.lake.location.listdir("quarantine", table):
                if name.removesuffix(".parquet") not in known:
                    self.lake.location.delete_file("quarantine", table, name)
        return undone

    def _properties(self, table: str, rows: int) -> CommitProperties:
        return CommitProperties(custom_metadata={"reach.batch_id": self.batch_id,
                                                 "reach.table": table,
                                                 "reach.rows": str(rows)})

    def _committed(self, table: str) -> None:
        """Remember the table's version after this load's commit (for the log row)."""
        self.versions[table] = DeltaTable(self.lake.table_uri(table),
                                          without_files=True).version()

    def append(self, table: str, df: pl.DataFrame) -> None:
        """Add rows (a table's first rows, or new account keys): one Delta commit."""
        if df.height:
            self._append(table, df.to_arrow(), df.height)

    def _append(self, table: str, data: pa.Table | pa.RecordBatchReader, rows: int) -> None:
        _step(write_deltalake, self.lake.table_uri(table), data, mode="append",
              schema_mode="merge", partition_by=["network"] if _partitioned(table) else None,
              target_file_size=TARGET_FILE_BYTES, writer_properties=_WRITER,
              commit_properties=self._properties(table, rows))
        self._committed(table)

    def _merge(self, table: str, data: pa.Table | pa.RecordBatchReader, rows: int,
               key: list[str]) -> None:
        """Insert or replace by ``key`` in one Delta commit (rewrites the files it hits)."""
        uri = self.lake.table_uri(table)
        match = " AND ".join(f"t.{k} = s.{k}" for k in key)
        _step(lambda: DeltaTable(uri).merge(
            data, predicate=match, source_alias="s", target_alias="t", merge_schema=True,
            streamed_exec=isinstance(data, pa.RecordBatchReader), writer_properties=_WRITER,
            commit_properties=self._properties(table, rows))
            .when_matched_update_all().when_not_matched_insert_all().execute())
        self._committed(table)

    def append_files(self, table: str, pieces: Iterator[tuple[str, pl.DataFrame]], rows: int
                     ) -> None:
        """Write each (network, rows) piece as a Parquet file of its partition, then commit
        them all as one Delta append.

        Why not ``write_deltalake`` with a stream: delta-rs reads a stream ahead of its
        writer without bound, so memory grew with the table (measured: +1 GB per 30M
        follow edges); here one piece is in memory at a time."""
        if rows == 0:
            return
        where, uri = self.lake.location, self.lake.table_uri(table)
        stored = [c for c in table_schema(table) if c != "network"]  # network: the folder
        actions = []
        for i, (network, piece) in enumerate(pieces):
            name = f"network={network}/part-{self.batch_id}-{i:05d}.parquet"
            path = where.fs_path("tables", table, *name.split("/"))
            where.filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
            data = piece.select(stored)  # typed as the table by the caller
            _step(_write_file, data, path, where.filesystem)
            info = where.filesystem.get_file_info(path)
            actions.append(AddAction(name, info.size, {"network": network},
                                     int(datetime.now(UTC).timestamp() * 1000), True,
                                     _stats(data)))
        _commit_files(uri, pl.DataFrame(schema=table_schema(table)).to_arrow().schema,
                      actions, ["network"], self._properties(table, rows))
        self._committed(table)

    def merge_stream(self, table: str, data: pa.RecordBatchReader, rows: int,
                     key: list[str]) -> None:
        """Insert or replace rows streamed in batches (a batch that changes stored rows)."""
        if rows:
            self._merge(table, data, rows, key)

    def upsert(self, table: str, df: pl.DataFrame, key: list[str]) -> int:
        """Upsert ``df`` by ``key`` in one Delta commit; return how many keys existed.

        Rows with new keys only (a daily batch, mostly) are appended: no existing file is
        read or rewritten. Rows re-sent unchanged are dropped. Only when a batch changes
        existing rows is it a MERGE, which rewrites the files holding those keys."""
        if df.height == 0:
            return 0
        if self.versions.get(table) is None:
            self.append(table, df)
            return 0
        old = self.lake.scan(table)
        if "network" in key:  # partition pruning: only the networks in the batch
            old = old.filter(pl.col("network").is_in(df["network"].unique().to_list()))
        # the stored keys the batch repeats (hashing the batch's keys, streaming the table's)
        hits = old.select(key).join(df.lazy().select(key), on=key, how="semi").collect()
        if hits.height == 0:
            self.append(table, df)
            return 0
        seen = df.join(hits, on=key, how="semi")
        stored = old.join(hits.lazy(), on=key, how="semi").collect()
        same = seen.join(stored, on=df.columns, how="semi", nulls_equal=True)
        changed = seen.join(same.select(key), on=key, how="anti")
        fresh = df.join(seen.select(key), on=key, how="anti")
        if changed.height == 0:
            self.append(table, fresh)
            return seen.height
        source = pl.concat([changed, fresh])
        self._merge(table, source.to_arrow(), source.height, key)
        return seen.height

    def add_quarantine(self, table: str, df: pl.DataFrame) -> None:
        _step(self.lake.write_file, df, "quarantine", table, f"{self.batch_id}.parquet")

    def add_quarantine_parts(self, table: str, parts: list[Path]) -> None:
        """One quarantine file from parts staged on local disk, batch by batch."""
        if parts:
            _step(self.lake.write_parts, parts, "quarantine", table,
                  f"{self.batch_id}.parquet")

    def add_raw(self, files: list[Path], root: Path | None) -> None:
        where = self.lake.location
        for f in files:
            rel = f.relative_to(root) if root and f.is_relative_to(root) else Path(f.name)
            target = where.fs_path("raw", self.batch_id, *rel.parts)
            where.filesystem.create_dir(target.rsplit("/", 1)[0], recursive=True)
            _step(_copy_to, f, where, target)

    def add_raw_frame(self, name: str, df: pl.DataFrame) -> None:
        _step(self.lake.write_file, df, "raw", self.batch_id, f"{name}.parquet")

    def totals(self) -> dict[str, Any]:
        """Rows per table and network after this load, from the Delta logs' file stats."""
        out: dict[str, Any] = {}
        for table, version in sorted(self.versions.items()):
            actions = _add_actions(DeltaTable(self.lake.table_uri(table), version=version))
            if actions.height == 0:
                continue
            net = (pl.col("partition.network") if "partition.network" in actions.columns
                   else pl.lit("-"))
            per = (actions.group_by(net.alias("network")).agg(pl.col("num_records").sum())
                   .sort("network"))
            out[table] = {"rows": int(per["num_records"].sum()),
                          "networks": dict(per.iter_rows())}
        return out

    def finish(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append the load's row to ``_loads``: from here on, readers see this load."""
        entry = entry | {"format_version": FORMAT_VERSION, "versions": self.versions,
                         "totals": self.totals()}
        # built by Polars, written as a file of its own and committed: pyarrow building
        # a table from Python lists imports pandas, 0.2 s of a daily load
        row = pl.DataFrame({
            "batch_id": [self.batch_id],
            "loaded_at": [entry.get("loaded_at") or datetime.now(UTC).isoformat()],
            "format_version": [FORMAT_VERSION], "entry": [json.dumps(entry, default=str)]},
            schema={"batch_id": pl.String, "loaded_at": pl.String,
                    "format_version": pl.Int32, "entry": pl.String}
        )
        where, name = self.lake.location, f"part-{self.batch_id}.parquet"
        path = where.fs_path(LOADS, name)
        _step(_write_file, row, path, where.filesystem)
        add = AddAction(name, where.filesystem.get_file_info(path).size, {},
                        int(datetime.now(UTC).timestamp() * 1000), True, _stats(row))
        _commit_files(where.delta(LOADS), _LOADS_SCHEMA, [add], [], CommitProperties(
            custom_metadata={"reach.batch_id": self.batch_id}))
        return entry


def _commit_files(uri: str, schema: pa.Schema, actions: list, partition_by: list[str],
                  properties: CommitProperties) -> None:
    """Files already written, added to a Delta table in one append commit."""
    try:
        dt = DeltaTable(uri)
    except TableNotFoundError:
        _step(create_table_with_add_actions, uri, DeltaSchema.from_arrow(schema), actions,
              mode="append", partition_by=partition_by, commit_properties=properties)
    else:
        _step(dt.create_write_transaction, actions, "append", DeltaSchema.from_arrow(schema),
              partition_by=partition_by, commit_properties=properties)


def _stats(df: pl.DataFrame) -> str:
    """A Delta file's statistics: its row count, and the range of each integer column
    (what readers prune files by)."""
    ints = [c for c, t in df.schema.items() if t.is_integer()]
    lo = df.select(pl.col(ints).min()).row(0, named=True) if ints else {}
    hi = df.select(pl.col(ints).max()).row(0, named=True) if ints else {}
    nulls = df.select(pl.all().null_count()).row(0, named=True)
    return json.dumps({"numRecords": df.height, "minValues": lo, "maxValues": hi,
                       "nullCount": nulls})


def _add_actions(dt: DeltaTable) -> pl.DataFrame:
    """The table's files and their stats (through the Arrow stream: no pandas import)."""
    return pl.from_arrow(pa.RecordBatchReader.from_stream(
        dt.get_add_actions(flatten=True)).read_all())


def _rows(dt: DeltaTable) -> int:
    actions = _add_actions(dt)
    return int(actions["num_records"].sum()) if actions.height else 0


def _copy_to(src: Path, where: Location, target: str) -> None:
    if where.local:  # the kernel copies (sendfile / copy_file_range): no bytes through Python
        shutil.copyfile(src, target)
        return
    with open(src, "rb") as fh, where.filesystem.open_output_stream(target) as out:
        while chunk := fh.read(1 << 22):
            out.write(chunk)
