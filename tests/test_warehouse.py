"""Publishing marts to SQLite and PostgreSQL; the analyst queries; reading from databases."""

from __future__ import annotations

import shutil
from datetime import UTC

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from etl.lake import Lake
from etl.warehouse import MARTS, analyst_queries, analyst_query, metadata, publish, read_marts
from reach.engine.privacy import suppress
from reach.errors import ReachError


def _read_back(url: str, mart: str, schema: pl.Schema) -> pl.DataFrame:
    table = metadata({mart: schema}).tables[f"mart_{mart}"]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table)).all()
    engine.dispose()
    df = pl.DataFrame([tuple(r) for r in rows], schema=list(schema), orient="row",
                      infer_schema_length=None)
    out = []
    for c, t in schema.items():
        col = df[c]
        if isinstance(t, pl.Datetime):
            naive = not isinstance(col.dtype, pl.Datetime) or col.dtype.time_zone is None
            col = (col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC") if naive  # SQLite
                   else col.dt.convert_time_zone("UTC"))
        out.append(col.cast(t))
    return pl.DataFrame(out)


def _sorted(df: pl.DataFrame, mart: str) -> pl.DataFrame:
    return df.sort(list(MARTS[mart].key))


def test_publish_round_trips_every_mart(sample_lake, db_url):
    lake, _ = sample_lake
    counts = publish(lake, db_url)
    # what is published is the mart under the default privacy threshold
    marts = {m: suppress(MARTS[m], df) for m, df in read_marts(Lake.open(lake)).items()}
    assert set(MARTS) <= set(marts)
    assert marts["amplifiers"]["suppressed"].drop_nulls().len() > 0
    for mart, df in marts.items():
        assert counts[f"mart_{mart}"] == df.height
        back = _read_back(db_url, mart, df.schema)
        assert_frame_equal(_sorted(back, mart), _sorted(df, mart), check_exact=False,
                           rel_tol=1e-12)


def test_publish_without_threshold_keeps_every_value(sample_lake, tmp_path):
    lake, marts = sample_lake
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    publish(lake, url, min_people=0)
    back = _read_back(url, "amplifiers", pl.Schema(MARTS["amplifiers"].schema
                                                   | {"suppressed": pl.String}))
    assert back["suppressed"].null_count() == back.height
    assert_frame_equal(_sorted(back.drop("suppressed"), "amplifiers"),
                       _sorted(marts["amplifiers"], "amplifiers"))


def _snapshot(url: str) -> dict[str, list]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {f"mart_{m}": sorted(map(tuple, conn.execute(sa.text(
            f"SELECT * FROM mart_{m}")).all()), key=repr) for m in MARTS}
        out["log"] = conn.execute(sa.text("SELECT count(*) FROM reach_publish_log")).scalar()
    engine.dispose()
    return out


def test_publishing_twice_leaves_the_same_rows(sample_lake, db_url):
    lake, _ = sample_lake
    publish(lake, db_url)
    first = _snapshot(db_url)
    publish(lake, db_url)
    second = _snapshot(db_url)
    assert first.pop("log") == 1 and second.pop("log") == 2
    assert first == second


def test_a_warehouse_of_an_older_reach_gains_the_new_columns(sample_lake, db_url):
    """mart_uplift as reach published it before the placebo columns: publishing adds them."""
    lake, _ = sample_lake
    publish(lake, db_url)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE mart_uplift")
        conn.exec_driver_sql("CREATE TABLE mart_uplift (campaign_id VARCHAR, network VARCHAR, "
                             "method VARCHAR, uplift DOUBLE PRECISION, warning VARCHAR)")
    publish(lake, db_url)
    with engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("mart_uplift")}
        rows = conn.exec_driver_sql("SELECT count(*) FROM mart_uplift "
                                    "WHERE calibration IS NOT NULL").scalar()
    engine.dispose()
    assert {"placebo_rate", "calibration_sd", "adjustment"} <= cols
    assert rows > 0


