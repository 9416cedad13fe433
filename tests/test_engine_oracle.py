"""Every engine mart against the brute-force oracle (tests/oracle.py) on awkward data."""

from __future__ import annotations

import math

import polars as pl
import pytest

from . import oracle
from .conftest import load_and_compute
from .gen import make_tables, write

SEEDS = range(6)


@pytest.fixture(scope="module", params=SEEDS)
def case(request, tmp_path_factory):
    tables = make_tables(request.param)
    folder = write(tables, tmp_path_factory.mktemp(f"src{request.param}"))
    marts = load_and_compute(folder, tmp_path_factory.mktemp("lake") / "lake")
    return tables, marts


def test_reach_matches_sets(case):
    tables, marts = case
    want = oracle.reach(tables)
    got = {(r["campaign_id"], r["network"]): r
           for r in marts["reach"].filter(pl.col("network") != "all").iter_rows(named=True)}
    assert set(got) == set(want)
    for key, w in want.items():
        g = got[key]
        for col, value in w.items():
            assert g[col] == value, (key, col, g[col], value)
        if "total_reach" not in w:  # no follower graph: bounded from counts, or unknown
            bounds = modelled_bounds(tables, *key)
            if bounds is None:
                assert g["total_reach"] is None and g["method"] == "no_graph"
            else:
                assert g["method"] == "modelled", key
                assert (g["total_reach_low"], g["total_reach_high"]) == bounds, key
                assert bounds[0] <= g["total_reach"] <= bounds[1]


def modelled_bounds(tables, campaign_id: str, network: str):
    """The proven bounds of a graph-less cell, from follower counts alone (these tables
    carry no posts.reach): at least the largest author audience less the other authors,
    at most every author's and every post's sharers' counts added up."""
    counts = {a["account_id"]: a["followers_count"] for a in tables["accounts"]
              if a["network"] == network}
    posts = [p for p in tables["posts"] if p["network"] == network
             and p["campaign_id"] == campaign_id]
    authors = {p["account_id"] for p in posts}
    if any(counts.get(a) is None for a in authors):
        return None
    added = 0
    for p in posts:
        sharers = {s["sharer_id"] for s in tables["shares"]
                   if s["network"] == network and s["post_id"] == p["post_id"]}
        if any(counts.get(x) is None for x in sharers):
            return None
        added += sum(counts[x] for x in sharers)
    low = max(max(counts[a] for a in authors) - (len(authors) - 1), 0)
    return low, max(sum(counts[a] for a in authors) + added, low)


def test_cross_network_reach_dedups_people(case):
    tables, marts = case
    want = oracle.reach_all(tables)
    got = {r["campaign_id"]: (r["first_degree_reach"], r["total_reach"])
           for r in marts["reach"].filter(pl.col("network") == "all").iter_rows(named=True)
           if r["method"] == "exact"}
    assert got == want


def test_amplifier_credit_is_the_shapley_value(case):
    tables, marts = case
    want = oracle.amplifiers(tables)
    got = {(r["campaign_id"], r["network"], r["account_id"]): r
           for r in marts["amplifiers"].iter_rows(named=True) if r["shapley_reach"] is not None}
    assert set(got) == set(want)
    for key, (phi, inc) in want.items():
        assert got[key]["shapley_reach"] == pytest.approx(phi, abs=1e-9), key
        assert got[key]["incremental_reach"] == inc, key


def test_credits_sum_to_total_reach(case):
    _, marts = case
    sums = marts["amplifiers"].group_by("campaign_id", "network").agg(
        pl.col("shapley_reach").sum())
    joined = sums.join(marts["reach"], on=["campaign_id", "network"])
    for r in joined.filter(pl.col("method") == "exact").iter_rows(named=True):
        assert r["shapley_reach"] == pytest.approx(r["total_reach"], abs=1e-6)


def test_shares_triggered(case):
    tables, marts = case
    want = oracle.shares_triggered(tables)
    got = {(r["campaign_id"], r["network"], r["account_id"]): r["shares_triggered"]
           for r in marts["amplifiers"].iter_rows(named=True)}
    for key, n in want.items():
        assert got.get(key, 0) == n, key
    for key, n in got.items():
        assert want.get(key, 0) == n, key


