"""Invariants that must hold on any data (Hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.load import _assign_keys
from etl.parse import coerce
from reach import hash_numbers
from reach.audience import people
from reach.audience.distinct import reach_rows
from reach.audience.people import PersonLinks
from reach.cascades.credit import coverage_credit
from reach.engine.cells import Cell, group_exposers
from reach.followers.graph import FollowerGraph, Marker
from reach.followers.kernels import STAMPS
from reach.followers.sketches import SketchStore, follower_sketches, reach_estimate, what_if
from reach.schema import TABLES, TIMESTAMP

from .conftest import load_and_compute
from .gen import make_tables, write

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def graphs(draw, max_n=40):
    n = draw(st.integers(2, max_n))
    edges = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                         max_size=n * 6))
    edges = [(a, b) for a, b in edges if a != b]
    fol = np.array([a for a, _ in edges], dtype=np.int32)
    fee = np.array([b for _, b in edges], dtype=np.int64)
    return FollowerGraph.from_edges("x", fol, fee, n), edges, n


@given(graphs(), st.data())
@SETTINGS
def test_reach_invariants(g, data):
    graph, edges, n = g
    authors = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1,
                                                 max_size=4))), dtype=np.int64)
    sharers = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=8))),
                       dtype=np.int64)
    exposers = np.unique(np.concatenate([authors, sharers]))
    m = Marker(n)
    first = m.distinct_followers(graph, authors, authors)
    total = m.distinct_followers(graph, exposers, authors)
    potential = int(graph.in_degree(exposers).sum())
    assert 0 <= first <= total <= potential
    want = {a for a, b in edges if b in set(exposers.tolist())} - set(authors.tolist())
    assert total == len(want)
    shapley, incremental = coverage_credit(graph, exposers, authors)
    assert shapley.sum() == pytest.approx(total)
    assert (incremental <= shapley + 1e-9).all()
    assert not m.bits.any()  # the marker is clean for the next cell


@given(graphs(), st.data())
@SETTINGS
def test_compiled_kernels_match_numpy(g, data):
    """The CSR of shuffled edges groups the same followers; marking in order gives each
    follower once, with the first account (in the given order) that reaches it."""
    graph, edges, n = g
    perm = data.draw(st.permutations(range(len(edges))))
    fol = np.array([edges[i][0] for i in perm], dtype=np.int32)
    fee = np.array([edges[i][1] for i in perm], dtype=np.int64)
    shuffled = FollowerGraph.from_edges("x", fol, fee, n)
    assert np.array_equal(shuffled.offsets, graph.offsets)
    for k in range(n):
        span = slice(graph.offsets[k], graph.offsets[k + 1])
        assert sorted(shuffled.followers[span]) == sorted(graph.followers[span])
    keys = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=8)), dtype=np.int64)
    m = Marker(n)
    new, owner = m.mark_followers(graph, keys)
    want: dict[int, int] = {}
    for i, k in enumerate(keys.tolist()):
        for f in graph.followers[graph.offsets[k]:graph.offsets[k + 1]].tolist():
            want.setdefault(f, i)
    assert dict(zip(new.tolist(), owner.tolist(), strict=True)) == want
    assert set(np.flatnonzero(m.bits).tolist()) == set(want)


@pytest.mark.parametrize("dense_from,heavy_degree", [
    (math.inf, 64),  # follower by follower (cell_reach)
    (0.0, 10**9),  # on bitsets, every account scattered (cell_reach_dense)
    (0.0, 1),  # on bitsets, reused accounts ORed from precomputed rows
])
def test_reach_rows_match_sets_over_many_campaigns(dense_from, heavy_degree, monkeypatch):
    """Hundreds of campaigns on two networks, persons linked within and across networks:
    more cells than a `seen` byte has stamps (STAMPS), so the wipe between them is
    exercised; every row equals the brute-force union of followers' sets, whichever
    way the cells are counted."""
    monkeypatch.setattr(people, "DENSE_FROM", dense_from)
    monkeypatch.setattr(people, "HEAVY_DEGREE", heavy_degree)
    rnd = np.random.default_rng(7)
    n = {"x": 400, "y": 300}
    graphs, edges, person_of = {}, {}, {}
    for net, size in n.items():
        # Accounts 1-10 follow account 0 only, and account 0 is an author only in the
        # campaigns that get stamp 1 (every STAMPS-th): a stale stamp would hide them.
        pairs = {(int(a), int(b)) for a, b in rnd.integers(11, size, (size * 2, 2)) if a != b}
        pairs |= {(f, 0) for f in range(1, 11)}
        edges[net] = pairs
        graphs[net] = FollowerGraph.from_edges(
            net, np.array([a for a, _ in pairs], np.int32),
            np.array([b for _, b in pairs], np.int64), size)
        person_of[net] = np.where(rnd.random(size) < 0.5, rnd.integers(0, 30, size), -1)
    used = sorted({int(p) for arr in person_of.values() for p in arr if p >= 0})
    dense = {p: i for i, p in enumerate(used)}
    links = PersonLinks({net: np.array([dense.get(int(p), -1) for p in arr], np.int32)
                         for net, arr in person_of.items()}, len(used))
    cells, want = [], {}
    for c in range(2 * STAMPS + 10):
        cid = f"c{c:03d}"
        for net, size in n.items():
            authors = np.sort(rnd.choice(np.arange(1, size), rnd.integers(1, 4), replace=False))
            if c % STAMPS == 0:
                authors = np.concatenate([[0], authors])
            sharers = np.setdiff1d(rnd.choice(np.arange(1, size), rnd.integers(0, 9)), authors)
            exposers = np.concatenate([authors, sharers]).astype(np.int64)
            cells.append(Cell(cid, net, 1, exposers, np.arange(exposers.size) < authors.size,
                              np.arange(exposers.size) >= authors.size,
                              np.zeros(exposers.size, np.int64), int(sharers.size)))
            who = {net: set(exposers.tolist())}
            first = {f for f, b in edges[net] if b in set(authors.tolist())}
            total = {f for f, b in edges[net] if b in who[net]}
            want[(cid, net)] = (len(first - set(authors.tolist())),
                                len(total - set(authors.tolist())))
            want.setdefault((cid, "all"), [set(), set(), set()])
            def person(net, k):
                p = int(person_of[net][k])
                return ("p", p) if p >= 0 else (net, k)
            parts = want[(cid, "all")]
            parts[0] |= {person(net, f) for f in first}
            parts[1] |= {person(net, f) for f in total}
            parts[2] |= {person(net, int(a)) for a in authors}
    potential = {net: graphs[net].in_degree().astype(np.float64) for net in n}
    rows = reach_rows(cells, graphs, potential, links)
    for r in rows.iter_rows(named=True):
        got = (r["first_degree_reach"], r["total_reach"])
        w = want[(r["campaign_id"], r["network"])]
        if r["network"] == "all":
            w = (len(w[0] - w[2]), len(w[1] - w[2]))
        assert got == w, (r["campaign_id"], r["network"])


@given(st.dictionaries(st.sampled_from(["x", "y", "z"]),
                       st.lists(st.one_of(st.none(), st.sampled_from(["p1", "p2", "p3", "p4"])),
                                max_size=12), min_size=1),
       st.booleans())
@SETTINGS
def test_person_links_match_grouping_the_ids(ids, collide):
    """Accounts share a person index exactly when they share a person_id that two or
    more accounts carry; the others are -1. ``collide``: every hash made equal (as a
    hash collision would), which must not merge two persons."""
    accounts = {net: pl.DataFrame({"account_key": np.arange(len(p), dtype=np.int32),
                                   "person_id": pl.Series(p, dtype=pl.String)})
                for net, p in ids.items()}
    sizes = {net: len(p) for net, p in ids.items()}
    real = hash_numbers.first_seen
    if collide:
        hash_numbers.first_seen = lambda h: (np.zeros(h.size, np.int32),
                                             np.zeros(min(h.size, 1), np.int64))
    try:
        links = PersonLinks.from_accounts(accounts, sizes)
    finally:
        hash_numbers.first_seen = real
    owners: dict[str, list] = {}
    for net, p in ids.items():
        for key, pid in enumerate(p):
            if pid is not None:
                owners.setdefault(pid, []).append((net, key))
    several = {pid: acc for pid, acc in owners.items() if len(acc) > 1}
    assert links.n == len(several)
    for net, p in ids.items():
        for key, pid in enumerate(p):
            got = int(links.person_of[net][key])
            assert (got >= 0) == (pid in several)
            for net2, key2 in several.get(pid, []):
                assert int(links.person_of[net2][key2]) == got
    seen = {int(links.person_of[net][key]) for pid, acc in several.items() for net, key in acc[:1]}
    assert len(seen) == len(several)  # distinct persons, distinct indexes


@given(st.integers(1, 6), st.integers(1, 3000), st.data())
@SETTINGS
def test_cell_exposers_match_a_dict_of_rows(n_cells, n_keys, data):
    """group_exposers (a counting sort by cell, then a radix or a comparison sort per
    cell, in compiled code) against grouping the rows in a dict: one entry per (cell,
    account), first time, posted / shared, authors first then by key."""
    rows = data.draw(st.lists(st.tuples(st.integers(0, n_cells - 1), st.integers(0, n_keys - 1),
                                        st.integers(0, 10**12), st.booleans()), max_size=80))
    cell, key, t, post = (np.array([r[i] for r in rows], dtype=dt) for i, dt in
                          enumerate((np.int64, np.int64, np.int64, np.bool_)))
    small = data.draw(st.sampled_from([0, 10**9]))  # every cell by radix, or by comparison
    keys, when, author, sharer, at = group_exposers(cell, key, t, post, n_cells, n_keys, small)
    want: dict[tuple[int, int], list] = {}
    for c, k, ti, p in rows:
        e = want.setdefault((c, k), [ti, False, False])
        e[0], e[1], e[2] = min(e[0], ti), e[1] or p, e[2] or not p
    for c in range(n_cells):
        mine = sorted((not e[1], k, e[0], e[1], e[2]) for (cc, k), e in want.items() if cc == c)
        got = [(not a, int(k), int(w), bool(a), bool(s)) for k, w, a, s in zip(
            keys[at[c]:at[c + 1]], when[at[c]:at[c + 1]], author[at[c]:at[c + 1]],
            sharer[at[c]:at[c + 1]], strict=True)]
        assert got == mine


@given(graphs(max_n=300), st.data())
@SETTINGS
def test_sketch_bounds_contain_the_exact_value(g, data):
    graph, _, n = g
    store = SketchStore(follower_sketches(graph))
    exposers = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1,
                                                  max_size=30))), dtype=np.int64)
    authors = exposers[:1]
    exact = Marker(n).distinct_followers(graph, exposers, authors)
    est = reach_estimate(store, exposers, authors)
    assert est.low <= exact <= est.high
    cands = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=20))),
                     dtype=np.int64)
    added = what_if(store, exposers, cands, authors)
    both = np.concatenate([exposers, cands]).astype(np.int64)
    exact_added = Marker(n).distinct_followers(graph, both, authors) - exact
    assert added.low <= exact_added <= added.high


def test_sketch_error_is_small_at_scale():
    rng = np.random.default_rng(0)
    n = 200_000
    fee = np.sort(rng.integers(0, 300, 1_000_000))
    fol = rng.integers(0, n, fee.size).astype(np.int32)
    codes = np.unique(fee * n + fol)
    graph = FollowerGraph.from_edges("x", (codes % n).astype(np.int32), codes // n, n)
    store = SketchStore(follower_sketches(graph))
    exposers = np.arange(0, 300, dtype=np.int64)
    exact = Marker(n).distinct_followers(graph, exposers, exposers[:1])
    est = reach_estimate(store, exposers, exposers[:1])
    assert est.low <= exact <= est.high
    assert abs(est.estimate - exact) / exact < 0.05 and est.rel_error < 0.05


@given(st.lists(st.tuples(st.sampled_from(["x", "fb"]), st.text(min_size=1, max_size=6)),
                max_size=40), st.lists(st.tuples(st.sampled_from(["x", "fb"]),
                                                 st.text(min_size=1, max_size=6)), max_size=40))
@SETTINGS
def test_account_keys_are_dense_stable_and_bijective(first, second):
    empty = pl.DataFrame(schema={"network": pl.String, "account_id": pl.String,
                                 "account_key": pl.Int32})

    def batch(rows):
        return {"accounts": pl.DataFrame(rows, schema={"network": pl.String,
                                                       "account_id": pl.String}, orient="row")}
    k1, new1 = _assign_keys(empty, batch(first))
    k2, new2 = _assign_keys(k1, batch(second))
    assert new1.equals(k1) and k1.vstack(new2).equals(k2)  # a load only appends keys
    assert k1.join(k2, on=["network", "account_id"], suffix="_2").filter(
        pl.col("account_key") != pl.col("account_key_2")).height == 0
    for _, part in k2.group_by("network"):
        keys = sorted(part["account_key"].to_list())
        assert keys == list(range(len(keys)))
        assert part["account_id"].n_unique() == part.height


@given(st.datetimes(timezones=st.just(__import__("datetime").UTC)))
@SETTINGS
def test_timestamps_round_trip_through_text(t):
    t = t.replace(microsecond=0)
    for text in (t.strftime("%Y-%m-%dT%H:%M:%SZ"), t.strftime("%Y-%m-%d %H:%M:%S"),
                 t.isoformat()):
        got = coerce(pl.Series([text]), TIMESTAMP).item()
        assert got == t, text


@given(st.lists(st.one_of(st.none(), st.integers(-10**12, 10**12)), max_size=30))
@SETTINGS
def test_integers_round_trip_through_text(values):
    s = pl.Series([None if v is None else str(v) for v in values], dtype=pl.String)
    assert coerce(s, pl.Int64()).to_list() == values


@pytest.mark.parametrize("seed", [21, 22])
def test_mart_invariants_on_generated_lakes(seed, tmp_path):
    marts = load_and_compute(write(make_tables(seed), tmp_path / "src"), tmp_path / "lake")
    r = marts["reach"].filter(pl.col("method") == "exact")
    assert (r["total_reach"] >= r["first_degree_reach"]).all()
    per_net = r.filter(pl.col("network") != "all")
    assert (per_net["second_degree_reach"] >= 0).all()


@given(st.sampled_from([t for t, s in TABLES.items() if any(c.dtype == pl.Float64 for c in s.columns)]),
       st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()),
                min_size=1, max_size=30),
       st.booleans())
@SETTINGS
def test_non_finite_numbers_are_type_errors_in_every_float_column(table, values, as_text):
    """NaN and ±inf never enter the lake as values, in any float column, read from text
    or from a typed (Parquet) column alike."""
    from etl.parse import to_canonical
    spec = TABLES[table]
    for col in (c.name for c in spec.columns if c.dtype == pl.Float64):
        src = pl.Series(col, values, dtype=pl.Float64)
        raw = pl.DataFrame([src.cast(pl.String) if as_text else src])
        typed, reason = to_canonical(raw, spec)
        finite = [v is not None and math.isfinite(v) for v in values]
        assert typed[col].is_not_null().to_list() == finite
        bad = [v is not None and not math.isfinite(v) for v in values]
        assert reason.is_not_null().to_list() == bad
        assert all("expected a finite number (rule: type)" in r for r in reason.drop_nulls())
