"""Reach from partial follower lists (method `sampled`): closed forms, the whole list gives
the exact answer, a simulation with known truth, and never an undercount labelled exact."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from etl.lake import Lake
from etl.load import load
from etl.sources import extract
from reach.audience.sampled import estimate_unseen
from reach.engine.marts import ComputeSpec, compute_marts

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _tables(edges: list[tuple[str, str]], counts: dict[str, int], posts, shares, net="x"):
    accounts = sorted({a for e in edges for a in e} | set(counts) | {p[1] for p in posts}
                      | {s[2] for s in shares})
    return {
        "campaigns": pl.DataFrame({"campaign_id": ["c"], "name": ["C"]}),
        "accounts": pl.DataFrame({"network": [net] * len(accounts), "account_id": accounts,
                                  "followers_count": [counts.get(a) for a in accounts]},
                                 schema_overrides={"followers_count": pl.Int64}),
        "follows": pl.DataFrame({"network": [net] * len(edges),
                                 "follower_id": [a for a, _ in edges],
                                 "followee_id": [b for _, b in edges]}),
        "posts": pl.DataFrame({"network": [net] * len(posts), "post_id": [p[0] for p in posts],
                               "account_id": [p[1] for p in posts],
                               "created_at": [T0] * len(posts), "campaign_id": ["c"] * len(posts)}),
        "shares": pl.DataFrame({"network": [net] * len(shares),
                                "share_id": [s[0] for s in shares],
                                "post_id": [s[1] for s in shares],
                                "sharer_id": [s[2] for s in shares],
                                "created_at": [T0 + timedelta(hours=1)] * len(shares)},
                               schema={"network": pl.String, "share_id": pl.String,
                                       "post_id": pl.String, "sharer_id": pl.String,
                                       "created_at": pl.Datetime("us", "UTC")}),
    }


def _marts(tmp_path, tables, only=("reach",)) -> dict[str, pl.DataFrame]:
    src = tmp_path / "src"
    src.mkdir()
    for name, df in tables.items():
        df.write_parquet(src / f"{name}.parquet")
    load(extract(str(src)), tmp_path / "lake")
    lk = Lake.open(tmp_path / "lake")
    scans = {t: lk.scan(t) for t in ("campaigns", "accounts", "follows", "posts", "shares",
                                      "conversions", "_account_keys")}
    return compute_marts(scans, spec=ComputeSpec(), only=only)


def _reach(tmp_path, tables) -> pl.DataFrame:
    return _marts(tmp_path, tables)["reach"].filter(pl.col("network") != "all")


def test_half_a_list_of_one_account_estimates_its_count(tmp_path):
    """One author lists 5 of the 10 followers it reports; nobody shares: the estimator's
    closed form (one class, pooled rate 1/2) gives exactly 10."""
    edges = [(f"u{i}", "brand") for i in range(5)]
    row = _reach(tmp_path, _tables(edges, {"brand": 10}, [("p", "brand")], [])).row(0, named=True)
    assert row["method"] == "sampled"
    assert row["first_degree_reach"] == row["total_reach"] == 10
    assert row["total_reach_low"] <= 10 <= row["total_reach_high"]
    assert row["total_reach_low"] >= 5  # never below the people seen
    assert row["listed_share"] == 0.5  # the sampling rate, which the dashboard shows
    from dashboards.pages.compare import how_obtained, why_missing
    words = how_obtained(row["method"], row["rel_error"], row["total_reach_low"],
                         row["total_reach_high"], row["listed_share"])
    assert words.startswith("estimated from 50% of followers (partial lists), 95 % ")
    # the chart, where a privacy threshold hides this estimate, does not say lists are empty
    assert why_missing(row["method"], row["listed_share"]).startswith("withheld")
    assert why_missing("sampled", 0.0).startswith("unknown")


def test_whole_lists_are_exact(tmp_path):
    edges = [("u1", "brand"), ("u2", "brand"), ("u3", "s1"), ("u1", "s1"), ("s1", "brand")]
    counts = {"brand": 3, "s1": 2}  # what the lists hold: complete
    row = _reach(tmp_path, _tables(edges, counts, [("p", "brand")], [("s", "p", "s1")])
                 ).row(0, named=True)
    assert row["method"] == "exact" and row["listed_share"] is None
    assert (row["first_degree_reach"], row["total_reach"]) == (3, 4)


def test_one_short_list_makes_the_cell_an_estimate(tmp_path):
    """A sharer reporting one follower more than it lists: the cell is never `exact`."""
    edges = [("u1", "brand"), ("u2", "brand"), ("u3", "s1"), ("s1", "brand")]
    row = _reach(tmp_path, _tables(edges, {"brand": 3, "s1": 2}, [("p", "brand")],
                                   [("s", "p", "s1")])).row(0, named=True)
    assert row["method"] == "sampled"
    assert row["first_degree_reach"] == 3  # the author's list is complete: exact part
    assert row["listed_share"] == 0.5  # of the partial lists only: s1 lists 1 of 2
    assert row["total_reach_low"] >= 4 and row["total_reach_high"] >= row["total_reach"]


@pytest.mark.parametrize("rate", [0.3, 0.5])
def test_estimator_bias_and_coverage_on_known_truth(rate):
    """People following 1, 2, 3 or 5 accounts, each membership seen with probability
    ``rate``: the estimate is unbiased to 1.5 % and its 95 % interval covers the truth in
    at least 88 % of 200 draws."""
    rng = np.random.default_rng(11)
    classes = {1: 3000, 2: 800, 3: 300, 5: 100}
    truth = sum(classes.values())
    memberships = sum(k * n for k, n in classes.items())
    errors, covered = [], 0
    for _ in range(200):
        seen = np.concatenate([rng.binomial(k, rate, size=n) for k, n in classes.items()])
        est = estimate_unseen(np.bincount(seen[seen > 0]), rate, memberships, 20)
        errors.append(est.estimate / truth - 1)
        covered += est.low <= truth <= est.high
    assert abs(np.mean(errors)) < 0.015
    assert covered / 200 >= 0.88


def test_every_seen_list_complete_is_the_exact_count():
    hist = np.array([0, 40, 7, 2])
    est = estimate_unseen(hist, 1.0, 57, 5)
    assert est.estimate == est.low == est.high == 49


def test_sampled_graph_tracks_the_exact_reach(tmp_path):
    """A random graph whose every list keeps half its followers, each account reporting
    its true count: the estimate lands near the exact reach of the whole graph."""
    rnd = random.Random(5)
    people = [f"u{i}" for i in range(3000)]
    hubs = [f"h{i}" for i in range(12)]
    full = sorted({(rnd.choice(people), h) for h in hubs for _ in range(rnd.randint(200, 600))})
    kept = [e for e in full if rnd.random() < 0.5]
    counts = {h: sum(1 for e in full if e[1] == h) for h in hubs}
    posts = [("p", "h0")]
    shares = [(f"s{i}", "p", h) for i, h in enumerate(hubs[1:])]
    marts = _marts(tmp_path, _tables(kept, counts, posts, shares),
                   only=("reach", "cascades", "amplifiers", "timeline", "frequency",
                         "reach_frequency_weekly", "two_hop"))
    row = marts["reach"].filter(pl.col("network") != "all").row(0, named=True)
    truth = len({a for a, b in full} - {"h0"})
    assert row["method"] == "sampled"
    assert abs(row["total_reach"] / truth - 1) < 0.05
    assert row["total_reach_low"] <= truth <= row["total_reach_high"]
    # the post's cascade is the same people (one post): the same estimate, per post
    cascade = marts["cascades"].row(0, named=True)
    assert cascade["reach_method"] == "sampled"
    assert (cascade["total_reach"], cascade["total_reach_low"], cascade["total_reach_high"]
            ) == (row["total_reach"], row["total_reach_low"], row["total_reach_high"])
    # amplifiers: estimated credits that sum to the estimate and track the exact ones
    amps = marts["amplifiers"]
    assert set(amps["method"]) == {"sampled"} and amps["incremental_reach"].null_count() == 12
    assert amps["shapley_reach"].sum() == pytest.approx(row["total_reach"], rel=1e-3)
    reached: dict[str, set[str]] = {}
    for person, hub in full:
        reached.setdefault(person, set()).add(hub)
    exact = {h: sum(1 / len(hs) for p, hs in reached.items() if h in hs) for h in hubs}
    got = dict(amps.select("account_id", "shapley_reach").iter_rows())
    errors = [abs(got[h] / exact[h] - 1) for h in hubs]
    assert max(errors) < 0.15, errors
    # timeline: the curve ends at the estimate
    curve = marts["timeline"]
    assert set(curve["method"]) == {"sampled"}
    assert curve["cumulative_reach"][-1] == row["total_reach"]
    assert curve["new_reach"].sum() == row["total_reach"]
    # frequency and weekly marts do not estimate, and never say exact
    cells = marts["frequency"].filter(pl.col("network") != "all")
    assert set(cells["method"]) == {"listed_only"}
    assert set(marts["frequency"].filter(pl.col("network") == "all")["method"]) == {"partial"}
    assert set(marts["reach_frequency_weekly"]["method"]) == {"listed_only"}
    assert set(marts["two_hop"]["method"]) == {"listed_only"}


def test_compute_names_the_method_on_either_engine(tmp_path):
    import os
    import re
    import shutil
    import subprocess
    import sys
    edges = [(f"u{i}", "brand") for i in range(5)]
    _reach(tmp_path, _tables(edges, {"brand": 10}, [("p", "brand")], []))
    lake = str(tmp_path / "lake")
    engines = [[]]
    if shutil.which("java") and __import__("importlib.util").util.find_spec("pyspark"):
        engines.append(["--engine", "spark", "--spark-master", "local[1]"])
    for engine in engines:
        run = subprocess.run([sys.executable, "-m", "reach_cli.main", "compute", "--lake",
                              lake, *engine], capture_output=True, text=True,
                             env={**os.environ, "COLUMNS": "200"})
        assert run.returncode == 0, run.stderr
        text = " ".join(re.sub(r"[│┃┏┓┗┛━─┡┩╇╈┼┳┻└┘┌┐]", " ", run.stdout).split())
        assert "x sampled 1" in text and "hold 50% of their followers" in text, engine
    assert len(engines) == 2 or not os.environ.get("REACH_REQUIRE_SPARK")


# -- no lists at all: method `modelled` -------------------------------------------------
def test_modelled_bounds_are_proven_and_hold_the_estimate():
    from reach.audience.modelled import modelled_reach
    # one author, one post reaching 150 (its 100 followers + 50 through reshares)
    first, total = modelled_reach(np.array([100.0]), np.array([0]), np.array([150.0]),
                                  np.array([0.0]))
    assert (first.low, first.estimate, first.high) == (100, 100, 100)  # nothing to model
    assert (total.low, total.high) == (150, 150)
    # two authors (100 and 40 followers), three posts; the third reports no reach, its
    # sharers report 30 followers between them
    first, total = modelled_reach(np.array([100.0, 40.0]), np.array([0, 0, 1]),
                                  np.array([150.0, 120.0, np.nan]), np.array([0, 0, 30.0]))
    assert (first.low, first.high) == (99, 140)  # largest less the other author; sum
    assert (total.low, total.high) == (149, 100 + 40 + 50 + 20 + 30)
    assert total.low <= total.estimate <= total.high
    assert total.estimate == pytest.approx((149 * 240) ** 0.5)
    # an unknown count: no proven bound, no estimate
    assert modelled_reach(np.array([100.0, np.nan]), np.array([0, 1]), np.array([1.0, 2.0]),
                          np.zeros(2)) is None
    assert modelled_reach(np.array([100.0]), np.array([0]), np.array([np.nan]),
                          np.array([np.nan])) is None


def test_a_network_without_lists_is_modelled_from_counts_and_post_reach(tmp_path):
    tables = _tables([], {"brand": 100, "fan": 30}, [("p1", "brand"), ("p2", "brand")],
                     [("s1", "p2", "fan")], net="instagram")
    tables["posts"] = tables["posts"].with_columns(reach=pl.Series([100, 120]))
    row = _reach(tmp_path, tables).row(0, named=True)
    assert row["method"] == "modelled"
    assert (row["total_reach_low"], row["total_reach_high"]) == (120, 120)
    assert row["first_degree_reach"] == 100 and row["total_reach"] == 120


def test_what_if_says_when_partial_lists_make_its_answer_unreliable(tmp_path):
    """The What-if page's answer comes from sketches of the listed followers: with a
    partial list among the accounts involved it says so, naming how much is listed."""
    import subprocess
    import sys

    from dashboards.pages.whatif import partial_words
    from dashboards.queries import MartReader
    edges = [(f"u{i}", "brand") for i in range(5)] + [(f"v{i}", "big") for i in range(6)]
    _reach(tmp_path, _tables(edges, {"brand": 10, "big": 6}, [("p", "brand")], []))
    lake = tmp_path / "lake"
    subprocess.run([sys.executable, "-m", "reach_cli.main", "compute", "--lake", str(lake)],
                   check=True, capture_output=True)
    reader = MartReader(lake)
    partial = reader.partial_lists("x", ["big", "brand"])
    assert partial.rows() == [("brand", 5, 10)]  # big's list is whole
    words = partial_words(partial)
    assert words.startswith("1 of the accounts involved list fewer followers than they "
                            "report (5 of 10 listed, 50%)")
    assert partial_words(reader.partial_lists("x", ["big"])) is None
