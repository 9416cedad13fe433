"""The Spark engine: reach, two_hop, cascades, amplifiers and timeline on a cluster.

Mirrors the Polars engine step for step, in SQL kept in ``sql/spark/`` (one file per
step, registered as temporary views in this order): exposures → reached → reach counts →
reach cells → the cross-network rows; cascade parents → cascade links → the tree and its
ancestor pairs (the only DataFrame code: breadth-first joins, one level per round) →
cascades, shares triggered → amplifiers; timeline; two_hop. A change to a
definition touches ``reach/<module>.py`` and its SQL file here the same way; a test proves
the two engines give the same rows.

Callers pass a SparkSession and the lake's tables as Spark DataFrames; results come back
as Polars frames with the Polars engine's schemas (marts are small: per campaign ×
network). Lists shorter than their account's followers_count are estimated as the Polars
engine does (method ``sampled``, ``reach.engine.spark_sampled``). ``approx=True`` counts distinct reach with Spark's HyperLogLog++
(approx_count_distinct), ``method = "hll"``, ``rel_error`` ≈ 2 × rsd.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import polars as pl

from reach.audience.distinct import with_estimates
from reach.engine import spark_sampled
from reach.engine.registry import MARTS
from reach.resources import resource

TABLES = ("posts", "shares", "follows", "accounts", "_account_keys")


def sql(name: str, **params) -> str:
    text = (resource("sql", "spark") / f"{name}.sql").read_text()
    return text.format(**params) if params else text


def session(master: str | None = None, conf: dict[str, str] | None = None, app: str = "reach"):
    """A SparkSession: ``master`` (e.g. local[2], spark://host:7077, yarn) and any conf."""
    from pyspark.sql import SparkSession
    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    defaults = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false"}
    from pyspark import SparkConf
    effective = master or SparkConf().get("spark.master", None)  # spark-submit sets it
    if effective is None or effective.startswith("local"):
        # one machine: a few shuffle partitions per core, not the cluster default of 200,
        # and the driver listens on loopback only
        defaults["spark.sql.shuffle.partitions"] = str(2 * (os.cpu_count() or 1))
        defaults["spark.driver.bindAddress"] = defaults["spark.driver.host"] = "127.0.0.1"
    for k, v in (defaults | (conf or {})).items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


def read_lake(spark, lake) -> dict:
    """The lake's tables as of its last load (``lake`` is an ``etl.lake.Lake``).

    delta-rs lists each table's current Parquet files and Spark reads exactly those (no
    Delta jars needed), ``network`` from the partition folders, kept as text."""
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    out = {}
    for t in TABLES:
        files = [_hadoop(f) for f in lake.files(t)]
        if files:
            out[t] = (spark.read.option("basePath", _hadoop(lake.table_uri(t)))
                      .parquet(*files))
        else:
            out[t] = spark.createDataFrame(lake.read(t).to_arrow())
    return out


def _modelled(spark) -> dict:
    """Inputs of the graph-less cells' estimate from counts (`modelled`), as the Polars
    engine gathers them: only those networks' campaign posts, their shares and accounts
    reach the driver."""
    from reach.audience.distinct import accounts_by_network, reported_counts
    from reach.audience.modelled import modelled_inputs
    nets = [r[0] for r in spark.sql(
        "SELECT DISTINCT network FROM posts WHERE campaign_id IS NOT NULL AND network NOT IN "
        "(SELECT network FROM graph_networks)").collect()]
    if not nets:
        return {}
    where = "network IN ({})".format(", ".join(f"'{n}'" for n in nets))

    def frame(query: str, schema: dict) -> pl.LazyFrame:
        return _polars(spark.sql(query), schema).lazy()
    s, i = pl.String, pl.Int64
    posts = frame(f"SELECT network, post_id, campaign_id, account_key, reach FROM posts "
                  f"WHERE campaign_id IS NOT NULL AND {where}",
                  {"network": s, "post_id": s, "campaign_id": s, "account_key": i, "reach": i})
    shares = frame(f"SELECT network, post_id, sharer_key FROM shares WHERE {where}",
                   {"network": s, "post_id": s, "sharer_key": i})
    accounts = frame(f"SELECT network, account_key, followers_count FROM accounts "
                     f"WHERE {where}", {"network": s, "account_key": i, "followers_count": i})
    sizes = dict(spark.sql(f"SELECT network, max(account_key) + 1 FROM account_keys WHERE "
                           f"{where} GROUP BY network").collect())
    return modelled_inputs(posts, shares, nets, reported_counts(
        accounts_by_network(accounts, sizes, ("account_key", "followers_count")), sizes))


def _hadoop(uri: str) -> str:
    """Hadoop's name for a store: s3a:// (delta-rs says s3://)."""
    return "s3a://" + uri[5:] if uri.startswith("s3://") else uri


def compute_spark(spark, tables: dict, *, approx: bool = False, rsd: float = 0.01,
                  progress: Callable[[str], None] | None = None) -> dict[str, pl.DataFrame]:
    say = progress or (lambda _m: None)
    for name, df in tables.items():
        df.createOrReplaceTempView(name.lstrip("_"))
    view = _viewer(spark)
    view("in_degree", "SELECT network, followee_key, count(*) AS in_degree FROM follows "
                      "GROUP BY network, followee_key")
    view("graph_networks", "SELECT DISTINCT network FROM follows")
    say("spark: exposures and reached people")
    view("exposures", sql("exposures"), cache=True)
    view("reached", sql("reached"), cache=True)
    view("reach_counts", sql("reach_counts_approx", rsd=rsd) if approx else sql("reach_counts"))
    say("spark: reach")
    view("reach_cells", sql("reach_cells"), cache=True)
    cells = spark.sql("SELECT * FROM reach_cells")
    all_rows = spark.sql(sql("reach_all"))
    # lists shorter than their account's followers_count: estimated as the Polars engine does
    view("partial_lists", sql("partial_lists"), cache=True)
    partial = spark.sql("SELECT count(*) FROM partial_lists").collect()[0][0] > 0
    if partial:
        say("spark: estimates from partial follower lists")
    found, lists = (spark_sampled.estimates(spark, spark_sampled.CELLS) if partial
                    else ({}, None))
    # people can overlap across networks only where a person has several accounts
    linked = spark.sql("SELECT count(*) FROM (SELECT person_id FROM accounts WHERE "
                       "person_id IS NOT NULL GROUP BY person_id HAVING count(*) > 1)"
                       ).collect()[0][0] > 0
    out = {"reach": with_estimates(
        _polars(cells.unionByName(all_rows), MARTS["reach"].schema).sort(
            "campaign_id", pl.col("network") == "all", "network"),
        linked, sampled=spark_sampled.by_cell(found), modelled=_modelled(spark))}
    say("spark: cascades and amplifiers")
    view("cascade_parents", sql("cascade_parents"))
    tree, pairs = _cascade_tree(spark)
    view("cascade_tree", tree, cache=True)
    view("cascade_pairs", pairs, cache=True)
    view("triggered", sql("shares_triggered"))
    cascade_found = (spark_sampled.estimates(spark, spark_sampled.CASCADES)[0] if partial
                     else {})
    out["cascades"] = spark_sampled.cascades(
        _polars(spark.sql(sql("cascades")), MARTS["cascades"].schema), cascade_found).sort(
        "network", "post_id")
    out["amplifiers"] = spark_sampled.amplifiers(
        _polars(spark.sql(sql("amplifiers")), MARTS["amplifiers"].schema), found, lists).sort(
        "campaign_id", "network", "rank")
    say("spark: timeline")
    out["timeline"] = spark_sampled.timeline(
        _polars(spark.sql(sql("timeline")), MARTS["timeline"].schema), found).sort(
        "campaign_id", "network", "bucket_start")
    say("spark: two-hop audiences")
    out["two_hop"] = _polars(spark.sql(sql("two_hop")), MARTS["two_hop"].schema).sort(
        "network", "account_id")
    return out


def _viewer(spark):
    def view(name: str, query, cache: bool = False):
        df = spark.sql(query) if isinstance(query, str) else query
        if cache:
            df = df.cache()
        df.createOrReplaceTempView(name)
        return df
    return view


def _cascade_tree(spark) -> tuple:
    """(tree, pairs): every share with its parent, depth and whether its edge was rebuilt;
    every share with each node above it, the root included.

    Breadth-first from the roots, one level per round, so it ends after the deepest level
    whatever the data. Shares that no chain from the root reaches (a cycle among given
    parents, or below one) hang from the root and count as rebuilt, as in build_forest.
    """
    from pyspark.sql import functions as F
    links = spark.sql(sql("cascade_links")).localCheckpoint()
    keep = ["network", "post_id", "node", "node_key", "t", "parent", "reconstructed"]
    # Each level is materialised and cut from its lineage (localCheckpoint), so the plans
    # stay one level deep however deep the cascades go.
    level = links.where(F.col("parent").isNull()).withColumn("depth", F.lit(1))
    level = level.localCheckpoint()
    pairs_ = level.select("network", "post_id", F.col("node").alias("d"),
                          F.col("node_key").alias("d_key"),
                          F.col("post_id").alias("a")).localCheckpoint()
    levels, pairs = [level], [pairs_]
    depth = 1
    while True:
        depth += 1
        up = level.select("network", "post_id", F.col("node").alias("parent"))
        level = links.join(up, ["network", "post_id", "parent"]).select(
            *keep, F.lit(depth).alias("depth")).localCheckpoint()
        if level.isEmpty():
            break
        above = pairs_.select("network", "post_id", F.col("d").alias("parent"), "a")
        pairs_ = (level.select("network", "post_id", F.col("node").alias("d"),
                               F.col("node_key").alias("d_key"), F.col("parent").alias("a"))
                  .unionByName(level.join(above, ["network", "post_id", "parent"]).select(
                      "network", "post_id", F.col("node").alias("d"),
                      F.col("node_key").alias("d_key"), "a"))).localCheckpoint()
        levels.append(level)
        pairs.append(pairs_)
    tree = _union(levels).select(*keep, "depth")
    cut = (links.join(tree.select("network", "post_id", "node"),
                      ["network", "post_id", "node"], "left_anti")
           .select("network", "post_id", "node", "node_key", "t",
                   F.lit(None).cast("string").alias("parent"),
                   F.lit(True).alias("reconstructed"), F.lit(1).alias("depth")))
    cut_pairs = cut.select("network", "post_id", F.col("node").alias("d"),
                           F.col("node_key").alias("d_key"), F.col("post_id").alias("a"))
    return tree.unionByName(cut), _union(pairs).unionByName(cut_pairs)


def _union(frames: list):
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def _polars(df, schema: dict) -> pl.DataFrame:
    """Collect a (small) Spark result into a Polars frame with the Polars engine's schema."""
    rows = [tuple(r) for r in df.select(*schema).collect()]
    out = pl.DataFrame(rows, schema=list(schema), orient="row", infer_schema_length=None)
    casts = []
    for c, t in schema.items():
        col = pl.col(c)
        if isinstance(t, pl.Datetime) and out.schema[c] != t:
            col = (col.dt.replace_time_zone("UTC") if out.schema[c] == pl.Datetime("us")
                   else col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        casts.append(col.cast(t).alias(c))
    return out.select(casts) if out.height else pl.DataFrame(schema=schema)
