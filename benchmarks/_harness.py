"""Run one side of a benchmark in a fresh process; report wall time and peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_side(script: Path, side: str, *args: str) -> dict:
    """Run ``script --side SIDE args``; it prints one JSON line (its own timings)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(script), "--side", side, *args],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{side} failed with status {status}")
    result = json.loads(out.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t0
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def print_sides(sides: dict[str, dict], rows: list[tuple[str, str, str]]) -> None:
    """The side-by-side table every benchmark prints: a column per side (the JSON its
    process printed), a row per (label, key in that JSON, format such as ".2f")."""
    widths = [max(12, len(name) + 2) for name in sides]
    print(f"{'':24}" + "".join(f"{name:>{w}}" for name, w in zip(sides, widths, strict=True)))
    for label, key, fmt in rows:
        print(f"{label:24}" + "".join(f"{side[key]:{w}{fmt}}" for side, w in
                                      zip(sides.values(), widths, strict=True)))


def ensure_sample(data: Path, scale: float, campaigns: int) -> None:
    if (data / "follows.csv").exists():
        return
    print(f"generating the sample (scale {scale}, {campaigns} campaigns) into {data} ...")
    subprocess.run([sys.executable, "-m", "reach_cli.main", "sample", "--out", str(data),
                    "--scale", str(scale), "--campaigns", str(campaigns)], check=True,
                   cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def duckdb_side(lake: Path, sql_file: str, *, hot_runs: int = 0) -> dict:
    """Run sql/<sql_file> in DuckDB over the lake's Parquet; time it, rows sorted.
    ``hot_runs``: run it that many more times in the same process (``hot_seconds``, the
    fastest: see :func:`hot_seconds`)."""
    import duckdb

    from etl.lake import Lake
    lk = Lake.open(lake)
    sql = (ROOT / "sql" / sql_file).read_text().format(
        **{t: lk.files_sql(t) for t in ("posts", "shares", "follows")})
    t0 = time.perf_counter()
    rows = duckdb.sql(sql).fetchall()
    out = {"seconds": time.perf_counter() - t0, "cells": len(rows),
           "result": sorted(list(r) for r in rows)}
    if hot_runs:
        out["hot_seconds"] = hot_seconds(lambda: duckdb.sql(sql).fetchall(), hot_runs)
    return out


def hot_seconds(run, runs: int) -> float:
    """The fastest of ``runs`` more calls of ``run()`` in a process that has run it once:
    what a long-lived process (the dashboard, a service) sees. The fastest, not the mean,
    as the docs of Python's ``timeit`` advise: slower runs measure the machine's other
    load. Both sides of a benchmark are timed the same way."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def lake_args(sides: tuple[str, ...]):
    """The arguments of a benchmark that runs on the sample lake: --side, --lake, --data,
    --scale, --campaigns."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=sides)
    ap.add_argument("--lake", type=Path, default=Path(".bench/lake"))
    ap.add_argument("--data", type=Path, default=Path(".bench/data"))
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--campaigns", type=int, default=200)
    return ap.parse_args()


def ensure_lake(a) -> None:
    """Generate the sample and load it into ``a.lake`` unless that lake exists."""
    if (a.lake / "_loads").exists():
        return
    ensure_sample(a.data, a.scale, a.campaigns)
    sys.path.insert(0, str(ROOT))
    from etl.load import load
    from etl.sources import extract
    print(f"building the lake {a.lake} ...")
    load(extract(str(a.data)), a.lake)
