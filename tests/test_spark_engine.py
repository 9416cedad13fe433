"""The Spark engine (local mode) gives the Polars engine's rows, on generated edge cases
and on the sample; its approximate path stays within the error it reports."""

from __future__ import annotations

import os
import shutil

import polars as pl
import pytest

from reach.engine.registry import MARTS, SPARK_MARTS

from .conftest import load_and_compute, write_marts
from .gen import make_tables, write

KEYS = {m: list(MARTS[m].key) for m in SPARK_MARTS}  # each mart's natural key


@pytest.fixture(scope="module")
def spark():
    try:
        import pyspark  # noqa: F401
        missing = None if shutil.which("java") else "java"
    except ImportError:
        missing = "pyspark"
    if missing:
        if os.environ.get("REACH_REQUIRE_SPARK"):
            pytest.fail(f"{missing} is missing; `make setup` and `make system-deps` install it")
        pytest.skip(f"{missing} not installed")
    from reach.engine.spark import session
    s = session("local[2]", {"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
                             "spark.driver.memory": "2g"})
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def assert_same(spark_marts: dict, polars_marts: dict) -> None:
    for mart, keys in KEYS.items():
        a = spark_marts[mart].sort(keys)
        b = polars_marts[mart].select(a.columns).sort(keys)
        assert a.height == b.height, mart
        for c in a.columns:
            if a[c].dtype.is_float():
                assert (a[c].is_null() == b[c].is_null()).all(), (mart, c)
                diff = (a[c] - b[c]).abs().fill_null(0)
                assert (diff <= 1e-9 * b[c].abs().fill_null(1).clip(1)).all(), (mart, c)
            else:
                assert a[c].equals(b[c]), (mart, c, a.filter(a[c].ne_missing(b[c])).head(3))


def _spark_marts(spark, lake, **kw):
    from etl.lake import Lake
    from reach.engine.spark import compute_spark, read_lake
    return compute_spark(spark, read_lake(spark, Lake.open(lake)), **kw)


@pytest.mark.parametrize("seed", [0, 3])
def test_spark_equals_polars_on_edge_cases(spark, tmp_path, seed):
    """Cycles in the graph, a network without follows, persons across networks, sharers who
    share twice, shares with unknown parents (reconstructed)."""
    lake = tmp_path / "lake"
    polars_marts = load_and_compute(write(make_tables(seed), tmp_path / "src"), lake)
    assert_same(_spark_marts(spark, lake), polars_marts)


@pytest.mark.parametrize("seed", [1, 4])
def test_spark_estimates_partial_lists_as_polars_does(spark, tmp_path, seed):
    """A third of one network's accounts report more followers than their lists hold: both
    engines estimate the same cells (reach, cascades, amplifiers, timeline: `sampled`) with
    the same numbers, label two_hop `listed_only`, and agree row for row elsewhere."""
    lake = tmp_path / "lake"
    polars_marts = load_and_compute(write(make_tables(seed, partial=True), tmp_path / "src"),
                                    lake)
    assert (polars_marts["reach"]["method"] == "sampled").sum() >= 2
    assert (polars_marts["cascades"]["reach_method"] == "sampled").any()
    assert (polars_marts["amplifiers"]["method"] == "sampled").any()
    assert (polars_marts["timeline"]["method"] == "sampled").any()
    assert (polars_marts["two_hop"]["method"] == "listed_only").any()
    assert_same(_spark_marts(spark, lake), polars_marts)


def test_spark_equals_polars_when_given_parents_form_a_cycle(spark, tmp_path):
    """Two shares naming each other as parent (same second, so the loader accepts them) and
    a share below them: no chain reaches the root, so both engines hang them from it."""
    tables = make_tables(2)
    by_post: dict[str, list[dict]] = {}
    for row in tables["shares"]:
        by_post.setdefault(row["post_id"], []).append(row)
    post, rows = next((p, rows) for p, rows in by_post.items() if len(rows) >= 3)
    # the three latest shares: moving b back to a's time keeps every other row valid
    a, b, c = sorted(rows, key=lambda r: r["created_at"])[-3:]
    a["parent_id"], b["parent_id"], c["parent_id"] = b["share_id"], a["share_id"], a["share_id"]
    b["created_at"] = a["created_at"]
    lake = tmp_path / "lake"
    polars_marts = load_and_compute(write(tables, tmp_path / "src"), lake)
    cascade = polars_marts["cascades"].filter(pl.col("post_id") == post).row(0, named=True)
    assert cascade["size"] == len(by_post[post]) and cascade["reconstructed_edges"] >= 3
    assert_same(_spark_marts(spark, lake), polars_marts)


def test_spark_equals_polars_on_the_sample(spark, sample_lake):
    lake, polars_marts = sample_lake
    assert_same(_spark_marts(spark, lake), polars_marts)


def test_spark_approximate_reach_within_its_error(spark, sample_lake):
    lake, polars_marts = sample_lake
    approx = _spark_marts(spark, lake, approx=True, rsd=0.02)["reach"]
    exact = polars_marts["reach"].filter(pl.col("method") == "exact",
                                         pl.col("network") != "all")
    got = approx.join(exact.select("campaign_id", "network", pl.col("total_reach").alias("t")),
                      on=["campaign_id", "network"])
    assert got.height and (got["method"] == "hll").all()
    assert ((got["rel_error"] - 0.04).abs() < 1e-12).all()
    big = got.filter(pl.col("t") >= 100)
    rel = ((big["total_reach"] - big["t"]).abs() / big["t"])
    assert (rel <= 2 * big["rel_error"]).all(), rel.max()  # 4 sd: never expected to miss


def test_cli_engine_spark_writes_the_marts(spark, tmp_path):
    from reach_cli.main import main
    lake = tmp_path / "lake"
    polars_marts = load_and_compute(write(make_tables(1), tmp_path / "src"), lake)
    write_marts(lake, polars_marts)
    (lake / "marts" / "reach.parquet").unlink()
    assert main(["compute", "--lake", str(lake), "--engine", "spark", "--spark-master",
                 "local[2]", "--spark-conf", "spark.sql.shuffle.partitions=4"]) == 0
    got = pl.read_parquet(lake / "marts" / "reach.parquet")
    assert got.sort(KEYS["reach"]).equals(polars_marts["reach"].sort(KEYS["reach"]))
    assert main(["compute", "--lake", str(lake), "--engine", "spark", "--spark-conf",
                 "no-equals-sign"]) == 2
