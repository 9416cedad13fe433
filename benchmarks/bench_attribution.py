"""Attribution benchmark: reach's rule-based models vs the same models in DuckDB SQL.

Builds (or reuses) the sample lake, computes its conversion paths and touchpoints once
(written beside the lake as Parquet), then in separate processes credits conversions
with the five rule-based models (first and last touch, linear, position, time decay) by
campaign, network and campaign @ network: reach's ``attribution_mart``, and window
functions in DuckDB over the same Parquet. Checks that the credits agree and prints both
times. The reach side also times the whole mart (Markov and Shapley too), which is what
``reach compute`` runs.

    python benchmarks/bench_attribution.py [--lake .bench/lake100]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from _harness import ensure_lake, lake_args, print_sides, run_side

RULES = ("first_touch", "last_touch", "linear", "position", "time_decay")
HALF_LIFE_DAYS = 7.0  # AttributionSpec's default
CHANNELS = {"campaign": "t.campaign_id", "network": "t.network",
            "campaign_network": "t.campaign_id || ' @ ' || t.network"}
SQL = """
WITH t AS (
    SELECT t.path, {channel} AS channel, t.touched_at,
           (epoch_us(p.converted_at) - epoch_us(t.touched_at)) / 86.4e9 AS age
    FROM read_parquet('{touches}') t JOIN read_parquet('{paths}') p USING (path)
    WHERE p.converted),
r AS (
    SELECT channel,
           row_number() OVER (PARTITION BY path ORDER BY touched_at, channel) AS pos,
           count(*) OVER (PARTITION BY path) AS n,
           power(0.5, age / {half_life}) / sum(power(0.5, age / {half_life}))
               OVER (PARTITION BY path) AS decay
    FROM t)
SELECT '{by}', channel,
       sum((pos = 1)::DOUBLE), sum((pos = n)::DOUBLE), sum(1.0 / n),
       sum(CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 WHEN pos = 1 OR pos = n THEN 0.4
                ELSE 0.2 / (n - 2) END),
       sum(decay)
FROM r GROUP BY channel
"""


def inputs(lake: Path) -> Path:
    """The lake's conversion paths and touchpoints as Parquet (made once)."""
    folder = lake.parent / f"{lake.name}_attribution"
    if not (folder / "touches.parquet").exists():
        from etl.lake import Lake
        from reach.engine.marts import ComputeSpec, attribution_paths
        lk = Lake.open(lake)
        tables = {t: lk.scan(t) for t in ("posts", "shares", "follows", "conversions",
                                           "_account_keys")}
        paths, touches = attribution_paths(tables, ComputeSpec())
        folder.mkdir(parents=True, exist_ok=True)
        paths.write_parquet(folder / "paths.parquet")
        touches.write_parquet(folder / "touches.parquet")
    return folder


def side_reach(folder: Path) -> dict:
    import polars as pl

    from reach.attribution.models import AttributionSpec, attribution_mart
    paths = pl.read_parquet(folder / "paths.parquet")
    touches = pl.read_parquet(folder / "touches.parquet")
    t0 = time.perf_counter()
    rules = attribution_mart(paths, touches, AttributionSpec(), models=RULES)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    attribution_mart(paths, touches, AttributionSpec())
    whole = time.perf_counter() - t0
    wide = (rules.filter(pl.col("channel") != "(no touchpoint)")
            .pivot("model", index=["channel_type", "channel"], values="conversions_credited")
            .select("channel_type", "channel", *RULES).sort("channel_type", "channel"))
    return {"seconds": seconds, "whole_mart_seconds": whole, "touches": touches.height,
            "result": wide.rows()}


def side_duckdb(folder: Path) -> dict:
    import duckdb
    sql = " UNION ALL ".join(
        "(" + SQL.format(channel=expr, by=by, half_life=HALF_LIFE_DAYS,
                         touches=folder / "touches.parquet", paths=folder / "paths.parquet")
        + ")" for by, expr in CHANNELS.items())
    t0 = time.perf_counter()
    rows = duckdb.sql(sql).fetchall()
    return {"seconds": time.perf_counter() - t0, "result": sorted(rows)}


def main() -> None:
    a = lake_args(("reach", "duckdb"))
    if a.side:
        folder = inputs(a.lake)
        print(json.dumps((side_reach if a.side == "reach" else side_duckdb)(folder)))
        return
    ensure_lake(a)
    inputs(a.lake)
    res = {side: run_side(Path(__file__), side, "--lake", str(a.lake))
           for side in ("duckdb", "reach")}
    r, d = res["reach"], res["duckdb"]
    agree = len(r["result"]) == len(d["result"]) and all(
        x[:2] == tuple(y[:2]) and all(abs(u - v) <= 1e-6 * max(1.0, abs(v))
                                      for u, v in zip(x[2:], y[2:], strict=True))
        for x, y in zip(map(tuple, r["result"]), d["result"], strict=True))
    print(f"\nattribution over {r['touches']:,} touchpoints, five rule-based models by "
          f"three channel types ({len(r['result'])} channel rows)")
    print_sides({"reach": r, "duckdb": d}, [("query seconds", "seconds", ".2f"),
                                            ("peak memory MB", "peak_rss_mb", ".0f")])
    print(f"credits agree (1e-6): {agree}")
    print(f"speed-up reach vs duckdb: {d['seconds'] / r['seconds']:.1f}x; the whole mart "
          f"(Markov and Shapley too): {r['whole_mart_seconds']:.2f} s")
    if not agree:
        raise SystemExit("the two engines disagree")


if __name__ == "__main__":
    main()