def test_a_newer_lake_replaces_its_campaigns_rows(sample_lake, db_url, tmp_path):
    lake, _ = sample_lake
    publish(lake, db_url)
    newer = tmp_path / "newer"
    shutil.copytree(lake, newer, symlinks=True)
    reach = pl.read_parquet(newer / "marts" / "reach.parquet")
    target = reach["campaign_id"][0]
    reach = reach.with_columns(pl.when(pl.col("campaign_id") == target)
                               .then(pl.col("posts") + 1000).otherwise("posts").alias("posts"))
    amp = pl.read_parquet(newer / "marts" / "amplifiers.parquet")
    dropped = amp.filter(pl.col("campaign_id") == target).row(0, named=True)
    amp = amp.filter(~((pl.col("campaign_id") == target)
                       & (pl.col("account_id") == dropped["account_id"])
                       & (pl.col("network") == dropped["network"])))
    reach.write_parquet(newer / "marts" / "reach.parquet")
    amp.write_parquet(newer / "marts" / "amplifiers.parquet")
    publish(newer, db_url)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        posts = dict(conn.execute(sa.text(
            "SELECT network, posts FROM mart_reach WHERE campaign_id = :c"), {"c": target}).all())
        n_amp = conn.execute(sa.text("SELECT count(*) FROM mart_amplifiers")).scalar()
    engine.dispose()
    want = dict(reach.filter(pl.col("campaign_id") == target).select("network", "posts").rows())
    assert posts == want
    assert n_amp == amp.height


def test_a_reader_never_sees_half_a_publish(sample_lake, db_url):
    lake, _ = sample_lake
    publish(lake, db_url)
    reader = sa.create_engine(db_url)
    with reader.connect() as conn:
        before = _state(conn)
    seen = []

    def look(table: str) -> None:  # called inside the publishing transaction
        with reader.connect() as conn:
            seen.append(_state(conn))
    publish(lake, db_url, between_tables=look)
    with reader.connect() as conn:
        after = _state(conn)
    reader.dispose()
    assert len(seen) == len(MARTS)
    assert all(s == before for s in seen)  # old rows, complete, all through the publish
    assert after[0] == before[0] and after[1] == before[1] + 1


def _state(conn) -> tuple:
    return (conn.execute(sa.text("SELECT count(*), sum(total_reach) FROM mart_reach")).one()[:],
            conn.execute(sa.text("SELECT count(*) FROM reach_publish_log")).scalar())


def test_analyst_queries_agree_with_the_marts(sample_lake, db_url):
    lake, marts = sample_lake
    publish(lake, db_url, min_people=0)  # the queries' logic, on every value
    assert set(analyst_queries()) == {"campaign_comparison", "top_amplifiers", "reach_funnel"}
    reach, amp = marts["reach"], marts["amplifiers"]
    campaign = reach.filter(pl.col("network") == "all").sort(
        "total_reach", descending=True)["campaign_id"][0]
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        comparison = conn.execute(analyst_query("campaign_comparison")).all()
        top = conn.execute(analyst_query("top_amplifiers"),
                           {"campaign_id": campaign, "max_rank": 3}).all()
        funnel = conn.execute(analyst_query("reach_funnel"), {"campaign_id": campaign}).all()
    engine.dispose()
    want = (reach.filter(pl.col("network") == "all")
            .sort(pl.col("total_reach").is_null(), pl.col("total_reach"), "campaign_id",
                  descending=[False, True, False]))
    assert [r[0] for r in comparison] == want["campaign_id"].to_list()
    assert [r[5] for r in comparison] == want["total_reach"].to_list()
    want_top = amp.filter(pl.col("campaign_id") == campaign, pl.col("rank") <= 3).sort(
        "network", "rank")
    assert [(r[0], r[1], r[6]) for r in top] == want_top.select(
        "network", "account_id", "rank").rows()
    assert [r[3] for r in top] == pytest.approx(want_top["shapley_reach"].to_list())
    f = reach.filter(pl.col("campaign_id") == campaign)
    assert {r[0]: (r[1], r[2], r[4]) for r in funnel} == {
        r[0]: r[1:] for r in f.select("network", "potential_reach", "total_reach",
                                      "second_degree_reach").rows()}
    for r in funnel:
        if r[2]:
            assert r[5] == pytest.approx(r[4] / r[2])


