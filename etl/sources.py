"""Which reader handles a SOURCE: from ``--format``, else from the files themselves."""

from __future__ import annotations

from pathlib import Path

from reach.errors import UsageError

from .readers.base import Extract
from .readers.bluesky import looks_like_bluesky, read_bluesky
from .readers.canonical import looks_canonical, read_folder
from .readers.database import looks_like_url, read_database
from .readers.jsonlines import SUFFIXES as JSON_SUFFIXES
from .readers.jsonlines import json_files
from .readers.snap import looks_like_snap, read_snap
from .readers.suite import looks_like_export, read_export, resolve_mapping
from .readers.twarc import looks_like_twarc, read_twarc
from .readers.twitter1516 import looks_like_twitter1516, read_twitter1516

#: every format `reach etl` reads, with what it is (shown by `reach etl --help`)
FORMATS = {
    "canonical": "a folder of table files (posts.csv, follows.parquet, ...)",
    "x_api": "X API v2 JSON lines as twarc2 saves them (raw pages or flattened)",
    "bluesky": "Bluesky AppView responses as JSON lines (`reach collect bluesky`)",
    "suite": "a social-suite export, CSV or XLSX, read through --mapping",
    "twitter15_16": "Twitter15/16 propagation trees (<set>/tree/*.txt)",
    "snap": "a SNAP edge list (*.txt, *.txt.gz): a follower graph",
}


def _json_format(path: Path) -> str | None:
    if looks_like_bluesky(path):
        return "bluesky"
    if looks_like_twarc(path):
        return "x_api"
    return None


def detect_format(path: Path) -> str:
    if path.is_file():
        name = path.name.lower()
        if name.endswith(JSON_SUFFIXES) and (fmt := _json_format(path)):
            return fmt
        if looks_like_export(path):
            return "suite"
        if looks_like_snap(path):
            return "snap"
        raise UsageError(
            f"{path}: cannot tell the format of this file. A single file is read as X API "
            "or Bluesky JSON lines (*.jsonl), a social-suite export (*.csv, *.xlsx) or a SNAP "
            "edge list (*.txt, *.txt.gz); for canonical tables pass the folder that holds "
            "them, or name the format with --format")
    if looks_canonical(path):
        return "canonical"
    if looks_like_twitter1516(path):
        return "twitter15_16"
    if json_files(path) and (fmt := _json_format(path)):
        return fmt
    if looks_like_snap(path):
        return "snap"
    raise UsageError(
        f"{path}: cannot tell the format from the folder's files. Expected table files "
        "(posts.csv, follows.parquet, ...), X API or Bluesky JSON lines (*.jsonl), a "
        "Twitter15/16 folder (<set>/tree/*.txt), or SNAP edge lists (*.txt.gz); or name it "
        f"with --format {'|'.join(FORMATS)}")


def extract(source: str, *, fmt: str | None = None, network: str | None = None,
            undirected: bool = False, queries: Path | None = None,
            db_schema: str | None = None, mapping: str | None = None,
            campaign_rule: Path | None = None, progress=None) -> Extract:
    ext = _extract(source, fmt=fmt, network=network, undirected=undirected, queries=queries,
                   db_schema=db_schema, mapping=mapping, progress=progress)
    if campaign_rule is not None:
        from .campaign_rules import apply_campaign_rules
        apply_campaign_rules(ext, campaign_rule)
    return ext


def _extract(source: str, *, fmt, network, undirected, queries, db_schema, mapping,
             progress) -> Extract:
    if looks_like_url(source):
        return read_database(source, queries=queries, schema=db_schema, progress=progress)
    if queries is not None or db_schema is not None:
        raise UsageError("--queries and --db-schema are for database sources (a URL such as "
                         "postgresql://user@host/db)")
    path = Path(source)
    if not path.exists():
        raise UsageError(f"source {source} does not exist")
    if mapping is not None and fmt in (None, "suite"):
        fmt = "suite"
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise UsageError(f"--format '{fmt}' must be one of {', '.join(FORMATS)}")
    if mapping is not None and fmt != "suite":
        raise UsageError("--mapping is for social-suite exports (--format suite)")
    if fmt == "canonical":
        if not path.is_dir():
            raise UsageError(f"{path}: canonical sources are folders of table files")
        return read_folder(path)
    if fmt == "x_api":
        return read_twarc(path, network=network)
    if fmt == "bluesky":
        return read_bluesky(path, network=network)
    if fmt == "suite":
        if not path.is_file():
            raise UsageError(f"{path}: a social-suite export is one CSV or XLSX file")
        return read_export(path, resolve_mapping(mapping) if mapping else None,
                           network=network)
    if fmt == "twitter15_16":
        return read_twitter1516(path, network=network)
    return read_snap(path, network=network, undirected=True if undirected else None)
