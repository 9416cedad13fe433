"""Fault check: kill -9 loads at random moments, then read the lake and load again.

Each round starts `reach etl` on a new batch, kills it with SIGKILL after a random delay,
then checks that the lake reads as it was after some whole load (each table's rows equal
the log's count) and that `reach compute` runs; the next round's load must also roll
back whatever the killed one had committed. Prints how many kills landed mid-load.

    python benchmarks/stress_kill.py [--rounds 20] [--work .bench/stress]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--work", type=Path, default=Path(".bench/stress"))
    a = ap.parse_args()
    from etl.lake import Lake
    from etl.sample import generate
    shutil.rmtree(a.work, ignore_errors=True)
    lake = a.work / "lake"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    etl = [sys.executable, "-m", "reach_cli.main", "etl"]
    generate(a.work / "b0", seed=0, scale=0.3, campaigns=2)
    subprocess.run([*etl, str(a.work / "b0"), "--lake", str(lake)], env=env, check=True,
                   capture_output=True)
    rnd, mid_load, committed = random.Random(7), 0, 0
    for i in range(1, a.rounds + 1):
        batch = a.work / f"b{i}"
        generate(batch, seed=i, scale=0.3, campaigns=2)
        loads_before = len(Lake.open(lake).history())
        proc = subprocess.Popen([*etl, str(batch), "--lake", str(lake)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.5, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lk = Lake.open(lake)
        landed = len(lk.history()) > loads_before
        committed += landed
        mid_load += not landed
        for table, total in lk.manifest()["tables"].items():
            assert lk.read(table).height == total["rows"], (i, table)
        subprocess.run([sys.executable, "-m", "reach_cli.main", "compute", "--lake",
                        str(lake)], env=env, check=True, capture_output=True)
        print(f"round {i}: {'load had committed' if landed else 'killed mid-load'}; "
              "lake consistent, compute ran", flush=True)
    done = subprocess.run([*etl, str(a.work / "b1"), "--lake", str(lake)], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    print(f"\n{a.rounds} kill -9 rounds: {mid_load} killed mid-load, {committed} after the "
          "commit; every time the lake read as after a whole load, compute ran, and the "
          "next load succeeded")


if __name__ == "__main__":
    main()
