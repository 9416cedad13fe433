"""The warm-up thread (``reach.engine.marts._load_kernels``) loads exactly the compiled
kernels, with exactly the argument types, that the reach and frequency marts then call.

A kernel it misses, or one warmed with other types than the real call's, costs the first
real call a cache load or a compilation on the query's critical path; nothing else would
notice. Run in a fresh process, where no other test has compiled anything yet.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
from numba.core.registry import CPUDispatcher
from etl.lake import Lake
from reach.engine import marts

def signatures():
    found = {}
    for name, module in list(sys.modules.items()):
        if not (name.startswith("reach.") or name.startswith("etl.")):
            continue
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.signatures:
                found[f"{value.__module__}.{value.__name__}"] = sorted(map(str, value.signatures))
    return found

marts._load_kernels()
warmed = signatures()
marts._load_kernels = lambda: None
lk = Lake.open(sys.argv[1])
tables = {t: lk.scan(t) for t in ("accounts", "follows", "posts", "shares", "_account_keys")}
marts.compute_marts(tables, only=["reach", "frequency"])
print(json.dumps({"warmed": warmed, "after": signatures()}))
"""


def test_warm_up_loads_what_the_reach_marts_call(sample_lake):
    lake, _ = sample_lake
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(lake)], capture_output=True,
                         text=True, check=True)
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    warmed, after = seen["warmed"], seen["after"]
    assert warmed, "the warm-up loaded no kernel"
    missed = {k: v for k, v in after.items() if warmed.get(k) != v}
    assert not missed, ("kernels the marts called with types the warm-up did not load "
                        f"(warmed: {({k: warmed.get(k) for k in missed})}): {missed}")
