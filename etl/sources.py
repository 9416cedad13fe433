"""Which reader handles a SOURCE: from ``--format``, else from the folder's layout."""

from __future__ import annotations

from pathlib import Path

from reach.errors import UsageError

from .readers.base import Extract
from .readers.canonical import looks_canonical, read_folder
from .readers.database import looks_like_url, read_database
from .readers.snap import looks_like_snap, read_snap
from .readers.twitter1516 import looks_like_twitter1516, read_twitter1516

FORMATS = ("canonical", "twitter15_16", "snap")


def detect_format(path: Path) -> str:
    if path.is_file():
        if looks_like_snap(path):
            return "snap"
        raise UsageError(f"{path}: a single file is read only as a SNAP edge list (*.txt, "
                         "*.txt.gz); for canonical tables pass the folder that holds them")
    if looks_canonical(path):
        return "canonical"
    if looks_like_twitter1516(path):
        return "twitter15_16"
    if looks_like_snap(path):
        return "snap"
    raise UsageError(
        f"{path}: cannot tell the format from the folder's layout. Expected table files "
        "(posts.csv, follows.parquet, ...), a Twitter15/16 folder (<set>/tree/*.txt), or SNAP "
        "edge lists (*.txt.gz); or name it with --format canonical|twitter15_16|snap")


def extract(source: str, *, fmt: str | None = None, network: str | None = None,
            undirected: bool = False, queries: Path | None = None,
            db_schema: str | None = None, progress=None) -> Extract:
    if looks_like_url(source):
        return read_database(source, queries=queries, schema=db_schema, progress=progress)
    if queries is not None or db_schema is not None:
        raise UsageError("--queries and --db-schema are for database sources (a URL such as "
                         "postgresql://user@host/db)")
    path = Path(source)
    if not path.exists():
        raise UsageError(f"source {source} does not exist")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise UsageError(f"--format '{fmt}' must be one of {', '.join(FORMATS)}")
    if fmt == "canonical":
        if not path.is_dir():
            raise UsageError(f"{path}: canonical sources are folders of table files")
        return read_folder(path)
    if fmt == "twitter15_16":
        return read_twitter1516(path, network=network)
    return read_snap(path, network=network, undirected=True if undirected else None)