def test_cascades_match_networkx(case):
    tables, marts = case
    want = oracle.cascades(tables)
    got = {(r["network"], r["post_id"]): r for r in marts["cascades"].iter_rows(named=True)}
    assert set(got) == set(want)
    for key, w in want.items():
        g = got[key]
        for col in ("size", "depth", "max_breadth", "total_reach", "reconstructed_edges"):
            assert g[col] == w[col], (key, col, g[col], w[col])
        for col in ("structural_virality", "time_to_half_s"):
            if w[col] is None:
                assert g[col] is None, (key, col)
            else:
                assert math.isclose(g[col], w[col], rel_tol=1e-9), (key, col, g[col], w[col])


def test_timeline_ends_at_total_reach(case):
    _, marts = case
    last = marts["timeline"].group_by("campaign_id", "network").agg(
        pl.col("cumulative_reach").last(), pl.col("new_reach").sum())
    joined = last.join(marts["reach"], on=["campaign_id", "network"])
    assert joined.height > 0
    for r in joined.iter_rows(named=True):
        assert r["cumulative_reach"] == r["total_reach"] == r["new_reach"]


def test_two_hop(case):
    tables, marts = case
    for r in marts["two_hop"].iter_rows(named=True):
        if r["first_degree"] is None:
            continue
        assert (r["first_degree"], r["two_hop_audience"]) == oracle.two_hop(
            tables, (r["network"], r["account_id"]))


def _credit(marts, model: str) -> dict[str, float]:
    rows = marts["attribution"].filter(pl.col("model") == model,
                                       pl.col("channel_type") == "campaign_network",
                                       pl.col("conversions_credited") > 0)
    return dict(zip(rows["channel"], rows["conversions_credited"], strict=True))


def test_attribution_paths_match_brute_force(case):
    tables, marts = case
    assert tables["conversions"]
    assert _credit(marts, "linear") == pytest.approx(oracle.linear_credit(tables))
    first, last = oracle.first_last_credit(tables)
    # ties in time are broken by campaign id in both
    assert _credit(marts, "first_touch") == pytest.approx(first)
    assert _credit(marts, "last_touch") == pytest.approx(last)


def test_cascade_nodes_add_up_to_the_cascade_reach(case):
    tables, marts = case
    nodes, cascades = marts["cascade_nodes"], marts["cascades"]
    assert nodes.height > 0
    per = nodes.group_by("network", "post_id").agg(
        pl.col("reach_added").sum(), pl.len().alias("nodes"),
        pl.col("parent_id").null_count().alias("roots"))
    joined = per.join(cascades, on=["network", "post_id"])
    assert joined.height == per.height
    assert (joined["roots"] == 1).all()
    assert (joined["nodes"] == joined["size"] + 1).all()
    with_graph = joined.filter(pl.col("total_reach").is_not_null())
    assert (with_graph["reach_added"] == with_graph["total_reach"]).all()


def test_cascade_nodes_reach_added_matches_sets(case):
    """Each node's new people, nodes in time order; ties at one instant (a share made the
    minute its parent was) go the root first, then by node id, whatever order the
    engine's joins left the rows in."""
    tables, marts = case
    _assert_reach_added(tables, marts)


@pytest.mark.parametrize("seed", range(2))
def test_reach_added_ties_follow_node_ids_not_file_order(seed, tmp_path):
    """The same, with share ids renumbered at random: their order no longer matches the
    file's, so ties broken by row order would differ."""
    import random
    tables = make_tables(seed)
    order = list(range(len(tables["shares"])))
    random.Random(seed).shuffle(order)
    new = {s["share_id"]: f"{s['post_id']}s{order[i]:03d}"
           for i, s in enumerate(tables["shares"])}
    tables["shares"] = [s | {"share_id": new[s["share_id"]],
                             "parent_id": new.get(s["parent_id"], s["parent_id"])}
                        for s in tables["shares"]]
    marts = load_and_compute(write(tables, tmp_path / "src"), tmp_path / "lake")
    _assert_reach_added(tables, marts)


