"""The benchmarks that compare reach with DuckDB still run, and agree, on a small lake.

Each benchmark checks reach's numbers against an independent SQL engine over the same
Parquet before it prints a ratio, so a run here is an oracle check as well as a guard
against a benchmark that no longer runs. Timings are printed, never asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize(("script", "agreement"), [
    ("bench_reach.py", "results agree: True"),
    ("bench_frequency.py", "results agree with DuckDB: True"),
    ("bench_attribution.py", "credits agree (1e-6): True"),
])
def test_benchmark_agrees_with_duckdb(sample_lake, script, agreement):
    lake, _ = sample_lake
    assert agreement in _run(script, "--lake", str(lake))


def test_spark_benchmark_polars_side(sample_lake, tmp_path):
    """The Polars side of bench_spark (the Spark side takes a JVM: the Spark tests run
    the engine itself) writes every mart the Spark engine computes."""
    from reach.engine.registry import SPARK_MARTS
    lake, marts = sample_lake
    _run("bench_spark.py", "--side", "polars", "--lake", str(lake), "--out", str(tmp_path))
    for m in SPARK_MARTS:
        assert pl.read_parquet(tmp_path / f"polars-{m}.parquet").equals(marts[m]), m
