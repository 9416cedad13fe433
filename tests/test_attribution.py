"""Attribution models: hand-computed examples, brute-force Shapley, the known pitfalls."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from reach.attribution.models import (
    MODELS,
    NO_TOUCH,
    AttributionSpec,
    PathData,
    Weights,
    attribution_rows,
    credits,
    markov,
    shapley,
    spread,
)
from reach.attribution.touchpoints import PATH_SCHEMA, TOUCH_SCHEMA

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def make_paths(spec: list[tuple[list[str], bool, float]]):
    """Paths from (channels in order, converted, value); touch i at day i, conversion after."""
    paths, touches = [], []
    for p, (channels, converted, value) in enumerate(spec):
        end = T0 + timedelta(days=len(channels))
        paths.append({"path": p, "network": "x", "converted": converted,
                      "converted_at": end if converted else None, "value": value})
        touches += [{"path": p, "network": "x", "campaign_id": c,
                     "touched_at": T0 + timedelta(days=i), "channel": c}
                    for i, c in enumerate(channels)]
    return (pl.DataFrame(paths, schema=PATH_SCHEMA),
            pl.DataFrame(touches, schema=TOUCH_SCHEMA | {"channel": pl.String}))


HAND = [(["A", "B", "C"], True, 10.0), (["A"], True, 20.0), (["B", "B"], True, 5.0),
        ([], True, 1.0), (["C"], False, 0.0)]


def credited(model: str, spec: AttributionSpec = AttributionSpec()) -> dict[str, float]:
    paths, touches = make_paths(HAND)
    rows = attribution_rows(model, "campaign", paths, touches, spec)
    return dict(zip(rows["channel"], rows["conversions_credited"], strict=True))


@pytest.mark.parametrize(("model", "expected"), [
    ("first_touch", {"A": 2, "B": 1, "C": 0}),
    ("last_touch", {"A": 1, "B": 1, "C": 1}),
    ("linear", {"A": 4 / 3, "B": 4 / 3, "C": 1 / 3}),
    ("position", {"A": 1.4, "B": 1.2, "C": 0.4}),
    # half-life 1 day, touches 3, 2, 1 days old: weights 1/8, 1/4, 1/2
    ("time_decay", {"A": 1 + 1 / 7, "B": 1 + 2 / 7, "C": 4 / 7}),
    # removal effects 7/12, 1/2, 1/3 (test_markov_by_hand): ChannelAttribution's
    # convention, 3 converting paths × RE ÷ ΣRE (ΣRE = 17/12)
    ("markov", {"A": 3 * 7 / 17, "B": 3 * 6 / 17, "C": 3 * 4 / 17}),
    # Shapley values 1/2, 1/2, −1/4 of the conversion-rate game (test_shapley_by_hand),
    # in conversions: 3 × φ ÷ v(N), v(N) = 3/4; C lowers the rate, so its credit is < 0
    ("shapley", {"A": 2.0, "B": 2.0, "C": -1.0}),
])
def test_every_model_by_hand(model, expected):
    got = credited(model, AttributionSpec(half_life_days=1))
    assert got.pop(NO_TOUCH) == pytest.approx(1.0)  # the conversion without a touchpoint
    assert got == pytest.approx(expected)
    assert sum(got.values()) + 1 == pytest.approx(4)  # all four conversions, no more


def test_markov_by_hand():
    """start→A 2, →B 1, →C 1; A→B, A→conv; B→C, B→B, B→conv; C→conv, C→null.

    x_C = 1/2, x_B = 3/4, x_A = 7/8, P = 3/4. Without A: 5/16; without B: 3/8;
    without C: 1/2. Removal effects 1 − P'/P = 7/12, 1/2, 1/3.
    """
    paths, touches = make_paths(HAND)
    w = markov(PathData.build(paths, touches), AttributionSpec())
    assert w.weight == pytest.approx({"A": 7 / 12, "B": 1 / 2, "C": 1 / 3})


def test_markov_second_order_states():
    # With order 2, state "A > B" differs from "C > B"; removing A removes "A > B" too.
    paths, touches = make_paths([(["A", "B"], True, 1), (["C", "B"], False, 0),
                                 (["C", "B"], True, 1)])
    w1 = markov(PathData.build(paths, touches), AttributionSpec(order=1))
    w2 = markov(PathData.build(paths, touches), AttributionSpec(order=2))
    # order 1: B converts 2/3 wherever it came from; order 2 knows A>B always converts
    # P = 2/3 under both. Order 1 without A: 2/3 · 2/3 = 4/9; order 2: 2/3 · 1/2 = 1/3.
    assert w1.weight["B"] == pytest.approx(1.0)
    assert w1.weight["A"] == pytest.approx(1 / 3)
    assert w2.weight["A"] == pytest.approx(1 / 2)


def test_shapley_by_hand():
    """v(A)=v(B)=1, v(C)=0, v(AB)=1, v(AC)=v(BC)=1/2, v(ABC)=3/4 → φ = 1/2, 1/2, −1/4."""
    paths, touches = make_paths(HAND)
    w = shapley(PathData.build(paths, touches), AttributionSpec())
    assert w.weight == pytest.approx({"A": 0.5, "B": 0.5, "C": -0.25})
    assert w.se is None  # exact


def _brute_shapley(groups: dict[frozenset, tuple[int, int]], channels: list[str], rate: bool):
    def v(s):
        c = sum(cv for g, (cv, _n) in groups.items() if g <= s)
        n = sum(n for g, (_cv, n) in groups.items() if g <= s)
        return (c / n if n else 0.0) if rate else c
    phi = dict.fromkeys(channels, 0.0)
    orders = list(itertools.permutations(channels))
    for order in orders:
        seen: set = set()
        for c in order:
            phi[c] += v(frozenset(seen | {c})) - v(frozenset(seen))
            seen.add(c)
    return {c: x / len(orders) for c, x in phi.items()}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_nulls", [False, True])
def test_shapley_against_all_permutations(seed, with_nulls):
    rng = np.random.default_rng(seed)
    channels = list("ABCDEF")
    spec = []
    for _ in range(40):
        k = int(rng.integers(1, 5))
        path = list(rng.choice(channels, size=k))
        spec.append((path, bool(rng.random() < 0.5) or not with_nulls, 1.0))
    paths, touches = make_paths(spec)
    groups: dict[frozenset, list[int]] = {}
    for path, converted, _ in spec:
        g = groups.setdefault(frozenset(path), [0, 0])
        g[0] += converted
        g[1] += 1
    seen = sorted({c for p, _, _ in spec for c in p})
    expected = _brute_shapley({g: tuple(x) for g, x in groups.items()}, seen, with_nulls)
    assert shapley(PathData.build(paths, touches), AttributionSpec()).weight == pytest.approx(expected)
    if not with_nulls:  # the count game is a sum of unanimity games: Σ_T conv_T / |T|
        closed = dict.fromkeys(seen, 0.0)
        for g, (cv, _n) in groups.items():
            for c in g:
                closed[c] += cv / len(g)
        assert expected == pytest.approx(closed)


def test_shapley_monte_carlo_reports_its_error():
    rng = np.random.default_rng(7)
    spec = [(list(rng.choice(list("ABCDEFGH"), size=int(rng.integers(1, 4)))),
             bool(rng.random() < 0.4), 1.0) for _ in range(200)]
    paths, touches = make_paths(spec)
    exact = shapley(PathData.build(paths, touches), AttributionSpec()).weight
    mc = shapley(PathData.build(paths, touches), AttributionSpec(exact_shapley_max=0,
                                                         permutations=3000, seed=1))
    assert mc.se is not None
    for c, x in exact.items():
        assert abs(mc.weight[c] - x) <= 4 * mc.se[c] + 1e-12, c
    assert sum(mc.weight.values()) == pytest.approx(sum(exact.values()))  # efficiency


@pytest.mark.parametrize("model", list(MODELS))
def test_credits_sum_to_one_per_conversion(model):
    rng = np.random.default_rng(3)
    spec = [(list(rng.choice(list("ABCDE"), size=int(rng.integers(0, 6)))),
             bool(rng.random() < 0.6), float(rng.integers(1, 100))) for _ in range(300)]
    paths, touches = make_paths(spec)
    got, _ = credits(model, paths, touches, AttributionSpec(order=2))
    per = got.group_by("path").agg(pl.col("credit").sum())
    assert per.height == paths["converted"].sum()  # every conversion, once
    np.testing.assert_allclose(per["credit"].to_numpy(), 1.0)
    assert (got["credit"] >= 0).all()


def test_pitfalls():
    # a single path with a single channel: all credit to it, for every model
    paths, touches = make_paths([(["A"], True, 3.0)])
    for model in MODELS:
        rows = attribution_rows(model, "campaign", paths, touches)
        assert rows.filter(pl.col("channel") == "A")["conversions_credited"].item() == 1.0
        assert rows.filter(pl.col("channel") == "A")["value_credited"].item() == 3.0
    # a channel seen only on non-converting paths: no credit, except its (negative)
    # Shapley value: v(A) = 1, v(Z) = 0, v(AZ) = 1/2, so φ = 3/4, −1/4 and v(N) = 1/2
    paths, touches = make_paths([(["A"], True, 1.0), (["Z"], False, 0.0)])
    for model in MODELS:
        rows = attribution_rows(model, "campaign", paths, touches)
        z = rows.filter(pl.col("channel") == "Z")["conversions_credited"].item()
        assert z == pytest.approx(-0.5 if model == "shapley" else 0.0)
        assert rows["conversions_credited"].sum() == pytest.approx(1.0)
    # weights that are all zero (or negative) on a path: equal shares, not NaN
    paths, touches = make_paths([(["A", "B", "B"], True, 1.0)])
    _row, _ch, credit = spread(PathData.build(paths, touches), Weights({"A": 0.0, "B": -0.3}))
    assert sorted(credit.tolist()) == [0.5, 0.5]
    # no touchpoints at all
    paths, touches = make_paths([([], True, 2.0)])
    for model in MODELS:
        rows = attribution_rows(model, "network", paths, touches)
        assert rows.to_dicts()[0]["channel"] == NO_TOUCH
        assert rows["share_of_total"].item() == 1.0


def test_nonconverting_paths_match_brute_force(tmp_path):
    from etl.lake import Lake
    from etl.load import load
    from etl.sources import extract
    from reach.engine.marts import ComputeSpec, attribution_paths

    from . import oracle
    from .gen import make_tables, write
    tables = make_tables(4)
    load(extract(str(write(tables, tmp_path / "src"))), tmp_path / "lake")
    lk = Lake.open(tmp_path / "lake")
    lake_tables = {t: lk.scan(t) for t in ("follows", "posts", "shares", "conversions",
                                            "_account_keys")}
    paths, touches = attribution_paths(lake_tables, ComputeSpec(nonconverting=True))
    assert paths["path"].is_unique().all()
    null = touches.join(paths.filter(~pl.col("converted")).select("path"), on="path")
    # path ids carry no account, so compare the multisets of paths
    want = oracle.nonconverting_touches(tables)
    got_multiset = sorted(
        tuple(sorted((t.replace(tzinfo=None), c) for t, c in zip(
            g["touched_at"], g["campaign_id"], strict=True)))
        for _, g in null.group_by("path"))
    want_multiset = sorted(tuple((t.replace(tzinfo=None), c) for t, c in v)
                           for v in want.values())
    assert got_multiset == want_multiset and len(want_multiset) > 10


def _brute_removal_effects(spec: list[tuple[list[str], bool, float]]) -> dict[str, float]:
    """Order-1 removal effects from first principles: transition counts in plain Python,
    the absorbing chain solved densely, each channel removed by redirecting to null."""
    states = ["start"] + sorted({c for p, _c, _v in spec for c in p}) + ["conv", "null"]
    idx = {s: i for i, s in enumerate(states)}
    counts = np.zeros((len(states), len(states)))
    for path, converted, _v in spec:
        seq = ["start", *path, "conv" if converted else "null"]
        for a, b in zip(seq, seq[1:], strict=False):
            counts[idx[a], idx[b]] += 1
    rows = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)

    def p_conv(removed: str | None) -> float:
        q = p.copy()
        if removed:
            q[idx[removed], :] = 0.0  # entering a removed channel ends the path: null
        n = len(states) - 2
        a = np.eye(n) - q[:n, :n]
        return float(np.linalg.solve(a, q[:n, idx["conv"]])[0])
    base = p_conv(None)
    return {c: 1 - p_conv(c) / base for c in states[1:-2]}


@pytest.mark.parametrize("seed", range(5))
def test_markov_and_shapley_credits_follow_the_reference_conventions(seed):
    """Markov: conversions × RE ÷ ΣRE (ChannelAttribution), RE solved from first
    principles; Shapley: the Shapley values of the conversion-rate game, by enumerating
    every order of the channels, in conversions. Both to 1e-9."""
    rnd = np.random.default_rng(seed)
    chans = ["A", "B", "C", "D"]
    spec = []
    for _ in range(40):
        path = [str(c) for c in rnd.choice(chans, size=int(rnd.integers(1, 5)))]
        spec.append((path, bool(rnd.random() < 0.4), float(rnd.integers(1, 50))))
    paths, touches = make_paths(spec)
    conversions = sum(c for _p, c, _v in spec)
    value = sum(v for _p, c, v in spec if c)
    rows = {r["channel"]: r for r in attribution_rows("markov", "campaign", paths,
                                                        touches).to_dicts()}
    re = _brute_removal_effects(spec)
    for c, e in re.items():
        assert rows[c]["weight"] == pytest.approx(e, abs=1e-9)
        assert rows[c]["conversions_credited"] == pytest.approx(
            conversions * e / sum(re.values()), abs=1e-9)
        assert rows[c]["value_credited"] == pytest.approx(value * e / sum(re.values()),
                                                          abs=1e-9)
    groups: dict[frozenset, tuple[int, int]] = {}
    for path, converted, _v in spec:
        cv, n = groups.get(frozenset(path), (0, 0))
        groups[frozenset(path)] = (cv + converted, n + 1)
    phi = _brute_shapley(groups, chans, rate=True)
    rows = {r["channel"]: r for r in attribution_rows("shapley", "campaign", paths,
                                                        touches).to_dicts()}
    for c in chans:
        assert rows[c]["conversions_credited"] == pytest.approx(
            conversions * phi[c] / sum(phi.values()), abs=1e-9)
    assert sum(r["conversions_credited"] for r in rows.values()) == pytest.approx(conversions)


def test_a_follow_made_after_the_post_is_no_touch():
    """The converter followed the author after the post: that post never reached them.
    A follow without a date counts (assumed to predate the post)."""
    from datetime import UTC, datetime

    from reach.attribution.touchpoints import conversion_paths
    t = lambda d: datetime(2026, 1, d, tzinfo=UTC)  # noqa: E731
    posts = pl.LazyFrame({"network": ["x"] * 3, "campaign_id": ["early", "late", "undated"],
                          "account_key": [1, 2, 3], "created_at": [t(5), t(5), t(5)],
                          "post_id": ["p1", "p2", "p3"]},
                         schema_overrides={"account_key": pl.Int32})
    shares = pl.LazyFrame(schema={"network": pl.String, "post_id": pl.String,
                                  "sharer_key": pl.Int32, "created_at": posts.collect_schema()[
                                      "created_at"]})
    follows = pl.LazyFrame({"network": ["x"] * 3, "follower_key": [9, 9, 9],
                            "followee_key": [1, 2, 3], "followed_at": [t(1), t(7), None]},
                           schema_overrides={"followed_at": pl.Datetime("us", "UTC"),
                                             "follower_key": pl.Int32,
                                             "followee_key": pl.Int32})
    conversions = pl.LazyFrame({"network": ["x"], "account_key": [9],
                                "converted_at": [t(10)], "value": [1.0]},
                               schema_overrides={"account_key": pl.Int32})
    _paths, touches = conversion_paths(posts, shares, follows, conversions)
    assert sorted(touches["campaign_id"].to_list()) == ["early", "undated"]


@pytest.mark.parametrize("seed", range(3))
def test_the_mart_does_not_depend_on_path_ids_or_touch_order(seed):
    """PathData numbers paths 0, 1, … without a join and skips sorting touches already in
    order; any other ids (a join) and any order (a sort) must give the same mart, ties in
    time included (broken by channel name)."""
    from polars.testing import assert_frame_equal

    from reach.attribution.models import attribution_mart
    rnd = np.random.default_rng(seed)
    spec = [([str(c) for c in rnd.choice(["A", "B", "C", "D"], size=int(rnd.integers(0, 5)))],
             bool(rnd.random() < 0.6), float(rnd.integers(1, 50))) for _ in range(60)]
    paths, touches = make_paths(spec)
    touches = (touches.with_columns(  # two days only: many touches tie in time
        touched_at=pl.lit(T0) + pl.duration(days=pl.Series(rnd.integers(0, 2, touches.height))))
        .with_columns(campaign_id=pl.col("channel"))
        .sort("path", "touched_at", "channel"))
    want = attribution_mart(paths, touches)
    renumber = pl.col("path") * 7 + 3
    got = attribution_mart(paths.with_columns(renumber).sample(fraction=1.0, shuffle=True, seed=seed),
                           touches.with_columns(renumber).sample(fraction=1.0, shuffle=True,
                                                                 seed=seed))
    assert_frame_equal(got, want)
    shuffled = attribution_mart(paths, touches.sample(fraction=1.0, shuffle=True, seed=seed))
    assert_frame_equal(shuffled, want)


@pytest.mark.parametrize("seed", range(4))
def test_the_mart_equals_each_model_built_alone(seed):
    """attribution_mart codes the channels of all three types from one coding of
    campaign_id and network and adds the rule models up in one compiled pass; each
    model's rows must equal attribution_rows' (every touch's credit as an array, channels
    coded from their names) to the last bit. Paths on several networks and ties in time
    throughout; seeds 2 and 3 add campaign ids that sort apart from their "campaign @
    network" names ("c1" < "c1 !" but "c1 ! @ x" < "c1 @ x": out of order for that type,
    which is then built the slow way), seed 3 touches on two networks within a path."""
    from polars.testing import assert_frame_equal

    from reach.attribution.models import CHANNEL_TYPES, attribution_mart
    rnd = np.random.default_rng(seed)
    names = ["c1", "c10", "b", "c2"] + (["c1 !", "c1 @"] if seed >= 2 else [])
    spec = [([str(c) for c in rnd.choice(names, size=int(rnd.integers(0, 6)))],
             bool(rnd.random() < 0.7), float(rnd.integers(1, 50))) for _ in range(200)]
    paths, touches = make_paths(spec)
    nets = pl.Series(rnd.choice(["x", "fb", "li"], paths.height))
    paths = paths.with_columns(network=nets)
    touches = touches.with_columns(
        network=(pl.Series(rnd.choice(["x", "fb"], touches.height)) if seed == 3
                 else nets.gather(touches["path"])),
        touched_at=pl.lit(T0) + pl.duration(days=pl.Series(rnd.integers(0, 3, touches.height)))
    ).drop("channel").sort("path", "touched_at", "campaign_id")
    spec_ = AttributionSpec(half_life_days=2.5)
    got = attribution_mart(paths, touches, spec_)
    want = pl.concat([attribution_rows(m, by, paths, touches, spec_) for by in CHANNEL_TYPES
                      for m in MODELS])
    assert_frame_equal(got, want, check_exact=True)


def test_distinct_pairs_match_a_brute_force():
    from reach.attribution.passes import distinct_pairs
    rnd = np.random.default_rng(7)
    tpath = np.sort(rnd.integers(0, 300, 5000))
    channel = rnd.integers(0, 9, tpath.size)
    keep = rnd.random(300) < 0.7
    prow, pch = distinct_pairs(tpath, channel, keep, 9)
    want = sorted({(int(p), int(c)) for p, c in zip(tpath, channel, strict=True) if keep[p]})
    assert list(zip(prow.tolist(), pch.tolist(), strict=True)) == want
    assert distinct_pairs(tpath[:0], channel[:0], keep, 9)[0].size == 0
