"""A large table file read in bounded pieces, so memory does not grow with the file.

The follower graph is the input that outgrows memory (README.md, "Performance"): its
files are read a few tens of megabytes at a time. A CSV piece ends at a record boundary
(a newline outside quotes) and is parsed with the file's header; its rows keep their
true line numbers. A Parquet file is read a row group batch at a time.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty, Full, Queue
from typing import BinaryIO

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from .base import LimitedGzip, Piece, TablePart, line_numbers
from .csvlayout import field_counts, unreadable

#: rows per piece (memory follows rows, not bytes: a short row costs as much to check)
PIECE_ROWS = 500_000
#: bytes of CSV text read for the first piece, and the most for any
FIRST_BYTES, MAX_BYTES = 4 << 20, 64 << 20


def record_end(data: bytes) -> int:
    """Length of the longest prefix of ``data`` made of whole records: up to the last
    newline outside quotes (0 when there is none)."""
    if b'"' not in data:
        return data.rfind(b"\n") + 1
    b = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(b == 10)
    quotes_before = np.searchsorted(np.flatnonzero(b == 34), newlines)
    outside = newlines[quotes_before % 2 == 0]  # "" escapes keep the parity
    return int(outside[-1]) + 1 if outside.size else 0


def header_end(data: bytes) -> int:
    """Length of the first record (the header) of ``data``; 0 when it has no end yet."""
    i = data.find(b"\n")
    while i >= 0 and data.count(b'"', 0, i) % 2:  # a newline inside a quoted name
        i = data.find(b"\n", i + 1)
    return i + 1


def _blocks(fh: BinaryIO | LimitedGzip, size: Callable[[], int]) -> Iterator[bytes]:
    """Whole records, about ``size()`` bytes at a time."""
    carry = b""
    while block := fh.read(size()):
        data = carry + block
        cut = record_end(data)
        if cut:
            yield data[:cut]
        carry = data[cut:]
    if carry.strip():
        yield carry


def _open(path: Path, rel: str, gz: bool) -> BinaryIO | LimitedGzip:
    return LimitedGzip(path, rel) if gz else open(path, "rb")  # noqa: SIM115


def csv_header(path: Path, rel: str, gz: bool) -> pl.DataFrame:
    """The file's columns, as an empty frame (read from its first record only)."""
    with _open(path, rel, gz) as fh:
        head = next(_blocks(fh, lambda: 1 << 16), b"")
    head = head[:header_end(head)] or head
    try:
        return pl.read_csv(io.BytesIO(head), infer_schema=False, n_rows=0)
    except pl.exceptions.NoDataError:
        return pl.DataFrame()
    except Exception as exc:  # not UTF-8, or not CSV at all
        raise unreadable(rel, exc, head) from None


def csv_pieces(path: Path, rel: str, gz: bool, names: list[str], keep: list[str]
               ) -> Iterator[Piece]:
    """The rows after the header, piece by piece, in the columns ``keep`` (lower-cased
    names: the table's columns the file has); ``names``: the header as
    :func:`csv_header` read it."""
    schema = dict.fromkeys(names, pl.String)
    header: bytes | None = None
    line = 2  # of the piece's first record
    size = [FIRST_BYTES]  # then sized to PIECE_ROWS rows of the bytes per row seen
    with _open(path, rel, gz) as fh:
        for block in _blocks(fh, lambda: size[0]):
            if header is None:
                cut = header_end(block) or len(block)
                header, block = block[:cut], block[cut:]
                line = header.count(b"\n") + 1
                if not block.strip():
                    continue
            try:
                raw = pl.read_csv(io.BytesIO(block), has_header=False, schema=schema,
                                  truncate_ragged_lines=True)
            except Exception as exc:
                raise unreadable(rel, exc, block, near=line) from None
            newlines = block.count(b"\n") + (not block.endswith(b"\n"))
            reason = None
            if newlines != raw.height or b'"' in block:
                # quoted fields may span lines, blank lines are skipped: count exactly
                lines, reason = field_counts(header + block, raw, 2)
                lines = lines + (line - 2)
            else:  # one record per line
                lines = line_numbers(raw.height, line)
            line += newlines
            if raw.height:
                size[0] = min(MAX_BYTES, max(1 << 20, len(block) * PIECE_ROWS // raw.height))
            raw = raw.rename({c: c.strip().lower() for c in raw.columns})
            yield Piece(raw.select(keep), lines, reason)


def parquet_pieces(path: Path, keep: list[str]) -> Iterator[Piece]:
    """The file's rows, a batch at a time, numbered from 1."""
    pf = pq.ParquetFile(path)
    wanted = [c for c in pf.schema_arrow.names if c.strip().lower() in keep]
    row = 1
    for batch in pf.iter_batches(batch_size=PIECE_ROWS, columns=wanted):
        raw = pl.from_arrow(batch)
        raw = raw.rename({c: c.strip().lower() for c in raw.columns})
        yield Piece(raw, line_numbers(raw.height, row))
        row += raw.height


def read_ahead(items: Iterator, depth: int = 1) -> Iterator:
    """``items`` produced on another thread, at most ``depth`` ahead of the consumer: the
    reading and parsing of one piece overlap the checking of the one before (Polars and
    file reads release the GIL). The producer's error is raised here, in order; a
    consumer that stops early stops the producer."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put((item, None), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put((done, exc))

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, error = queue.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting to put
            try:
                queue.get_nowait()
            except Empty:
                worker.join(0.05)


def part_pieces(part: TablePart) -> Iterator[Piece]:
    """A part's rows in pieces of PIECE_ROWS: read from its file when it is streamed (the
    next piece read and parsed while the caller checks this one), else sliced from the
    rows a reader already holds."""
    if part.stream is not None:
        yield from read_ahead(part.stream())
        return
    for start in range(0, part.raw.height, PIECE_ROWS):
        yield Piece(part.raw.slice(start, PIECE_ROWS), part.lines.slice(start, PIECE_ROWS),
                    None if part.reader_reason is None
                    else part.reader_reason.slice(start, PIECE_ROWS),
                    None if part.files is None else part.files.slice(start, PIECE_ROWS))
