"""Publish the marts to a SQL warehouse through SQLAlchemy Core.

Tables are ``mart_<name>`` (one per mart, primary key on its natural key, indexes on
campaign_id and network, a comment on every column from docs/marts.md) plus
``dim_campaigns`` and ``reach_publish_log``. Their DDL is generated from the marts'
schemas and docs into ``sql/warehouse.<dialect>.sql`` (a test keeps those files current)
and is what a publish executes.

A publish is one transaction: for marts keyed by campaign, the rows of the campaigns in
this lake are replaced; other marts are replaced whole. Readers see the old rows or the
new ones, never half. Publishing the same lake twice leaves the same rows. Rows travel
as bound parameters (COPY on PostgreSQL, executemany batches elsewhere), never spliced
into SQL. Credentials stay in the URL or the environment and are never printed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable, SetColumnComment, SetTableComment

from reach.errors import ReachError, UsageError
from reach.resources import CHECKOUT, resource
from reach.schema import MART_KEYS  # publish order and each mart's natural key

SQL_DIR = CHECKOUT / "sql"  # where `python -m etl.warehouse` writes the generated DDL

CAMPAIGNS = "dim_campaigns"
LOG = "reach_publish_log"
BATCH = 5_000
DIALECTS = ("postgresql", "sqlite")


def default_url(lake_root: Path) -> str:
    return os.environ.get("REACH_DB_URL") or f"sqlite:///{Path(lake_root).resolve()}/warehouse.sqlite"


def safe_url(url: str | sa.URL) -> str:
    """The URL as it may be shown: password hidden."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"//[^@/]*@", "//***@", str(url))


# ---- schema: from the marts' Parquet schemas and docs/marts.md ------------------------

def column_docs(text: str | None = None) -> dict[str, dict[str, str]]:
    """docs/marts.md as {mart: {column: "unit: meaning"}}."""
    if text is None:
        text = resource("docs", "marts.md").read_text()
    out: dict[str, dict[str, str]] = {}
    mart = None
    for line in text.splitlines():
        head = re.match(r"^## (\w+) —", line)
        if head:
            mart = head.group(1)
            out[mart] = {}
            continue
        row = re.match(r"^\| ([a-z_, ]+) \| (.*?) \| (.*) \|$", line)
        if mart and row and row.group(1) != "column":
            unit, meaning = row.group(2), row.group(3).replace("\\|", "|")
            doc = meaning if unit in ("—", "") else f"{meaning} [{unit}]"
            for col in row.group(1).split(","):
                out[mart][col.strip()] = doc
    return out


def _sql_type(dtype: pl.DataType) -> sa.types.TypeEngine:
    if dtype == pl.String:
        return sa.Text()
    if dtype.is_integer():
        return sa.BigInteger()
    if dtype.is_float():
        return sa.Double()
    if dtype == pl.Boolean:
        return sa.Boolean()
    if isinstance(dtype, pl.Datetime):
        return sa.DateTime(timezone=True)
    raise UsageError(f"no warehouse type for {dtype}")


CAMPAIGN_SCHEMA = {"campaign_id": pl.String, "name": pl.String,
                   "start_at": pl.Datetime("us", "UTC"), "end_at": pl.Datetime("us", "UTC"),
                   "objective": pl.String}


def metadata(schemas: dict[str, pl.Schema], docs: dict[str, dict[str, str]] | None = None
             ) -> sa.MetaData:
    """Tables for the given mart schemas, with keys, indexes and column comments."""
    docs = column_docs() if docs is None else docs
    md = sa.MetaData()
    for mart, schema in schemas.items():
        keys = MART_KEYS[mart]
        cols = [sa.Column(c, _sql_type(t), primary_key=c in keys, nullable=c not in keys,
                          comment=docs.get(mart, {}).get(c)) for c, t in schema.items()]
        t = sa.Table(f"mart_{mart}", md, *cols,
                     comment=f"reach mart `{mart}`; definitions in docs/marts.md")
        for c in ("campaign_id", "network"):
            if c in schema and keys[0] != c:
                sa.Index(f"ix_mart_{mart}_{c}", t.c[c])
    sa.Table(CAMPAIGNS, md, *[sa.Column(c, _sql_type(t), primary_key=c == "campaign_id",
                                        comment=None) for c, t in CAMPAIGN_SCHEMA.items()],
             comment="campaigns as loaded into the lake")
    sa.Table(LOG, md, sa.Column("published_at", sa.DateTime(timezone=True), primary_key=True),
             sa.Column("lake", sa.Text()), sa.Column("last_batch", sa.Text()),
             sa.Column("row_counts", sa.Text(), comment="JSON: rows per table"),
             comment="one row per publish")
    return md


