"""Readers: canonical formats, and the real public data in ../shared/data."""

from __future__ import annotations

import gzip

import polars as pl
import pytest

from etl.lake import Lake
from etl.load import load
from etl.sources import detect_format, extract
from reach.errors import UsageError

from .conftest import SHARED, load_and_compute
from .gen import make_tables, write

needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data not present")


def test_mixed_formats_load_the_same_rows(tmp_path):
    tables = make_tables(5)
    csv_dir = write(tables, tmp_path / "csv")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name, rows in tables.items():
        df = pl.DataFrame(rows, infer_schema_length=None)
        if name == "posts":
            df.write_parquet(mixed / "posts.parquet")
        elif name == "shares":
            with gzip.open(mixed / "shares.ndjson.gz", "wb") as fh:
                df.write_ndjson(fh)
        elif name == "follows":
            with gzip.open(mixed / "follows.csv.gz", "wb") as fh:
                df.write_csv(fh)
        else:
            df.write_csv(mixed / f"{name}.csv")
    load(extract(str(csv_dir)), tmp_path / "a")
    load(extract(str(mixed)), tmp_path / "b")
    a, b = Lake.open(tmp_path / "a"), Lake.open(tmp_path / "b")
    for t in ("accounts", "follows", "posts", "shares"):
        x, y = a.read(t), b.read(t)
        assert x.sort(x.columns).equals(y.sort(y.columns)), t


def test_unknown_layout_is_a_usage_error(tmp_path):
    (tmp_path / "readme.md").write_text("hi")
    with pytest.raises(UsageError, match="cannot tell the format"):
        detect_format(tmp_path)


@pytest.fixture(scope="module")
def twitter(tmp_path_factory):
    lake = tmp_path_factory.mktemp("tw") / "lake"
    ext = extract(str(SHARED / "twitter15_16"))
    report = load(ext, lake)
    marts = load_and_compute(SHARED / "twitter15_16", lake)  # second load is a no-op
    return report, marts, Lake.open(lake)


@needs_shared
def test_twitter1516_loads_every_tree(twitter):
    report, _, lake = twitter
    assert detect_format(SHARED / "twitter15_16") == "twitter15_16"
    # 1,490 + 818 trees, 169 source tweets in both sets (SOURCE.md)
    assert report.counts["posts"].accepted == 1490 + 818 - 169
    assert report.repairs["trees present in both sets, read from the first"] == 169
    assert report.repairs["repeated lines dropped"] > 0
    assert report.repairs["self-loops dropped"] > 0
    assert report.repairs["negative delays clamped to the post time"] > 0
    for c in report.counts.values():
        assert c.rows_in == c.accepted + c.quarantined
    assert set(lake.read("campaigns")["campaign_id"]) == {
        f"{s}:{lab}" for s in ("twitter15", "twitter16")
        for lab in ("false", "true", "unverified", "non-rumor")}


@needs_shared
def test_twitter1516_reach_is_unknown_not_invented(twitter):
    _, marts, _ = twitter
    reach = marts["reach"]
    assert reach.height > 0
    assert reach["total_reach"].null_count() == reach.height
    assert set(reach["method"]) == {"no_graph"}


@needs_shared
def test_twitter1516_cascades_match_the_trees(twitter):
    _, marts, lake = twitter
    cas = marts["cascades"]
    assert cas.height == 2139
    assert cas["size"].sum() == lake.read("shares").height
    # a known tree: 265953285247209472.txt, the first edges fan out from the root
    one = cas.filter(pl.col("post_id") == "265953285247209472").row(0, named=True)
    assert one["root_account_id"] == "39364684"
    assert one["depth"] >= 1 and one["size"] > 0
    assert 1.0 <= one["structural_virality"] <= 2 * one["depth"]
    assert cas["reconstructed_edges"].sum() == lake.read("shares")["parent_id"].null_count()


@needs_shared
def test_snap_twitter_matches_published_counts(tmp_path):
    report = load(extract(str(SHARED / "snap_ego_twitter")), tmp_path / "lake")
    f = report.counts["follows"]
    q = pl.read_parquet(tmp_path / "lake" / "quarantine" / "follows" / "*.parquet")
    loops = q.filter(pl.col("reason").str.contains("no-self-follow"))
    # SNAP: 81,306 nodes, 1,768,149 edges including self-loops
    assert report.counts["accounts"].accepted == 81_306
    assert f.accepted + loops.unique(["follower_id", "followee_id"]).height == 1_768_149
    assert f.rows_in == f.accepted + f.quarantined


@needs_shared
def test_snap_facebook_is_undirected(tmp_path):
    report = load(extract(str(SHARED / "snap_ego_facebook")), tmp_path / "lake")
    assert report.counts["accounts"].accepted == 4_039
    assert report.counts["follows"].accepted == 2 * 88_234
    assert Lake.open(tmp_path / "lake").read("follows")["network"].unique().to_list() == [
        "facebook"]
