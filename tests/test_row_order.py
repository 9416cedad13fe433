"""Every mart is a function of the lake's rows, not of their order.

The lake's files hold rows in the order loads wrote them, and joins and group-bys leave
theirs in any order; a mart that followed either would change from run to run or from
one layout of the same data to another (the uplift fits once did, through their last
digits). Here every table of the sample lake is shuffled and every mart must come out
equal to the last bit, row order included. One exception: a Shapley credit is a sum of
1/k over an amplifier's followers in the order its follower list holds them, so its last
bits move with that order; it must agree to 1e-12, and the ranks (compared at
``RANK_DIGITS`` decimals) must not move at all."""

from __future__ import annotations

TABLES = ("campaigns", "accounts", "follows", "posts", "shares", "conversions",
          "_account_keys")


def test_every_mart_is_the_same_from_shuffled_tables(sample_lake):
    from polars.testing import assert_series_equal

    from etl.lake import Lake
    from reach.engine.marts import ComputeSpec, compute_marts
    lake, want = sample_lake
    lk = Lake.open(lake)
    shuffled = {t: lk.read(t).sample(fraction=1.0, shuffle=True, seed=1).lazy()
                for t in TABLES}
    got = compute_marts(shuffled, spec=ComputeSpec())
    assert sorted(got) == sorted(want)
    assert_series_equal(got["amplifiers"]["shapley_reach"], want["amplifiers"]["shapley_reach"],
                        check_exact=False, rel_tol=1e-12, abs_tol=0)
    got, want = ({name: df.drop("shapley_reach") if name == "amplifiers" else df
                  for name, df in marts.items()} for marts in (got, want))
    differ = [name for name in want if not got[name].equals(want[name])]
    assert not differ, f"marts that depend on the order of rows: {differ}"
