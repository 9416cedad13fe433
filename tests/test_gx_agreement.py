"""The loader's compiled rules and Great Expectations flag the same rows."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from etl.context import follows_context, posts_context, shares_context
from etl.rules import KEY_RULES, default_params, load_suite, row_violations

T = datetime(2026, 1, 5, tzinfo=UTC)


def gx_failing_rows(df: pl.DataFrame, table: str, params) -> set[int]:
    import great_expectations as gx
    ctx = gx.get_context(mode="ephemeral")
    batch_def = (ctx.data_sources.add_pandas("p").add_dataframe_asset(table)
                 .add_batch_definition_whole_dataframe("b"))
    doc = load_suite(table)
    suite = gx.ExpectationSuite(name=table, expectations=[
        e for e in doc["expectations"] if e["type"] not in KEY_RULES])
    batch = batch_def.get_batch(batch_parameters={"dataframe": df.to_pandas()})
    res = batch.validate(suite, expectation_parameters=params,
                         result_format={"result_format": "COMPLETE"})
    rows: set[int] = set()
    for r in res.results:
        rows |= set(r.result.get("unexpected_index_list") or [])
    return rows


def polars_failing_rows(df: pl.DataFrame, table: str, params) -> set[int]:
    reasons = row_violations(df, table, params)
    return set(reasons.is_not_null().arg_true().to_list())


def test_posts(tmp_path):
    loaded_shares = pl.DataFrame({  # a share of post 7, already in the lake, before it
        "network": ["x"], "share_id": ["s1"], "post_id": ["7"],
        "created_at": [datetime(2026, 1, 4, tzinfo=UTC)]})
    df = posts_context(pl.DataFrame({
        "network": ["x", "X", "x", "x", "x", None, "x"],
        "post_id": ["1", "2", "3", "4", "5", "6", "7"],
        "account_id": ["a", "b", None, "d", "e", "f", "g"],
        "created_at": [T, T, T, datetime(2999, 1, 1, tzinfo=UTC), T, T, T],
        "campaign_id": [None, "c1", "c1", "nope", "c1", None, None],
        "post_type": ["image"] * 7,
        "impressions": [1, 2, 3, 4, -5, 6, 7], "likes": [1] * 7,
        "comments": [0] * 7, "shares": [0] * 7, "clicks": [0] * 7,
        "reach": [-1, 2, 3, 4, 5, 6, 7],
        "sentiment": [0.5, 0.0, -1.0, 1.0, 0.2, 3.0, 0.0]}), loaded_shares)
    params = default_params(["c1"])
    want = polars_failing_rows(df, "posts", params)
    assert want == {0, 1, 2, 3, 4, 5, 6}  # 0: a negative reach
    assert gx_failing_rows(df, "posts", params) == want


def test_follows():
    df = follows_context(pl.DataFrame({
        "network": ["x", "x", "x"], "follower_id": ["a", "b", "c"],
        "followee_id": ["b", "b", None], "followed_at": [T, T, T]}))
    params = default_params()
    want = polars_failing_rows(df, "follows", params)
    assert want == {1, 2}
    assert gx_failing_rows(df, "follows", params) == want


@pytest.mark.parametrize("parent,ok", [("p1", True), (None, True), ("s1", True),
                                       ("zz", False), ("s3", False)])
def test_shares(parent, ok):
    posts = pl.DataFrame({"network": ["x", "x"], "post_id": ["p1", "p2"],
                          "created_at": [T, T]})
    shares = pl.DataFrame({
        "network": ["x"] * 3, "share_id": ["s1", "s2", "s3"], "post_id": ["p1", "p1", "p2"],
        "sharer_id": ["a", "b", "c"], "created_at": [T, T, T], "parent_id": [None, parent, None],
        "kind": ["repost", None, "quote"]}, schema_overrides={"parent_id": pl.String})
    df = shares_context(shares, posts, shares)
    params = default_params()
    want = polars_failing_rows(df, "shares", params)
    assert want == (set() if ok else {1})
    assert gx_failing_rows(df, "shares", params) == want


def test_share_kind():
    posts = pl.DataFrame({"network": ["x"], "post_id": ["p1"], "created_at": [T]})
    shares = pl.DataFrame({
        "network": ["x"] * 3, "share_id": ["s1", "s2", "s3"], "post_id": ["p1"] * 3,
        "sharer_id": ["a", "b", "c"], "created_at": [T, T, T], "parent_id": [None] * 3,
        "kind": ["repost", "retweet", "quote"]}, schema_overrides={"parent_id": pl.String})
    df = shares_context(shares, posts, shares)
    params = default_params()
    want = polars_failing_rows(df, "shares", params)
    assert want == {1}
    assert gx_failing_rows(df, "shares", params) == want
