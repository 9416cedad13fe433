"""The warm-up threads load exactly the compiled kernels, with exactly the argument
types, that the real calls then use: ``reach.engine.marts._load_kernels`` for the reach
and frequency marts, ``etl.id_numbers.warm_up`` for a load.

A kernel it misses, or one warmed with other types than the real call's, costs the first
real call a cache load or a compilation on the query's critical path; nothing else would
notice. Run in a fresh process, where no other test has compiled anything yet.
"""

from __future__ import annotations

import json
import subprocess
import sys

SIGNATURES = """
import json, sys
from numba.core.registry import CPUDispatcher

def signatures():
    found = {}
    for name, module in list(sys.modules.items()):
        if not (name.startswith("reach.") or name.startswith("etl.")):
            continue
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.signatures:
                found[f"{value.__module__}.{value.__name__}"] = sorted(map(str, value.signatures))
    return found
"""
SCRIPT = SIGNATURES + """
from etl.lake import Lake
from reach.engine import marts

marts._load_kernels()
warmed = signatures()
marts._load_kernels = lambda: None
lk = Lake.open(sys.argv[1])
tables = {t: lk.scan(t) for t in ("accounts", "follows", "posts", "shares", "_account_keys")}
marts.compute_marts(tables, only=["reach", "frequency"])
print(json.dumps({"warmed": warmed, "after": signatures()}))
"""
LOAD_SCRIPT = SIGNATURES + """
from etl import load as loading
from etl.id_numbers import warm_up
from etl.sources import extract

warm_up()
warmed = signatures()
loading.warm_up = lambda: None
loading.load(extract(sys.argv[1]), sys.argv[2])
print(json.dumps({"warmed": warmed, "after": signatures()}))
"""


def _compare(script: str, *args: str) -> None:
    run = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                         text=True, check=True)
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    warmed, after = seen["warmed"], seen["after"]
    assert warmed, "the warm-up loaded no kernel"
    missed = {k: v for k, v in after.items() if warmed.get(k) != v}
    assert not missed, ("kernels called with types the warm-up did not load "
                        f"(warmed: {({k: warmed.get(k) for k in missed})}): {missed}")


def test_warm_up_loads_what_the_reach_marts_call(sample_lake):
    lake, _ = sample_lake
    _compare(SCRIPT, str(lake))


def test_warm_up_loads_what_a_load_calls(sample_dir, tmp_path):
    _compare(LOAD_SCRIPT, str(sample_dir), str(tmp_path / "lake"))
