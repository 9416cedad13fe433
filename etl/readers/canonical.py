"""Canonical source folders: one file per table, as CSV, Parquet or NDJSON, gzip or not.

A file belongs to the table its name starts with (``posts.csv``, ``posts.2026-05.csv.gz``,
``shares.ndjson``); several files may feed one table and formats may be mixed.
Files whose names start with ``_`` or ``.`` are ignored on purpose (notes, truth files);
any other file that is no known table is named in a warning and left alone.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
from pathlib import Path

import polars as pl

from reach.errors import TableError
from reach.schema import TABLES

from .base import Extract, TablePart, conform, gunzip, line_numbers
from .csvlayout import SAVE_AS_UTF8, field_counts, unreadable
from .pieces import csv_header, csv_pieces, parquet_pieces

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".ndjson": "ndjson",
           ".jsonl": "ndjson", ".json": "ndjson"}


def file_format(path: Path) -> tuple[str | None, bool]:
    """(format, gzipped) from the file name, or (None, False) if it is no table file."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    return (FORMATS.get(suffixes[-1]) if suffixes else None), gz


def table_of(path: Path) -> str | None:
    stem = path.name.split(".")[0]
    return stem if stem in TABLES else None


def looks_canonical(folder: Path) -> bool:
    """Any entry named like a table file (even a broken one: read_folder says what is wrong)."""
    return any(table_of(p) and file_format(p)[0] for p in folder.iterdir())


def _read(data: Path | bytes, fmt: str) -> tuple[pl.DataFrame, int]:
    """Raw columns of one file and the line number of its first data row."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    if fmt == "csv":  # rows with too many fields are read (and quarantined: field_counts)
        return pl.read_csv(source, infer_schema=False, truncate_ragged_lines=True), 2
    if fmt == "parquet":
        return pl.read_parquet(source), 1
    return pl.read_ndjson(source, infer_schema_length=None), 1


def not_a_file(path: Path) -> str | None:
    """Why ``path`` (named like a table file) cannot be read as one, or None if it can."""
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            return "is a symbolic link that loops back on itself"
        except OSError:
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot be opened ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a pipe, socket or device)"
    return None


def _looks_utf16(path: Path, gz: bool) -> bool:
    """A UTF-16 byte-order mark, or a NUL in every other byte of the first line."""
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
        head = fh.read(4096)
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(b"\x00") > len(head) // 4


def _check_columns(raw: pl.DataFrame, header: str) -> None:
    """Column names must differ beyond case and spaces (they are lower-cased next)."""
    seen: dict[str, str] = {}
    for c in raw.columns:
        key = c.strip().lower()
        if key in seen:
            raise TableError(f"{header}: columns '{seen[key]}' and '{c}' differ only by case or "
                             "spaces, so reach cannot tell which one is meant. Rename or "
                             "remove one and load again.")
        seen[key] = c


def _columns_checked(raw: pl.DataFrame, rel: str, table: str, fmt: str,
                     warnings: list[str]) -> pl.DataFrame:
    """The file's columns as the table's: names that differ beyond case refused,
    lower-cased, an empty file named as such, then :func:`conform`."""
    where = f"{rel} line 1 (the header)" if fmt == "csv" else rel
    _check_columns(raw, where)
    raw = raw.rename({c: c.strip().lower() for c in raw.columns})
    if raw.height == 0 and not raw.columns:
        raise TableError(f"{rel}: the file is empty; a {table} file needs a header row "
                         f"with {', '.join(TABLES[table].required)}.")
    return conform(raw, table, where, "Add it, or rename the column that holds it", warnings)


def _streamed(path: Path, rel: str, fmt: str, gz: bool, warnings: list[str]) -> TablePart:
    """A follows file checked by its header now and read piece by piece at load time."""
    if fmt == "csv":
        header = csv_header(path, rel, gz)
    else:
        try:
            header = pl.DataFrame(schema=pl.read_parquet_schema(path))
        except Exception as exc:  # not Parquet, or damaged
            raise unreadable(rel, exc, what="parquet") from None
    names = header.columns  # as the file spells them
    checked = _columns_checked(header, rel, "follows", fmt, warnings)
    keep = checked.columns
    stream = ((lambda: csv_pieces(path, rel, gz, names, keep)) if fmt == "csv"
              else (lambda: parquet_pieces(path, keep)))
    return TablePart("follows", checked, rel, line_numbers(0, 1),
                     "line" if fmt == "csv" else "row", stream=stream)


def read_folder(folder: Path) -> Extract:
    ext = Extract(fmt="canonical", source=str(folder), root=folder)
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith((".", "_")) for part in path.relative_to(folder).parts):
            continue
        fmt, gz = file_format(path)
        table = table_of(path)
        if fmt and table and (why := not_a_file(path)):
            # named like a table: reading nothing here would load the batch without it
            raise TableError(f"{rel} {why}. Replace it with the {table} file (or remove it) "
                             "and load again.")
        if not path.is_file():
            continue
        if fmt is None or table is None:
            ext.warnings.append(
                f"{rel}: not a known table file, left alone (tables: {', '.join(TABLES)}; "
                f"formats: .csv, .parquet, .ndjson, optionally .gz)")
            continue
        if fmt != "parquet" and _looks_utf16(path, gz):  # reads "fine", as garbage
            raise TableError(f"{rel}: is not UTF-8 text (it looks like UTF-16, as Excel's "
                             f"'Unicode text' writes it). {SAVE_AS_UTF8}")
        if table == "follows" and fmt in ("csv", "parquet"):  # the graph: never whole
            ext.parts.append(_streamed(path, rel, fmt, gz, ext.warnings))
            ext.files.append(path)
            continue
        try:
            data = gunzip(path, rel) if gz else path
            raw, first = _read(data, fmt)
        except TableError:
            raise
        except Exception as exc:  # any parser failure is a table-level fault
            raise unreadable(rel, exc, data, what=f"{fmt}{' (gzip)' if gz else ''}") from exc
        lines, reader_reason = (line_numbers(raw.height, first), None)
        if fmt == "csv" and table != "follows":  # follows: a missing followee is caught by
            lines, reader_reason = field_counts(data, raw, first)  # its rules, and speed
        raw = _columns_checked(raw, rel, table, fmt, ext.warnings)
        ext.files.append(path)
        ext.parts.append(TablePart(table, raw, rel, lines,
                                   "line" if fmt != "parquet" else "row",
                                   reader_reason=reader_reason))
        del data
    if not ext.parts:
        raise TableError(
            f"{folder}: no table files found. Name files after their table "
            f"({', '.join(TABLES)}), e.g. posts.csv or follows.parquet.")
    return ext
