"""The privacy threshold: small cells are suppressed, and no published cell gives them away.

An attacker check looks at what was published: every linear relation the registry
declares (sums within a row, sums over rows, running totals, derived columns) is
solved for anything suppressed; a test fails if a suppressed value comes out, or if a
published cell still describes fewer than the threshold.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reach.engine.privacy import SUPPRESSED, suppress
from reach.engine.registry import MARTS

N = 50


def attack(mart, original: pl.DataFrame, published: pl.DataFrame, n: int) -> list[str]:
    """Every way a suppressed value can be recovered from ``published``; [] if none."""
    found = []
    shown = {c: published[c].is_not_null().to_numpy() for c in published.columns}
    val = {c: original[c].cast(pl.Float64).fill_null(0).to_numpy()
           for c in original.columns if original[c].dtype.is_numeric()}
    hidden = {c: ~shown[c] & original[c].is_not_null().to_numpy() for c in val}
    for c in mart.people:
        if c in val and c not in {r[0] for r in mart.running} | {r[1] for r in mart.running}:
            small = shown[c] & (val[c] > 0) & (val[c] < n)
            found += [f"{c} = {val[c][i]:g} published in row {i}" for i in np.flatnonzero(small)]
    for total, *parts in mart.sums:
        cols = [total, *parts]
        count = np.sum([hidden[c] for c in cols], axis=0)
        held = np.sum([np.where(hidden[c], val[c], 0) for c in cols], axis=0)
        found += [f"row {i}: {cols} has one suppressed cell" for i in np.flatnonzero(count == 1)]
        found += [f"row {i}: suppressed cells of {cols} hold {held[i]:g} < {n}"
                  for i in np.flatnonzero((count >= 2) & (held < n))
                  if any(shown[c][i] and original[c][i] is not None for c in cols)]
    for col, by in mart.row_sums:
        # A group of one row: its total elsewhere is the same value under the same threshold.
        g = original.with_columns(pl.Series("_h", hidden[col]),
                                  pl.Series("_v", np.where(hidden[col], val[col], 0)),
                                  pl.Series("_c", shown[col] & original[col].is_not_null().to_numpy()))
        agg = g.group_by(list(by)).agg(pl.col("_h").sum(), pl.col("_v").sum(),
                                       pl.col("_c").any(), pl.col(col).count().alias("_k"))
        bad = agg.filter(((pl.col("_h") == 1) & (pl.col("_k") > 1))
                         | ((pl.col("_h") >= 2) & (pl.col("_v") < n) & pl.col("_c")))
        found += [f"{col} over {by}: {r}" for r in bad.iter_rows(named=True)]
    for col, sources in mart.derived.items():
        for s in sources:
            leak = shown[col] & hidden[s]
            found += [f"{col} shown beside suppressed {s} in row {i}" for i in np.flatnonzero(leak)]
    for cum, inc, by, order in mart.running:
        for _, part in original.with_row_index("_i").sort([*by, order]).group_by(
                list(by), maintain_order=True):
            rows = part["_i"].to_numpy()
            final = val[cum][rows[-1]]  # published elsewhere (a total) unless itself small
            known = [0.0] + [val[cum][i] for i in rows if shown[cum][i]] + (
                [final] if final >= n else [])
            gaps = np.diff(known)
            found += [f"{cum}: a gap of {g:g} between published values" for g in gaps
                      if 0 < g < n]
            if inc:
                for k, i in enumerate(rows):
                    prev = shown[cum][rows[k - 1]] if k else True
                    if hidden[inc][i] and shown[cum][i] and prev:
                        found.append(f"{inc} in row {i} = difference of published {cum}")
    return found


def _frequency_rows(rng: np.random.Generator, k: int) -> pl.DataFrame:
    buckets = [f"people_{j}" for j in range(1, 11)] + ["people_11_plus"]
    rows = []
    for c in range(k):
        for net in ("x", "fb", "all"):
            for scope in ("total", "first_degree", "reshares"):
                b = rng.choice([0, 3, 20, 49, 50, 400, 5000], size=len(buckets))
                r = {"campaign_id": f"c{c}", "network": net, "scope": scope,
                     "method": "exact", **dict(zip(buckets, map(int, b), strict=True))}
                r["reach_1_plus"] = int(b.sum())
                r["reach_3_plus"] = int(b[2:].sum())
                r["opportunities"] = int(sum((j + 1) * v for j, v in enumerate(b)))
                r["average_frequency"] = r["opportunities"] / max(r["reach_1_plus"], 1)
                rows.append(r)
    return pl.DataFrame(rows).select(list(MARTS["frequency"].schema)).cast(
        MARTS["frequency"].schema)


def test_a_small_bucket_takes_a_second_one_with_it():
    mart = MARTS["frequency"]
    df = _frequency_rows(np.random.default_rng(0), 1).head(1).with_columns(
        people_1=pl.lit(1000, pl.Int64), people_2=pl.lit(7, pl.Int64),
        people_3=pl.lit(60, pl.Int64), people_4=pl.lit(80, pl.Int64),
        **{f"people_{j}": pl.lit(0, pl.Int64) for j in range(5, 11)},
        people_11_plus=pl.lit(0, pl.Int64), reach_1_plus=pl.lit(1147, pl.Int64),
        reach_3_plus=pl.lit(140, pl.Int64))
    out = suppress(mart, df, N).row(0, named=True)
    # 7, then the smallest other (60); then 80, or reach_3_plus would give 60 away
    assert out["people_2"] is None and out["people_3"] is None and out["people_4"] is None
    assert out["people_1"] == 1000 and out["reach_1_plus"] == 1147
    assert out["reach_3_plus"] == 140
    assert out["opportunities"] is None and out["average_frequency"] is None
    assert set(out[SUPPRESSED].split(",")) >= {"people_2", "people_3", "opportunities"}
    assert suppress(mart, df, 0)["people_2"][0] == 7  # 0 turns it off


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([5, 50, 500]))
def test_no_frequency_cell_can_be_recovered(seed, n):
    df = _frequency_rows(np.random.default_rng(seed), 3)
    assert attack(MARTS["frequency"], df, suppress(MARTS["frequency"], df, n), n) == []


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.integers(0, 120), min_size=1, max_size=30),
       n=st.sampled_from([1, 10, 50]))
def test_running_totals_leave_no_small_gap(steps, n):
    mart = MARTS["timeline"]
    cum = np.cumsum(steps)
    df = pl.DataFrame({
        "campaign_id": "c", "network": "x",
        "bucket_start": pl.datetime_range(pl.datetime(2026, 1, 1), pl.datetime(2026, 1, 1)
                                          + pl.duration(hours=len(steps) - 1), "1h",
                                          time_zone="UTC", eager=True),
        "bucket": "hour", "new_reach": steps, "cumulative_reach": cum, "method": "exact",
    }).cast(mart.schema)
    out = suppress(mart, df, n)
    assert attack(mart, df, out, n) == []
    published = out["new_reach"].drop_nulls()
    assert ((published == 0) | (published >= n)).all()


@pytest.mark.parametrize("name", [m for m in MARTS if MARTS[m].people])
def test_no_sample_mart_leaks_a_small_cell(sample_lake, name):
    _, marts = sample_lake
    mart, df = MARTS[name], marts[name]
    out = suppress(mart, df, N)
    assert out.height == df.height and out.columns == [*df.columns, SUPPRESSED]
    assert attack(mart, df, out, N) == []
    # what is published is the mart's own value
    for c in mart.people:
        both = pl.DataFrame({"a": df[c], "b": out[c]}).drop_nulls()
        assert (both["a"] == both["b"]).all()


def test_the_dashboard_reads_marts_under_the_threshold(sample_lake):
    from dashboards.queries import MartReader
    lake, marts = sample_lake
    shown = MartReader(lake, N).read("amplifiers")
    assert shown.equals(suppress(MARTS["amplifiers"], marts["amplifiers"], N))
    assert shown["suppressed"].drop_nulls().len() > 0
    assert MartReader(lake).read("amplifiers").equals(marts["amplifiers"])  # off: as computed


def test_the_dashboard_draws_published_totals_when_the_split_is_withheld(sample_lake):
    from dashboards.pages.compare import reach_figure
    from dashboards.queries import MartReader
    lake, _ = sample_lake
    reader = MartReader(lake, 10**6)  # everything small: only what survives is drawn
    reach = reader.read("reach").with_columns(pl.col("campaign_id").alias("name"))
    assert reach["first_degree_reach"].null_count() == reach.height  # every split withheld
    fig = reach_figure(reach.with_columns(pl.lit(5000, pl.Int64).alias("total_reach")),
                       sorted(set(reach["network"]) - {"all"}))
    firsts = [v for t in fig["data"] if t.get("name") == "first degree" for v in t["y"]]
    assert firsts and all(v == 5000 for v in firsts)  # the published total, one bar each
    tl = reader.timeline(reach["campaign_id"][0])
    assert tl["cumulative_reach"].null_count() == 0  # steps between published values
