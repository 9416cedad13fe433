"""Canonical tables straight from a database (any SQLAlchemy URL).

By table name (the canonical names, in ``schema`` if given), or by queries from a file:

    -- table: posts
    SELECT network, post_id, author AS account_id, ... FROM social.posts;
    -- table: follows
    SELECT ...

Rows stream in chunks (server-side cursors where the driver has them) and then go
through the same validation, quarantine and manifest as files. A rejected row is named
by the source (URL without password, table) and its row number in the result.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from etl import dburl
from etl.dburl import safe_url
from reach.errors import TableError, UsageError
from reach.schema import TABLES

from .base import Extract, TablePart, conform, line_numbers

CHUNK = 50_000


def looks_like_url(source: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+]*://", source))


def read_queries(path: Path) -> dict[str, str]:
    """``-- table: NAME`` sections of a .sql file -> {table: query}."""
    if not path.exists():
        raise UsageError(f"--queries {path} does not exist")
    out: dict[str, str] = {}
    current = None
    for line in path.read_text().splitlines():
        head = re.match(r"^\s*--\s*table:\s*(\w+)\s*$", line)
        if head:
            current = head.group(1)
            if current not in TABLES:
                raise UsageError(f"{path}: `-- table: {current}` is not a canonical table "
                                 f"({', '.join(TABLES)})")
            out[current] = ""
        elif current:
            out[current] += line + "\n"
    out = {t: q.strip().rstrip(";").strip() for t, q in out.items() if q.strip()}
    if not out:
        raise UsageError(f"{path}: no `-- table: NAME` sections with a query")
    return out


def read_database(url: str, *, queries: Path | None = None, schema: str | None = None,
                  progress=None) -> Extract:
    shown = safe_url(url)
    engine = dburl.engine(url, shown)
    ext = Extract(fmt="database", source=shown)
    try:
        with engine.connect() as conn:
            if queries is not None:
                todo = {t: sa.text(q) for t, q in read_queries(queries).items()}
            else:
                present = set(sa.inspect(conn).get_table_names(schema=schema))
                todo = {t: sa.select(sa.text("*")).select_from(sa.table(t, schema=schema))
                        for t in TABLES if t in present}
                if not todo:
                    raise TableError(
                        f"{shown}: none of the canonical tables ({', '.join(TABLES)}) exist"
                        f"{' in schema ' + schema if schema else ''}; name them so, or pass "
                        "--queries FILE with `-- table: NAME` sections")
            for table, stmt in todo.items():
                raw = _fetch(conn, stmt, table, shown, progress)
                raw = conform(raw, table, f"{shown} {table}",
                              "Alias it in the query (e.g. SELECT author AS {col})",
                              ext.warnings)
                ext.parts.append(TablePart(table, raw, f"{shown}#{table}",
                                           line_numbers(raw.height, 1), "row"))
    except sa.exc.SQLAlchemyError as exc:
        raise TableError(dburl.failure(f"{shown}: reading failed", exc, url)) from None
    finally:
        engine.dispose()
    return ext


def _fetch(conn: sa.Connection, stmt, table: str, shown: str, progress) -> pl.DataFrame:
    """All rows of ``stmt``, fetched CHUNK at a time, as one frame with the SQL's types."""
    result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(stmt)
    names = result.keys()
    cols = [c.lower() for c in names]
    frames = []
    for rows in result.partitions(CHUNK):
        frames.append(pl.DataFrame([tuple(r) for r in rows], schema=cols, orient="row",
                                   infer_schema_length=None))
        if progress:
            progress(f"reading {table} from {shown} ({sum(f.height for f in frames):,} rows)")
    if not frames:
        return pl.DataFrame(schema=dict.fromkeys(cols, pl.String))
    return pl.concat(frames, how="diagonal_relaxed")