def ddl(md: sa.MetaData, dialect: str) -> str:
    """CREATE TABLE / INDEX (IF NOT EXISTS) and, where supported, COMMENT statements."""
    from sqlalchemy.dialects import postgresql, sqlite
    d = {"postgresql": postgresql.dialect(), "sqlite": sqlite.dialect()}[dialect]
    parts = [f"-- reach warehouse DDL ({dialect}); generated by `python -m etl.warehouse`"
             " from the marts' schemas and docs/marts.md: do not edit by hand."]
    for t in md.sorted_tables:
        parts.append(str(CreateTable(t, if_not_exists=True).compile(dialect=d)).strip() + ";")
        for ix in sorted(t.indexes, key=lambda i: i.name):
            parts.append(str(CreateIndex(ix, if_not_exists=True).compile(dialect=d)) + ";")
        if d.supports_comments:
            if t.comment:
                parts.append(str(SetTableComment(t).compile(dialect=d)) + ";")
            for c in t.columns:
                if c.comment:
                    parts.append(str(SetColumnComment(c).compile(dialect=d)) + ";")
    return "\n\n".join(parts) + "\n"


def ddl_path(dialect: str) -> Path:
    return SQL_DIR / f"warehouse.{dialect}.sql"


def statements(sql: str) -> list[str]:
    """Split a generated DDL file into statements: ``--`` lines dropped, ``;`` inside
    quoted text kept."""
    body = "\n".join(ln for ln in sql.splitlines() if not ln.lstrip().startswith("--"))
    out, buf, quote = [], [], False
    for ch in body:
        if ch == "'":
            quote = not quote
        if ch == ";" and not quote:
            if "".join(buf).strip():
                out.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    if "".join(buf).strip():
        out.append("".join(buf).strip())
    return out


# ---- publish --------------------------------------------------------------------------

def read_marts(lake_root: Path) -> dict[str, pl.DataFrame]:
    marts_dir = Path(lake_root) / "marts"
    found = {m: pl.read_parquet(marts_dir / f"{m}.parquet") for m in MART_KEYS
             if (marts_dir / f"{m}.parquet").exists()}
    if not found:
        raise UsageError(f"{marts_dir} holds no marts; run: reach compute --lake {lake_root}")
    return found


