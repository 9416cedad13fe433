"""sql/reach_mart.sql (DuckDB) and the engine give the same reach mart."""

from __future__ import annotations

from pathlib import Path

import polars as pl

SQL = Path(__file__).resolve().parents[1] / "sql" / "reach_mart.sql"


def duckdb_reach(lake: Path) -> pl.DataFrame:
    import duckdb
    t = lake / "tables"
    query = SQL.read_text().format(posts=t / "posts" / "*" / "*.parquet",
                                   shares=t / "shares" / "*" / "*.parquet",
                                   follows=t / "follows" / "*" / "*.parquet")
    return duckdb.sql(query).pl()


def test_sql_and_engine_agree(sample_lake):
    lake, marts = sample_lake
    got = duckdb_reach(lake.resolve())
    ours = (marts["reach"].filter(pl.col("network") != "all", pl.col("method") == "exact")
            .select("campaign_id", "network", "first_degree_reach", "total_reach"))
    joined = ours.join(got, on=["campaign_id", "network"], how="full", suffix="_sql")
    assert joined.height == ours.height > 0
    assert (joined["first_degree_reach"] == joined["first_degree_reach_sql"]).all()
    assert (joined["total_reach"] == joined["total_reach_sql"]).all()
