"""Spark (local mode) vs the Polars engine on the same lake: reach, two_hop, cascades,
amplifiers and timeline, each engine in its own process, results checked equal, times side
by side.
Polars is expected to win on one machine; the point is the same rows and a way out.

    python benchmarks/bench_spark.py [--lake .bench/lake] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _harness import run_side

from reach.engine.registry import MARTS, SPARK_MARTS

KEYS = {m: list(MARTS[m].key) for m in SPARK_MARTS}  # each mart's natural key


def side_polars(lake: Path, out: Path) -> dict:
    import polars as pl

    from etl.lake import Lake
    from reach.audience.distinct import (
        accounts_by_network,
        potential_counts,
        reach_rows,
        reported_counts,
    )
    from reach.audience.people import PersonLinks
    from reach.audience.timeline import timeline_rows
    from reach.cascades.amplifiers import amplifier_rows
    from reach.cascades.trees import build_forest, cascade_metrics, shares_triggered
    from reach.engine.cells import campaign_cells
    from reach.followers.graph import account_key_sizes, build_graphs
    from reach.followers.two_hop import two_hop_rows
    t0 = time.perf_counter()
    lk = Lake.open(lake)
    t = {n: lk.scan(n) for n in ("accounts", "follows", "posts", "shares", "_account_keys")}
    keys = t["_account_keys"]
    sizes = account_key_sizes(keys)
    graphs = build_graphs(t["follows"], keys, sizes)
    cells = campaign_cells(t["posts"], t["shares"])
    accounts = accounts_by_network(t["accounts"], sizes)
    reported = reported_counts(accounts, sizes)
    marts = {"reach": reach_rows(cells, graphs, potential_counts(reported, graphs, sizes),
                                 PersonLinks.from_accounts(accounts, sizes))}
    forest = build_forest(t["posts"], t["shares"], t["follows"])
    marts["cascades"] = cascade_metrics(forest, t["posts"], graphs)
    marts["amplifiers"] = amplifier_rows(
        cells, graphs, shares_triggered(forest, t["posts"]),
        keys.select("network", "account_key", "account_id").collect())
    marts["timeline"] = timeline_rows(cells, graphs)
    subjects = pl.concat([
        t["accounts"].filter(pl.col("is_brand").fill_null(False)).select(
            "network", "account_key", "account_id"),
        t["posts"].filter(pl.col("campaign_id").is_not_null()).select(
            "network", "account_key", "account_id")]).unique().collect()
    marts["two_hop"] = two_hop_rows(subjects, graphs)
    seconds = time.perf_counter() - t0
    for m, df in marts.items():
        df.write_parquet(out / f"polars-{m}.parquet")
    return {"seconds": seconds}


def side_spark(lake: Path, out: Path, master: str) -> dict:
    from reach.engine.spark import compute_spark, read_lake, session
    # local mode runs executors inside the driver JVM: give it room (default is 1 GB)
    spark = session(master, {"spark.driver.memory": "8g"})
    spark.sparkContext.setLogLevel("ERROR")
    t0 = time.perf_counter()
    marts = compute_spark(spark, read_lake(spark, str(lake.resolve())))
    seconds = time.perf_counter() - t0
    for m, df in marts.items():
        df.write_parquet(out / f"spark-{m}.parquet")
    spark.stop()
    return {"seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=("polars", "spark"))
    ap.add_argument("--lake", type=Path, default=Path(".bench/lake"))
    ap.add_argument("--out", type=Path, default=Path(".bench/spark-vs-polars"))
    ap.add_argument("--master", default="local[2]")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.side:
        r = side_polars(a.lake, a.out) if a.side == "polars" else side_spark(
            a.lake, a.out, a.master)
        print(json.dumps(r))
        return
    import polars as pl
    res = {s: run_side(Path(__file__), s, "--lake", str(a.lake), "--out", str(a.out),
                       "--master", a.master) for s in ("polars", "spark")}
    from etl.lake import Lake
    edges = Lake.open(a.lake).scan("follows").select(pl.len()).collect().item()
    same = {}
    for m, keys in KEYS.items():
        p = pl.read_parquet(a.out / f"polars-{m}.parquet").sort(keys)
        s = pl.read_parquet(a.out / f"spark-{m}.parquet").select(p.columns).sort(keys)
        same[m] = p.height == s.height and all(
            (((p[c] - s[c]).abs().fill_null(0) < 1e-6).all() if p[c].dtype.is_float()
             else p[c].equals(s[c])) for c in p.columns)
    print(f"\n{', '.join(KEYS)} over {edges:,} follow edges")
    print(f"{'':22}{'polars':>10}{'spark ' + a.master:>18}")
    print(f"{'compute seconds':22}{res['polars']['seconds']:10.1f}{res['spark']['seconds']:18.1f}")
    print(f"{'process seconds':22}{res['polars']['process_s']:10.1f}"
          f"{res['spark']['process_s']:18.1f}")
    print(f"{'peak memory MB':22}{res['polars']['peak_rss_mb']:10.0f}"
          f"{res['spark']['peak_rss_mb']:18.0f}  (spark: the Python driver only; the JVM "
          f"is a child process)")
    print(f"same rows: {same}")
    print(f"polars is {res['spark']['seconds'] / res['polars']['seconds']:.1f}x faster on one "
          "machine")
    if not all(same.values()):
        raise SystemExit("the engines disagree")


if __name__ == "__main__":
    main()
