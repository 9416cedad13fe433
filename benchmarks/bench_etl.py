"""ETL benchmark: reach's whole load (validation included) vs DuckDB's bare conversion.

Both read the same sample CSVs (≥10M follow edges) and write Parquet; each runs in its
own process so peak memory is its own. DuckDB only converts (no validation, no keys,
no quarantine): the target is reach within 1.5x of it, peak memory under 4 GB.

    python benchmarks/bench_etl.py [--data .bench/data] [--scale 50] [--campaigns 200]
    python benchmarks/bench_etl.py --edges 100000000   # a follows-only file of that size

With ``--edges N`` the input is one generated follows.csv of N edges among N/20 accounts
(written once to .bench/follows-N/, a few GB): the size at which memory must stay flat.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from _harness import ensure_sample, print_sides, run_side

TABLES = ("campaigns", "accounts", "follows", "posts", "shares", "conversions")


def side_reach(data: Path, out: Path) -> dict:
    from etl.load import load
    from etl.sources import extract
    t0 = time.perf_counter()
    report = load(extract(str(data)), out)
    return {"seconds": time.perf_counter() - t0,
            "rows": {t: c.accepted for t, c in report.counts.items()}}


def side_duckdb(data: Path, out: Path) -> dict:
    import duckdb
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect()
    rows = {}
    for t in TABLES:
        if not (data / f"{t}.csv").exists():
            continue
        con.execute(f"COPY (SELECT * FROM read_csv('{data / (t + '.csv')}', sample_size = -1)) "
                    f"TO '{out / (t + '.parquet')}' (FORMAT parquet, COMPRESSION zstd)")
        rows[t] = con.execute(f"SELECT count(*) FROM '{out / (t + '.parquet')}'").fetchone()[0]
    return {"seconds": time.perf_counter() - t0, "rows": rows}


def follows_only(edges: int) -> Path:
    """.bench/follows-N/follows.csv: N random edges among N/20 accounts, made in pieces."""
    import numpy as np
    import polars as pl
    folder = Path(f".bench/follows-{edges}")
    if (folder / "follows.csv").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(edges)
    accounts, t0 = max(edges // 20, 1000), 1_600_000_000
    tmp = folder / ".follows.csv"
    with open(tmp, "wb") as fh:
        fh.write(b"network,follower_id,followee_id,followed_at\n")
        for start in range(0, edges, 10_000_000):
            n = min(10_000_000, edges - start)
            a = rng.integers(0, accounts, n)
            b = (a + rng.integers(1, accounts, n)) % accounts  # never a self-follow
            pl.DataFrame({"network": pl.repeat("x", n, eager=True),
                          "follower_id": a + 100_000, "followee_id": b + 100_000,
                          "followed_at": pl.from_epoch(t0 + rng.integers(0, 10**8, n))
                          .dt.strftime("%Y-%m-%dT%H:%M:%SZ")}
                         ).write_csv(fh, include_header=False)
            print(f"generated {start + n:,} edges", flush=True)
    tmp.rename(folder / "follows.csv")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=("reach", "duckdb"))
    ap.add_argument("--data", type=Path, default=Path(".bench/data"))
    ap.add_argument("--out", type=Path, default=Path(".bench/etl"))
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--campaigns", type=int, default=200)
    ap.add_argument("--edges", type=int, help="a follows-only input of this many edges")
    a = ap.parse_args()
    if a.side:
        fn = side_reach if a.side == "reach" else side_duckdb
        print(json.dumps(fn(a.data, a.out)))
        return
    if a.edges:
        a.data = follows_only(a.edges)
    else:
        ensure_sample(a.data, a.scale, a.campaigns)
    results = {}
    for side in ("duckdb", "reach"):
        target = a.out / side
        shutil.rmtree(target, ignore_errors=True)
        results[side] = run_side(Path(__file__), side, "--data", str(a.data),
                                 "--out", str(target))
    r, d = results["reach"], results["duckdb"]
    edges = r["rows"].get("follows", 0)
    print(f"\nETL of {edges:,} follow edges ({a.data})")
    print_sides({"reach": r, "duckdb": d}, [("load seconds", "seconds", ".2f"),
                                            ("process seconds", "process_s", ".2f"),
                                            ("peak memory MB", "peak_rss_mb", ".0f")])
    print(f"ratio reach/duckdb (load): {r['seconds'] / d['seconds']:.2f}x  (target <= 1.5x); "
          f"reach peak memory {r['peak_rss_mb'] / 1024:.2f} GB (target < 4 GB)")


if __name__ == "__main__":
    main()
