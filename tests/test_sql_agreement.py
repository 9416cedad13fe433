"""sql/reach_mart.sql (DuckDB) and the engine give the same reach mart."""

from __future__ import annotations

from pathlib import Path

import polars as pl

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def duckdb_reach(lake: Path, name: str = "reach_mart") -> pl.DataFrame:
    import duckdb

    from etl.lake import Lake
    lk = Lake.open(lake)
    query = (SQL_DIR / f"{name}.sql").read_text().format(
        **{t: lk.files_sql(t) for t in ("posts", "shares", "follows")})
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


def test_frequency_sql_and_engine_agree(sample_lake):
    lake, marts = sample_lake
    got = duckdb_reach(lake.resolve(), "frequency_mart")
    cols = ["reach_1_plus", "reach_3_plus", "people_1", "people_2", "people_11_plus",
            "opportunities"]
    ours = (marts["frequency"].filter(pl.col("network") != "all", pl.col("method") == "exact",
                                      pl.col("scope") == "total", pl.col("reach_1_plus") > 0)
            .select("campaign_id", "network", *cols))
    joined = ours.join(got, on=["campaign_id", "network"], how="full", suffix="_sql")
    assert joined.height == ours.height > 0
    for c in cols:
        assert (joined[c] == joined[f"{c}_sql"]).all(), c
