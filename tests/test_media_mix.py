"""Weekly reach and frequency exported for media-mix models (Meridian, PyMC-Marketing),
and the privacy threshold on what leaves the lake."""

from __future__ import annotations

import importlib.util

import polars as pl
import pytest

from reach.audience.mmm import meridian_columns
from reach_cli.main import main


def test_meridian_csv_has_the_shape_its_loader_maps(sample_lake, tmp_path, capsys):
    lake, marts = sample_lake
    out = tmp_path / "rf.csv"
    assert main(["export", "--lake", str(lake), "--for", "meridian", "--out", str(out),
                 "--min-people", "0"]) == 0
    assert "CoordToColumns" in capsys.readouterr().out
    df = pl.read_csv(out)
    weekly = marts["reach_frequency_weekly"].filter(pl.col("level") == "network",
                                                    pl.col("method") == "exact")
    channels = sorted(weekly["network"].unique())
    # Meridian's CsvDataLoader: time and geo columns, <channel>_reach / _frequency per
    # channel, one row per geo x time with no gaps, the KPI where there are conversions
    assert df.columns[:2] == ["time", "geo"] and set(df["geo"]) == {"national"}
    assert [c for c in df.columns if c.endswith("_reach")] == [f"{c}_reach" for c in channels]
    assert [c for c in df.columns if c.endswith("_frequency")] == [
        f"{c}_frequency" for c in channels]
    assert {"conversions", "revenue_per_conversion"} <= set(df.columns)
    times = pl.Series(df["time"]).str.to_date()
    assert times.is_sorted() and times.is_unique().all()
    assert (times.diff().drop_nulls().dt.total_days() == 7).all()  # no gaps
    assert df.drop("revenue_per_conversion").null_count().sum_horizontal()[0] == 0
    # reach per week (not cumulative) and frequency = impressions / reach, as Meridian asks
    for r in weekly.iter_rows(named=True):
        row = df.filter(pl.col("time") == str(r["week_start"])).row(0, named=True)
        assert row[f"{r['network']}_reach"] == r["reach"]
        assert row[f"{r['network']}_frequency"] == pytest.approx(r["average_frequency"] or 0)
    cols = meridian_columns(df)
    assert cols["reach"] and len(cols["reach"]) == len(cols["frequency"])


def test_pymc_marketing_export_is_long(sample_lake, tmp_path):
    lake, marts = sample_lake
    out = tmp_path / "rf.parquet"
    assert main(["export", "--lake", str(lake), "--for", "pymc-marketing", "--out", str(out),
                 "--min-people", "0"]) == 0
    df = pl.read_parquet(out)
    assert df.height == marts["reach_frequency_weekly"].height
    assert {"date", "channel", "campaign", "reach", "frequency"} <= set(df.columns)


def test_export_suppresses_small_cells_by_default(sample_lake, tmp_path, capsys):
    lake, marts = sample_lake
    out = tmp_path / "amp.csv"
    assert main(["export", "--lake", str(lake), "--mart", "amplifiers", "--out", str(out)]) == 0
    assert "privacy threshold 50" in capsys.readouterr().out
    df = pl.read_csv(out)
    small = marts["amplifiers"].filter(pl.col("incremental_reach").is_between(1, 49))
    assert small.height > 0
    shown = df.filter(pl.col("incremental_reach").is_between(1, 49))
    assert shown.height == 0
    assert df["suppressed"].drop_nulls().str.contains("incremental_reach").any()


def test_export_refuses_a_mart_and_a_target_together(sample_lake, tmp_path, capsys):
    lake, _ = sample_lake
    assert main(["export", "--lake", str(lake), "--mart", "reach", "--for", "meridian",
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "either --mart" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("meridian") is None,
                    reason="google-meridian not installed (pip install 'reach[mmm]')")
def test_meridian_loads_the_export(sample_lake, tmp_path):
    from meridian.data import load
    lake, _ = sample_lake
    out = tmp_path / "rf.csv"
    assert main(["export", "--lake", str(lake), "--for", "meridian", "--out", str(out),
                 "--min-people", "0"]) == 0
    df = pl.read_csv(out)
    cols = meridian_columns(df)
    spend = [c.removesuffix("_reach") + "_spend" for c in cols["reach"]]
    df.with_columns([pl.lit(100.0).alias(s) for s in spend]).with_columns(
        pl.lit(1.0).alias("population")).write_csv(out)
    data = load.CsvDataLoader(
        csv_path=str(out), kpi_type="non_revenue",
        coord_to_columns=load.CoordToColumns(**cols, rf_spend=spend, population="population"),
    ).load()
    assert data.reach.shape[-1] == len(cols["reach"])