def publish(lake_root: Path, url: str | None = None, *,
            progress: Callable[[str, int, int], None] | None = None,
            between_tables: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write every mart (and the campaigns) to ``url`` in one transaction; rows per table.

    ``progress(table, rows_done, rows_total)`` is called as rows go in;
    ``between_tables(table)`` after each table, inside the transaction (tests use it to
    look from a second connection).
    """
    from etl.lake import Lake
    lake = Lake.open(lake_root)
    url = url or default_url(lake.root)
    marts = read_marts(lake.root)
    campaigns = _campaigns(lake)
    md = metadata({m: df.schema for m, df in marts.items()})
    try:
        engine = sa.create_engine(url)
    except Exception as exc:  # bad URL: say so without echoing a password
        raise UsageError(f"--db {safe_url(url)} is not a usable SQLAlchemy URL: "
                         f"{type(exc).__name__}") from None
    dialect = engine.dialect.name
    counts: dict[str, int] = {}
    total = sum(df.height for df in marts.values()) + campaigns.height
    done = [0]

    def tick(table: str, n: int) -> None:
        done[0] += n
        if progress:
            progress(table, done[0], total)

    try:
        with engine.begin() as conn:
            _create(conn, md, dialect)
            ids = campaigns["campaign_id"].to_list()
            _replace(conn, md.tables[CAMPAIGNS], campaigns, "campaign_id", ids, tick)
            counts[CAMPAIGNS] = campaigns.height
            for mart, df in marts.items():
                table = md.tables[f"mart_{mart}"]
                by_campaign = "campaign_id" in MART_KEYS[mart]
                mart_ids = df["campaign_id"].unique().drop_nulls().to_list() if by_campaign \
                    else None
                _replace(conn, table, df, "campaign_id" if by_campaign else None, mart_ids,
                         tick)
                counts[table.name] = df.height
                if between_tables:
                    between_tables(table.name)
            manifest = lake.manifest()
            conn.execute(md.tables[LOG].insert(), [{
                "published_at": datetime.now(UTC), "lake": str(Path(lake.root).resolve()),
                "last_batch": manifest["loads"][-1]["batch_id"] if manifest["loads"] else None,
                "row_counts": json.dumps(counts)}])
    except sa.exc.SQLAlchemyError as exc:
        raise ReachError(_scrub(f"publishing to {safe_url(url)} failed: "
                                f"{str(getattr(exc, 'orig', exc)).strip()}", url)) from None
    finally:
        engine.dispose()
    return counts


def _scrub(message: str, url: str) -> str:
    try:
        password = sa.make_url(url).password
    except Exception:
        password = None
    return message.replace(password, "***") if password else message


def _campaigns(lake) -> pl.DataFrame:
    df = lake.read("campaigns") if lake.table_files("campaigns") else pl.DataFrame()
    cols = [pl.col(c).cast(t) if c in df.columns else pl.lit(None, t).alias(c)
            for c, t in CAMPAIGN_SCHEMA.items()]
    return df.select(cols) if df.height else pl.DataFrame(schema=CAMPAIGN_SCHEMA)


def _create(conn: sa.Connection, md: sa.MetaData, dialect: str) -> None:
    """Run the committed DDL file for this dialect, else DDL generated the same way."""
    path = ddl_path(dialect)
    sql = path.read_text() if path.exists() else ddl(md, dialect)
    for stmt in statements(sql):
        conn.exec_driver_sql(stmt)
    # Marts the committed DDL does not know yet (a newer engine): create them too.
    md.create_all(conn, checkfirst=True)


def _replace(conn: sa.Connection, table: sa.Table, df: pl.DataFrame, by: str | None,
             ids: list | None, tick: Callable[[str, int], None]) -> None:
    if by is None:
        conn.execute(table.delete())
    else:
        for chunk in _chunks(ids or [], 500):
            conn.execute(table.delete().where(table.c[by].in_(chunk)))
    if df.height == 0:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy(conn, table, df, tick)
        return
    for start in range(0, df.height, BATCH):
        rows = df.slice(start, BATCH).to_dicts()
        conn.execute(table.insert(), rows)
        tick(table.name, len(rows))


def _copy(conn: sa.Connection, table: sa.Table, df: pl.DataFrame,
          tick: Callable[[str, int], None]) -> None:
    """PostgreSQL COPY FROM STDIN through psycopg: values are sent as data, not SQL."""
    raw = conn.connection.driver_connection
    from psycopg import sql
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in df.columns))
    with raw.cursor() as cur, cur.copy(stmt) as copy:
        for start in range(0, df.height, BATCH):
            part = df.slice(start, BATCH)
            for row in part.iter_rows():
                copy.write_row(row)
            tick(table.name, part.height)


def _chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def analyst_queries() -> dict[str, Path]:
    return {p.stem: p for p in sorted(resource("sql", "analyst").glob("*.sql"))}


def analyst_query(name: str) -> sa.TextClause:
    """One of sql/analyst/*.sql as a statement with bound parameters (:name)."""
    queries = analyst_queries()
    if name not in queries:
        raise UsageError(f"no analyst query {name!r}; choose from {', '.join(queries)}")
    body = "\n".join(ln for ln in queries[name].read_text().splitlines()
                     if not ln.lstrip().startswith("--"))
    return sa.text(body)


def write_ddl_files(schemas: dict[str, pl.Schema]) -> list[Path]:
    md = metadata(schemas)
    out = []
    for dialect in DIALECTS:
        ddl_path(dialect).write_text(ddl(md, dialect))
        out.append(ddl_path(dialect))
    return out


def sample_schemas() -> dict[str, pl.Schema]:
    """The marts' schemas, from a tiny sample run through the pipeline."""
    import tempfile

    from etl.lake import Lake
    from etl.load import load
    from etl.sample import generate
    from etl.sources import extract
    from reach.marts import compute_marts
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "data", seed=1, scale=0.05, campaigns=2)
        load(extract(str(Path(tmp) / "data")), Path(tmp) / "lake")
        lk = Lake.open(Path(tmp) / "lake")
        tables = {t: lk.scan(t) for t in ("campaigns", "accounts", "follows", "posts",
                                           "shares", "conversions", "_account_keys")}
        marts = compute_marts(tables)
    return {m: marts[m].schema for m in MART_KEYS}


if __name__ == "__main__":
    for p in write_ddl_files(sample_schemas()):
        print(f"wrote {p}")
