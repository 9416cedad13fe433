"""The lake on disk: layout, atomic snapshots, the manifest.

Layout (README.md, "The lake")::

    LAKE/tables/<table>/network=<n>/part-0.parquet   canonical tables, dense keys beside ids
    LAKE/quarantine/<table>/<batch>.parquet          rejected rows with a `reason`
    LAKE/raw/<batch>/...                             inputs as received
    LAKE/manifest.json                               loads, row counts, hashes
    LAKE/marts/<mart>.parquet                        written by `reach compute`

How a load stays atomic: ``tables``, ``quarantine``, ``raw`` and ``manifest.json`` are
symlinks through ``.snapshots/current``, which points at one complete snapshot
directory. A load builds the next snapshot beside it (unchanged files are hard links,
so this costs almost nothing), then swaps ``current`` with one ``rename``. A load
killed at any point leaves ``current`` on the previous, complete snapshot; leftovers
are swept at the next load.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl

from reach.errors import LakeError
from reach.schema import TABLES

LINKED = ("tables", "quarantine", "raw", "manifest.json")
FORMAT_VERSION = 1
KEYS_TABLE = "_account_keys"
ROW_GROUP_ROWS = 256 * 1024


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_parquet_atomic(df: pl.DataFrame, path: Path, **kwargs: Any) -> None:
    """Write next to ``path`` and rename over it: readers never see half a file.

    Renaming also matters for hard-linked snapshots: the old inode (still part of the
    previous snapshot) is never written to.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.write_parquet(tmp, compression="zstd", statistics=True,
                     row_group_size=ROW_GROUP_ROWS, **kwargs)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Lake:
    """A reach lake folder."""

    def __init__(self, root: Path):
        self.root = Path(root)

    # -- opening ----------------------------------------------------------------------
    @property
    def snapshots(self) -> Path:
        return self.root / ".snapshots"

    @property
    def current(self) -> Path:
        return self.snapshots / "current"

    def exists(self) -> bool:
        return self.current.exists()

    @classmethod
    def open(cls, root: Path, *, create: bool = False) -> Lake:
        lake = cls(root)
        if lake.exists():
            lake._check_version()
            lake._link_top_level()
            return lake
        if not create:
            hint = ("it does not exist" if not lake.root.exists()
                    else "it has no .snapshots/current, so nothing was loaded into it")
            raise LakeError(f"{root} is not a reach lake: {hint}. "
                            f"Load data first: reach etl SOURCE --lake {root}")
        if lake.root.exists() and any(p.name not in (".snapshots", "marts", ".lock")
                                      for p in lake.root.iterdir()):
            raise LakeError(f"{root} exists and is not empty, and is not a reach lake; "
                            "choose a new or empty folder for --lake")
        snap = Snapshot.begin(lake)
        snap.commit({"format_version": FORMAT_VERSION, "loads": []})
        return lake

    def _check_version(self) -> None:
        version = self.manifest().get("format_version")
        if version != FORMAT_VERSION:
            raise LakeError(f"{self.root} was written by lake format {version}; this reach "
                            f"reads format {FORMAT_VERSION}. Rebuild the lake with reach etl.")

    def _link_top_level(self) -> None:
        for name in LINKED:
            link = self.root / name
            if not link.is_symlink():
                if link.exists():
                    raise LakeError(f"{link} should be a link into .snapshots/current; "
                                    "it was replaced by hand. Move it away and run again.")
                tmp = self.root / f".{name}.link"
                if tmp.is_symlink():
                    tmp.unlink()
                tmp.symlink_to(Path(".snapshots") / "current" / name)
                os.replace(tmp, link)

    # -- reading ----------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.current / "manifest.json").read_text())

    @property
    def tables_dir(self) -> Path:
        return self.current / "tables"

    @property
    def marts_dir(self) -> Path:
        return self.root / "marts"

    def table_files(self, table: str) -> list[Path]:
        return sorted((self.tables_dir / table).glob("**/*.parquet"))

    def networks(self, table: str) -> list[str]:
        base = self.tables_dir / table
        if not base.is_dir():
            return []
        return sorted(p.name.split("=", 1)[1] for p in base.glob("network=*") if p.is_dir())

    def scan(self, table: str) -> pl.LazyFrame:
        """The table as a LazyFrame, ``network`` restored from the partition path."""
        files = self.table_files(table)
        if not files:
            return empty_table(table)
        partitioned = table not in TABLES or TABLES[table].partitioned
        if not partitioned:
            return pl.scan_parquet(files)
        return pl.scan_parquet(self.tables_dir / table / "**" / "*.parquet",
                               hive_partitioning=True, hive_schema={"network": pl.String})

    def read(self, table: str) -> pl.DataFrame:
        return self.scan(table).collect()