def test_credentials_are_never_printed(sample_lake, capsys):
    lake, _ = sample_lake
    url = "postgresql+psycopg://reach:hunter2-S3CRET@127.0.0.1:1/nowhere"
    with pytest.raises(ReachError) as err:
        publish(lake, url)
    assert "hunter2-S3CRET" not in str(err.value)
    assert "***" in str(err.value)
    from reach_cli.main import main
    assert main(["publish", "--lake", str(lake), "--db", url]) == 1
    captured = capsys.readouterr()
    assert "hunter2-S3CRET" not in captured.out + captured.err


HOSTILE = ["o'brien", 'quote"d', "semi;colon", "'; DROP TABLE mart_reach; --",
           "ünïcödé 📣 キャンペーン", "back\\slash", "percent %s %(x)s"]


def test_hostile_names_come_back_intact(tmp_path, db_url):
    from .conftest import load_and_compute, write_marts
    from .gen import make_tables, write
    tables = make_tables(2)
    rename = {f"c{i}": name for i, name in enumerate(HOSTILE[:3])}
    for c in tables["campaigns"]:
        c["name"] = HOSTILE[3 + int(c["campaign_id"][1:]) % 4]
        c["campaign_id"] = rename[c["campaign_id"]]
    for p in tables["posts"]:
        if p["campaign_id"]:
            p["campaign_id"] = rename[p["campaign_id"]]
    lake = tmp_path / "lake"
    write_marts(lake, load_and_compute(write(tables, tmp_path / "src"), lake))
    publish(lake, db_url)
    publish(lake, db_url)  # the deletes bind the hostile ids too
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT campaign_id, name FROM dim_campaigns")).all())
        ids = {r[0] for r in conn.execute(sa.text("SELECT campaign_id FROM mart_reach")).all()}
        rows = conn.execute(analyst_query("reach_funnel"), {"campaign_id": HOSTILE[3 - 3]}).all()
    engine.dispose()
    assert names == {c["campaign_id"]: c["name"] for c in tables["campaigns"]}
    assert ids == {p["campaign_id"] for p in tables["posts"] if p["campaign_id"]}
    assert rows  # found by a bound parameter holding a quote


def test_timestamps_keep_utc(sample_lake, db_url):
    lake, marts = sample_lake
    publish(lake, db_url)
    back = _read_back(db_url, "cascades", marts["cascades"].schema)
    first = back.drop_nulls("first_share_at")["first_share_at"][0]
    assert first.tzinfo is not None and first.utcoffset() == UTC.utcoffset(None)


def test_every_mart_is_built_with_its_registered_schema(sample_lake):
    _, marts = sample_lake
    assert [m for m in marts if m != "sketches"] == list(MARTS)
    for name, df in marts.items():
        if name != "sketches":
            assert df.schema == pl.Schema(MARTS[name].schema), name


def test_ddl_files_match_the_registry_and_the_docs():
    """sql/warehouse.*.sql are generated from the registry's schemas and docs/marts.md."""
    from etl.warehouse import DIALECTS, column_docs, ddl, ddl_path, registry_schemas
    schemas = registry_schemas()
    docs = column_docs()
    for mart, m in MARTS.items():
        assert set(m.schema) == set(docs[mart]), f"docs/marts.md and mart {mart} differ"
    md = metadata(schemas)
    for dialect in DIALECTS:
        assert ddl_path(dialect).read_text() == ddl(md, dialect), (
            f"{ddl_path(dialect)} is stale: run `python -m etl.warehouse`")


# ---- reading canonical tables from a database -------------------------------------------

