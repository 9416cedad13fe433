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


def ensure_sample(data: Path, scale: float, campaigns: int) -> None:
    if (data / "follows.csv").exists():
        return
    print(f"generating the sample (scale {scale}, {campaigns} campaigns) into {data} ...")
    subprocess.run([sys.executable, "-m", "reach_cli.main", "sample", "--out", str(data),
                    "--scale", str(scale), "--campaigns", str(campaigns)], check=True,
                   cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def duckdb_side(lake: Path, sql_file: str) -> dict:
    """Run sql/<sql_file> in DuckDB over the lake's Parquet; time it, rows sorted."""
    import duckdb
    t = lake.resolve() / "tables"
    sql = (ROOT / "sql" / sql_file).read_text().format(
        posts=t / "posts" / "*" / "*.parquet", shares=t / "shares" / "*" / "*.parquet",
        follows=t / "follows" / "*" / "*.parquet")
    t0 = time.perf_counter()
    rows = duckdb.sql(sql).fetchall()
    return {"seconds": time.perf_counter() - t0, "cells": len(rows),
            "result": sorted(list(r) for r in rows)}
