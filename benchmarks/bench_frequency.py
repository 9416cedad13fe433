"""Frequency benchmark: the `frequency` mart beside the `reach` mart and DuckDB SQL.

On the same lake as bench_reach.py (≥10M follow edges, 200 campaigns), in separate
processes: the reach mart (reach), the frequency mart (reach), and sql/frequency_mart.sql
in DuckDB. Checks that the frequency numbers agree with DuckDB's and prints the times.
Target: the frequency mart within 1.5x of the reach mart's time.

    python benchmarks/bench_frequency.py [--lake .bench/lake] [--data .bench/data]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from _harness import duckdb_side, ensure_lake, lake_args, print_sides, run_side

COLS = ["reach_1_plus", "reach_3_plus", "people_1", "people_2", "people_11_plus",
        "opportunities"]


def _tables(lake: Path) -> dict:
    from etl.lake import Lake
    lk = Lake.open(lake)
    return {t: lk.scan(t) for t in ("accounts", "follows", "posts", "shares", "_account_keys")}


def side_reach(lake: Path) -> dict:
    from reach.engine.marts import reach_mart
    t0 = time.perf_counter()
    df = reach_mart(_tables(lake))
    return {"seconds": time.perf_counter() - t0, "cells": df.height}


def side_frequency(lake: Path) -> dict:
    import polars as pl

    from reach.engine.marts import ComputeSpec, compute_marts
    t0 = time.perf_counter()
    df = compute_marts(_tables(lake), spec=ComputeSpec(sketches=False),
                       only=("frequency",))["frequency"]
    seconds = time.perf_counter() - t0
    rows = (df.filter(pl.col("network") != "all", pl.col("scope") == "total",
                      pl.col("reach_1_plus") > 0)
            .select("campaign_id", "network", *COLS).sort("campaign_id", "network").rows())
    return {"seconds": seconds, "cells": len(rows), "result": rows}


def side_duckdb(lake: Path) -> dict:
    return duckdb_side(lake, "frequency_mart.sql")


SIDES = {"reach": side_reach, "frequency": side_frequency, "duckdb": side_duckdb}


def main() -> None:
    a = lake_args(tuple(SIDES))
    if a.side:
        print(json.dumps(SIDES[a.side](a.lake)))
        return
    ensure_lake(a)
    res = {side: run_side(Path(__file__), side, "--lake", str(a.lake)) for side in SIDES}
    r, f, d = res["reach"], res["frequency"], res["duckdb"]
    agree = [list(x) for x in f["result"]] == d["result"]
    print(f"\nfrequency mart, {f['cells']:,} campaign x network cells with people reached")
    print_sides({"reach mart": r, "frequency": f, "duckdb freq": d},
                [("query seconds", "seconds", ".2f"), ("peak memory MB", "peak_rss_mb", ".0f")])
    print(f"results agree with DuckDB: {agree}")
    print(f"frequency / reach mart time: {f['seconds'] / r['seconds']:.2f}x (target <= 1.5x); "
          f"DuckDB / frequency: {d['seconds'] / f['seconds']:.1f}x")
    if not agree:
        raise SystemExit("the two engines disagree")


if __name__ == "__main__":
    main()
