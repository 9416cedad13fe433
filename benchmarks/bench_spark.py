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

from _harness import print_sides, run_side

from reach.engine.registry import MARTS, SPARK_MARTS

KEYS = {m: list(MARTS[m].key) for m in SPARK_MARTS}  # each mart's natural key


def side_polars(lake: Path, out: Path) -> dict:
    from etl.lake import Lake
    from reach.engine.marts import NEEDED, ComputeSpec, compute_marts
    t0 = time.perf_counter()
    lk = Lake.open(lake)
    marts = compute_marts({t: lk.scan(t) for t in NEEDED}, spec=ComputeSpec(sketches=False),
                          only=SPARK_MARTS)
    seconds = time.perf_counter() - t0
    for m, df in marts.items():
        df.write_parquet(out / f"polars-{m}.parquet")
    return {"seconds": seconds}


def side_spark(lake: Path, out: Path, master: str) -> dict:
    from etl.lake import Lake
    from reach.engine.spark import compute_spark, read_lake, session
    # local mode runs executors inside the driver JVM: give it room (default is 1 GB)
    spark = session(master, {"spark.driver.memory": "8g"})
    spark.sparkContext.setLogLevel("ERROR")
    t0 = time.perf_counter()
    marts = compute_spark(spark, read_lake(spark, Lake.open(lake)))
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
    print_sides({"polars": res["polars"], f"spark {a.master}": res["spark"]}, [
        ("compute seconds", "seconds", ".1f"), ("process seconds", "process_s", ".1f"),
        ("peak memory MB", "peak_rss_mb", ".0f")])
    print("(spark's peak memory: the Python driver only; the JVM is a child process)")
    print(f"same rows: {same}")
    print(f"polars is {res['spark']['seconds'] / res['polars']['seconds']:.1f}x faster on one "
          "machine")
    if not all(same.values()):
        raise SystemExit("the engines disagree")


if __name__ == "__main__":
    main()