def _assert_reach_added(tables, marts) -> None:
    want = oracle.cascade_node_reach(tables)
    got = {(r["network"], r["post_id"], r["node_id"]): r["reach_added"]
           for r in marts["cascade_nodes"].iter_rows(named=True)
           if r["reach_added"] is not None}
    assert got
    assert got == {k: want[k] for k in got}


def test_frequency_matches_brute_force(case):
    tables, marts = case
    want = oracle.frequency(tables)
    freq = marts["frequency"]
    got = {(r["campaign_id"], r["network"], r["scope"]): r
           for r in freq.filter(pl.col("method") == "exact").iter_rows(named=True)}
    assert set(got) == set(want)
    for key, w in want.items():
        for col, value in w.items():
            assert got[key][col] == value, (key, col, got[key][col], value)
    assert freq.filter(pl.col("method") != "exact")["reach_1_plus"].null_count() == \
        freq.filter(pl.col("method") != "exact").height  # unknown, never invented


def test_frequency_adds_up_to_the_reach_mart(case):
    _, marts = case
    freq = marts["frequency"].filter(pl.col("method") == "exact")
    buckets = [c for c in freq.columns if c.startswith("people_")]
    assert (freq["reach_1_plus"] == freq.select(pl.sum_horizontal(buckets)).to_series()).all()
    scopes = {s: freq.filter(pl.col("scope") == s).sort("campaign_id", "network")
              for s in ("total", "first_degree", "reshares")}
    assert (scopes["total"]["opportunities"]
            == scopes["first_degree"]["opportunities"] + scopes["reshares"]["opportunities"]
            ).all()
    joined = scopes["total"].join(marts["reach"], on=["campaign_id", "network"])
    assert joined.height == scopes["total"].height > 0
    assert (joined["reach_1_plus"] == joined["total_reach"]).all()
    first = scopes["first_degree"].join(marts["reach"], on=["campaign_id", "network"])
    assert (first["reach_1_plus"] == first["first_degree_reach"]).all()


def test_weekly_reach_matches_brute_force(case):
    tables, marts = case
    want = oracle.weekly(tables)
    got = {(r["level"], r["campaign_id"], r["network"], r["week_start"]):
           (r["reach"], r["opportunities"], r["cumulative_reach"])
           for r in marts["reach_frequency_weekly"].filter(pl.col("method") == "exact")
           .iter_rows(named=True)}
    assert got == want


def test_weekly_cumulative_reach_ends_at_total_reach(case):
    _, marts = case
    last = (marts["reach_frequency_weekly"]
            .filter(pl.col("level") == "campaign", pl.col("method") == "exact")
            .sort("week_start").group_by("campaign_id", "network")
            .agg(pl.col("cumulative_reach").last()))
    joined = last.join(marts["reach"], on=["campaign_id", "network"])
    assert joined.height == last.height > 0
    assert (joined["cumulative_reach"] == joined["total_reach"]).all()


def test_potential_reach_unknown_everywhere_is_unknown_not_zero(tmp_path):
    """No follower graph and no followers_count on any network: the `all` row's potential
    reach is empty (it used to read 0), like each network's."""
    import polars as pl

    from .conftest import load_and_compute
    src = tmp_path / "src"
    src.mkdir()
    pl.DataFrame({"campaign_id": ["c1"], "name": ["Launch"]}).write_csv(src / "campaigns.csv")
    pl.DataFrame({"network": ["x", "x", "fb"], "account_id": ["a", "b", "c"]}).write_csv(
        src / "accounts.csv")
    pl.DataFrame({"network": ["x", "fb"], "post_id": ["p1", "p2"], "account_id": ["a", "c"],
                  "created_at": ["2026-01-05T10:00:00Z"] * 2, "campaign_id": ["c1", "c1"]}
                 ).write_csv(src / "posts.csv")
    pl.DataFrame({"network": ["x"], "share_id": ["s1"], "post_id": ["p1"], "sharer_id": ["b"],
                  "created_at": ["2026-01-05T11:00:00Z"], "parent_id": ["p1"]}
                 ).write_csv(src / "shares.csv")
    reach = load_and_compute(src, tmp_path / "lake")["reach"]
    assert reach["potential_reach"].null_count() == reach.height == 3
    assert reach.filter(pl.col("network") == "all")["method"].item() == "no_graph"