def empty_table(table: str) -> pl.LazyFrame:
    if table == KEYS_TABLE:
        return pl.LazyFrame(schema={"account_id": pl.String, "account_key": pl.Int32,
                                    "network": pl.String})
    spec = TABLES[table]
    schema: dict[str, pl.DataType] = dict(spec.schema)
    for key_col in spec.account_keys.values():
        schema[key_col] = pl.Int32()
    return pl.LazyFrame(schema=schema)


class Snapshot:
    """The next state of the lake, built beside the current one."""

    def __init__(self, lake: Lake, path: Path):
        self.lake, self.path = lake, path

    @classmethod
    def begin(cls, lake: Lake) -> Snapshot:
        lake.snapshots.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
        path = lake.snapshots / f"{name}.tmp"
        if lake.current.exists():
            shutil.copytree(lake.current.resolve(), path, copy_function=os.link,
                            symlinks=True)
        else:
            path.mkdir()
            for name_ in ("tables", "quarantine", "raw"):
                (path / name_).mkdir()
        return cls(lake, path)

    def partition_path(self, table: str, network: str | None) -> Path:
        base = self.path / "tables" / table
        return (base / f"network={network}" if network is not None else base) / "part-0.parquet"

    def write_partition(self, table: str, network: str | None, df: pl.DataFrame) -> None:
        write_parquet_atomic(df, self.partition_path(table, network))

    def add_quarantine(self, table: str, batch_id: str, df: pl.DataFrame) -> Path:
        path = self.path / "quarantine" / table / f"{batch_id}.parquet"
        write_parquet_atomic(df, path)
        return path

    def add_raw(self, batch_id: str, files: list[Path], root: Path | None) -> None:
        dest = self.path / "raw" / batch_id
        for f in files:
            rel = f.relative_to(root) if root and f.is_relative_to(root) else Path(f.name)
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)

    def add_raw_frame(self, batch_id: str, name: str, df: pl.DataFrame) -> None:
        write_parquet_atomic(df, self.path / "raw" / batch_id / f"{name}.parquet")

    def commit(self, manifest: dict[str, Any]) -> None:
        """Write the manifest, then make this snapshot current with one rename."""
        mpath = self.path / "manifest.json"
        tmp = mpath.with_name(".manifest.json.tmp")
        if mpath.exists():
            mpath.unlink()  # it is a hard link into the previous snapshot
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False, default=str))
        os.replace(tmp, mpath)
        final = self.path.with_name(self.path.name.removesuffix(".tmp"))
        os.replace(self.path, final)
        _fsync_dir(self.lake.snapshots)
        previous = self.lake.current.resolve() if self.lake.current.exists() else None
        link = self.lake.snapshots / "current.new"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(final.name)
        os.replace(link, self.lake.current)  # the commit point
        _fsync_dir(self.lake.snapshots)
        self.path = final
        self.lake._link_top_level()
        self._sweep(keep={final.name, previous.name if previous else ""})

    def abandon(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def _sweep(self, keep: set[str]) -> None:
        """Remove snapshots older than the previous one, and leftovers of killed loads."""
        for p in self.lake.snapshots.iterdir():
            if p.name in keep or p.name == "current" or p.is_symlink():
                continue
            shutil.rmtree(p, ignore_errors=True)
