"""Wave severity: the documented thresholds, row by row, against a plain Python rule."""

from __future__ import annotations

import polars as pl

from reach.cascades.waves import SEVERITY, severity


def _by_hand(size, reach, per_hour) -> str:
    if not size:
        return "none"
    for level, people, hour in SEVERITY:
        if (reach or 0) >= people or (per_hour or 0) >= hour:
            return level
    raise AssertionError("low has no threshold")


def test_severity_follows_the_documented_thresholds():
    rows = [(0, 50_000, 99), (None, None, None), (1, 12_000, 1), (3, None, 20),
            (8, 9_999, 19), (2, 1_000, 0), (2, 999, 5), (5, 999, 4), (1, None, None)]
    df = pl.DataFrame(rows, schema={"size": pl.Int64, "total_reach": pl.Int64,
                                    "peak_hour_shares": pl.Int64}, orient="row")
    got = df.select(severity())["severity"].to_list()
    assert got == [_by_hand(*r) for r in rows]
    assert got == ["none", "none", "high", "high", "medium", "medium", "medium", "low", "low"]


def test_the_sample_lake_waves_carry_their_severity(sample_lake):
    waves = sample_lake[1]["waves"]
    assert waves.height > 0
    expected = [_by_hand(*r) for r in waves.select("size", "total_reach",
                                                    "peak_hour_shares").rows()]
    assert waves["severity"].to_list() == expected