def _to_database(tables: dict[str, list[dict]], url: str, rename: dict | None = None) -> None:
    """Create the canonical tables in a database (timestamps as real timestamps)."""
    engine = sa.create_engine(url)
    md = sa.MetaData()
    with engine.begin() as conn:
        for name, rows in tables.items():
            df = pl.DataFrame(rows, infer_schema_length=None)
            for c in ("created_at", "converted_at", "start_at", "end_at"):
                if c in df.columns:
                    df = df.with_columns(pl.col(c).str.to_datetime(time_zone="UTC"))
            cols = {c: (rename or {}).get(f"{name}.{c}", c) for c in df.columns}
            types = {pl.String: sa.Text(), pl.Int64: sa.BigInteger(), pl.Float64: sa.Double(),
                     pl.Boolean: sa.Boolean()}
            t = sa.Table((rename or {}).get(name, name), md, *[
                sa.Column(cols[c], sa.DateTime(timezone=True) if isinstance(dt, pl.Datetime)
                          else types.get(dt, sa.Text())) for c, dt in df.schema.items()])
            t.create(conn)
            conn.execute(t.insert(), [{cols[k]: v for k, v in r.items()} for r in df.to_dicts()])
    engine.dispose()


def _lake_rows(lake, table: str) -> list[tuple]:
    from etl.lake import Lake
    from reach.schema import TABLES
    df = Lake.open(lake).read(table).select(TABLES[table].names)
    return sorted(df.rows(), key=repr)


def test_etl_reads_a_database_like_files(tmp_path, db_url):
    from etl.load import load
    from etl.sources import extract

    from .gen import make_tables, write
    tables = make_tables(5)
    tables["follows"].append({"network": "x", "follower_id": "x01", "followee_id": "x01"})
    _to_database(tables, db_url)
    files_lake, db_lake = tmp_path / "from_files", tmp_path / "from_db"
    load(extract(str(write(tables, tmp_path / "src"))), files_lake)
    report = load(extract(db_url), db_lake)
    for table in ("campaigns", "accounts", "follows", "posts", "shares", "conversions"):
        assert _lake_rows(db_lake, table) == _lake_rows(files_lake, table), table
    # the self-follow is quarantined, named by the source and its row
    q = pl.read_parquet(db_lake / "quarantine" / "follows" / "*.parquet")
    assert q.height == 1
    assert q["file"][0].endswith("#follows") and "reach@" not in q["file"][0].split("//")[0]
    assert q["line"][0] == len(tables["follows"])
    assert report.counts["follows"].quarantined == 1
    again = load(extract(db_url), db_lake)
    assert again.skipped  # the same rows again: nothing changes


def test_etl_reads_a_database_through_queries(tmp_path):
    from etl.load import load
    from etl.sources import extract

    from .gen import make_tables
    tables = make_tables(6)
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    _to_database(tables, url, rename={"posts": "social_posts", "posts.account_id": "author"})
    queries = tmp_path / "tables.sql"
    queries.write_text("-- table: posts\nSELECT network, post_id, author AS account_id, "
                       "created_at, campaign_id, likes, sentiment FROM social_posts;\n"
                       "-- table: follows\nSELECT * FROM follows\n"
                       "-- table: campaigns\nSELECT * FROM campaigns\n")
    lake = tmp_path / "lake"
    load(extract(url, queries=queries), lake)
    assert len(_lake_rows(lake, "posts")) == len(tables["posts"])
    assert len(_lake_rows(lake, "follows")) == len(tables["follows"])


def test_database_source_errors_are_clear(tmp_path):
    from etl.sources import extract
    from reach.errors import TableError, UsageError
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    with pytest.raises(TableError, match="none of the canonical tables"):
        extract(empty)
    bad = tmp_path / "q.sql"
    bad.write_text("-- table: tweets\nSELECT 1\n")
    with pytest.raises(UsageError, match="not a canonical table"):
        extract(empty, queries=bad)
    with pytest.raises(TableError) as err:
        extract("postgresql+psycopg://me:pa55-w0rd-XYZ@127.0.0.1:1/db")
    assert "pa55-w0rd-XYZ" not in str(err.value)
