"""JSON-lines files as platform collectors write them: one JSON document per line.

Shared by the X API (twarc2) and Bluesky readers: which files a source holds, and each
file's documents with their line numbers, read one line at a time (memory holds what the
reader keeps of a line, never the file's text). A line that is not a JSON object (a
collector killed mid-write leaves a truncated last line) is skipped with a warning that
names file, line and rule, and counted in the load report.
"""

from __future__ import annotations

import gc
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

import orjson

from .base import gunzip

SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz")
#: at most this many unreadable lines are named one by one; the rest are counted
NAMED_MAX = 5


def json_files(path: Path) -> list[Path]:
    """The JSON-lines files of a source: the file itself, or a folder's files (recursive)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
                  and p.name.lower().endswith(SUFFIXES))


def first_document(path: Path) -> dict | None:
    """The first JSON object of the first file, or None (for format recognition)."""
    for f in json_files(path)[:3]:
        try:
            opener = gzip.open if f.name.lower().endswith(".gz") else open
            with opener(f, "rb") as fh:
                for raw in fh:
                    if raw.strip():
                        doc = orjson.loads(raw)
                        return doc if isinstance(doc, dict) else None
        except (OSError, EOFError, orjson.JSONDecodeError, UnicodeDecodeError):
            return None
    return None


class Documents:
    """Iterate (file name, line number, document) over files; remember what was skipped."""

    def __init__(self, files: list[Path], root: Path):
        self.files, self.root = files, root
        self.skipped = 0
        self.warnings: list[str] = []

    def name(self, f: Path) -> str:
        return f.relative_to(self.root).as_posix() if f.is_relative_to(self.root) else f.name

    def __iter__(self) -> Iterator[tuple[str, int, dict]]:
        # Readers keep millions of small objects: the cyclic collector would rescan them
        # all again and again (superlinear time) and finds no cycles in parsed JSON.
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield from self._documents()
        finally:
            if enabled:
                gc.enable()

    def _documents(self) -> Iterator[tuple[str, int, dict]]:
        for f in self.files:
            rel = self.name(f)
            gz = f.name.lower().endswith(".gz")
            with io.BytesIO(gunzip(f, rel)) if gz else open(f, "rb") as fh:  # noqa: SIM115
                for number, raw in enumerate(fh, start=1):
                    if not raw.strip():
                        continue
                    try:
                        doc = orjson.loads(raw)
                    except orjson.JSONDecodeError as exc:
                        self._skip(rel, number, f"not valid JSON ({exc.msg}; truncated?)")
                        continue
                    if not isinstance(doc, dict):
                        self._skip(rel, number, f"a JSON {type(doc).__name__}, not an object")
                        continue
                    yield rel, number, doc

    def _skip(self, rel: str, number: int, why: str) -> None:
        self.skipped += 1
        if self.skipped <= NAMED_MAX:
            self.warnings.append(f"{rel} line {number}: {why}; the line was skipped "
                                 "(rule: json-line)")
        elif self.skipped == NAMED_MAX + 1:
            self.warnings.append("more unreadable lines were skipped; the load report counts "
                                 "them all (rule: json-line)")
