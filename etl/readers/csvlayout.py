"""Where each CSV record starts and how many fields it has, read from the bytes.

Polars reads a CSV fast but cannot say that a row was two fields short (the missing
fields just read as empty) nor on which line a record that spans lines (a quoted field
with a newline) begins. This pass answers both, so that a short or long row is
quarantined with its true line. Files without quotes are scanned with NumPy in bounded
chunks (newlines and commas counted, no text decoded); files with quotes, rarer, go
through Python's csv module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from reach.errors import TableError

from .base import line_numbers

CHUNK = 64 << 20


def _chunks(data: bytes | io.BufferedIOBase) -> Iterator[bytes]:
    if isinstance(data, bytes):
        for i in range(0, len(data), CHUNK):
            yield data[i:i + CHUNK]
        return
    while chunk := data.read(CHUNK):
        yield chunk


def layout(source: bytes | str) -> tuple[np.ndarray, np.ndarray] | None:
    """(line, fields) of every non-blank record after the header; None when the text has
    quotes and is not valid CSV for Python either (the caller keeps its own numbering)."""
    with (io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")) as fh:
        quoted = any(b'"' in chunk for chunk in _chunks(fh))
        fh.seek(0)
        return _with_csv_module(fh) if quoted else _unquoted(fh)


def _unquoted(fh: io.BufferedIOBase) -> tuple[np.ndarray, np.ndarray]:
    lines, fields = [], []
    line_no, commas_before, length_before = 0, 0, 0  # the line that crosses a chunk
    for chunk in _chunks(fh):
        b = np.frombuffer(chunk, dtype=np.uint8)
        nl = np.flatnonzero(b == 10)
        comma_at = np.flatnonzero(b == 44)
        if nl.size:
            ends_c = np.searchsorted(comma_at, nl)  # commas before each newline
            per_line = np.diff(ends_c, prepend=0)
            per_line[0] += commas_before
            starts = np.concatenate([[0], nl[:-1] + 1])
            length = nl - starts
            length[0] += length_before
            # "\r\n" endings: a lone "\r" is a blank line too
            cr_only = (length == 1) & (b[np.maximum(nl - 1, 0)] == 13)
            blank = (length == 0) | cr_only
            numbers = line_no + 1 + np.arange(nl.size)
            lines.append(numbers[~blank])
            fields.append(per_line[~blank] + 1)
            line_no += nl.size
            commas_before = int(comma_at.size - ends_c[-1])
            length_before = int(b.size - nl[-1] - 1)
        else:
            commas_before += int(comma_at.size)
            length_before += b.size
    if length_before:  # a last line without a newline
        lines.append(np.array([line_no + 1]))
        fields.append(np.array([commas_before + 1]))
    line = np.concatenate(lines) if lines else np.empty(0, np.int64)
    count = np.concatenate(fields) if fields else np.empty(0, np.int64)
    return line[1:], count[1:]  # the first record is the header


def _with_csv_module(fh: io.BufferedIOBase) -> tuple[np.ndarray, np.ndarray] | None:
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="")
    reader = csv.reader(text)
    lines, fields, last = [], [], 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if row:
                lines.append(start)
                fields.append(len(row))
    except csv.Error:
        return None
    finally:
        text.detach()  # the caller closes the file
    return np.array(lines[1:], dtype=np.int64), np.array(fields[1:], dtype=np.int64)


def field_counts(data: Path | bytes, raw: pl.DataFrame, first: int
                 ) -> tuple[pl.Series, pl.Series | None]:
    """Each record's true line, and a reason for records with the wrong number of fields
    (polars reads a short row's missing fields as empty and cuts a long row's extras)."""
    found = layout(data if isinstance(data, bytes) else str(data))
    if found is None or found[0].size != raw.height:  # cannot tell: plain numbering
        return line_numbers(raw.height, first), None
    lines, fields = found
    header = len(raw.columns)
    wrong = pl.Series(fields != header)
    reason = None
    if wrong.any():
        reason = pl.select(pl.when(wrong).then(pl.format(
            "the row has {} fields; the header has {} (rule: field-count)",
            pl.Series(fields), pl.lit(header)))).to_series().alias("reason")
    return pl.Series("line", lines, dtype=pl.Int64), reason


SAVE_AS_UTF8 = ("Save it as UTF-8 (in Excel: CSV UTF-8; or iconv -f LATIN1 -t UTF-8) and "
                "load again.")


NEWLINE = b"\n"


def not_utf8(rel: str, data: Path | bytes, first_line: int = 1) -> str:
    """The refusal of a text that is not UTF-8, naming the line of its first bad byte
    (``data`` starts at line ``first_line`` of the file ``rel``)."""
    raw = data if isinstance(data, bytes) else data.read_bytes()
    where = ""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f" line {raw.count(NEWLINE, 0, exc.start) + first_line}"
    return (f"{rel}{where}: is not UTF-8 text (it looks like a one-byte encoding such as "
            f"Latin-1 or Windows-1252). {SAVE_AS_UTF8}")


def unreadable(rel: str, exc: Exception, data: Path | bytes | None = None, *,
               what: str = "csv", near: int | None = None) -> TableError:
    """The refusal of a file the parser could not read (or of its piece starting at line
    ``near``): not UTF-8 text, named with the line of its first bad byte; else the
    parser's own first line."""
    text = str(exc)
    if data is not None and ("utf-8" in text.lower() or "utf8" in text.lower()):
        return TableError(not_utf8(rel, data, near or 1))
    where = rel if near is None else f"{rel} near line {near}"
    fix = "Fix or remove the file" if near is None else "Fix the file"
    return TableError(f"{where}: cannot be read as {what}: {text.splitlines()[0]}. {fix} "
                      "and load again.")
