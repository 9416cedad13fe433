"""The Spark engine on a real standalone cluster: a master and two workers on 127.0.0.1
started from the installed PySpark, the job sent with spark-submit, the marts equal to
the Polars engine's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from reach.engine.registry import SPARK_MARTS

from .conftest import write_marts
from .gen import make_tables, write
from .ports import free_port
from .test_spark_engine import assert_same

ROOT = Path(__file__).resolve().parents[1]



@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """spark://127.0.0.1:PORT with two one-core workers; stopped (with the workers) after."""
    try:
        import pyspark
    except ImportError:
        pyspark = None
    if pyspark is None or not shutil.which("java"):
        if os.environ.get("REACH_REQUIRE_SPARK"):
            pytest.fail("pyspark or java is missing; `make setup` and `make system-deps`")
        pytest.skip("pyspark or java not installed")
    home = Path(pyspark.__file__).parent
    work = tmp_path_factory.mktemp("spark")
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1",
               SPARK_LOG_DIR=str(work / "logs"), SPARK_WORKER_DIR=str(work / "workers"),
               PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    port, ui = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    spark_class = str(home / "bin" / "spark-class")
    log = open(work / "cluster.log", "wb")  # noqa: SIM115 (closed in the finally below)
    procs = [subprocess.Popen([spark_class, "org.apache.spark.deploy.master.Master",
                               "--host", "127.0.0.1", "--port", str(port),
                               "--webui-port", str(ui)], env=env, stdout=log, stderr=log)]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.worker.Worker", master_url,
                 "--host", "127.0.0.1", "--webui-port", str(free_port()), "--cores", "1",
                 "--memory", "1g", "--work-dir", str(work / f"worker{i}")],
                env=env, stdout=log, stderr=log))
        deadline = time.time() + 120
        alive = 0
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as r:
                    alive = json.load(r).get("aliveworkers", 0)
            except OSError:
                alive = 0
            if alive == 2:
                break
            time.sleep(1)
        if alive != 2:
            pytest.fail(f"the cluster did not come up (see {work / 'cluster.log'})")
        yield {"url": master_url, "ui": ui, "env": env, "home": home}
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def test_spark_submit_on_a_standalone_cluster(cluster, tmp_path):
    from etl.load import load
    from etl.sources import extract
    from reach.engine.marts import compute_marts

    lake = tmp_path / "lake"  # a path both workers see (one machine)
    load(extract(str(write(make_tables(4), tmp_path / "src"))), lake)
    from etl.lake import Lake
    lk = Lake.open(lake)
    polars = compute_marts({t: lk.scan(t) for t in ("campaigns", "accounts", "follows",
                                                     "posts", "shares", "conversions",
                                                     "_account_keys")})
    write_marts(lake, {m: polars[m].clear() for m in SPARK_MARTS})  # Spark must overwrite
    env = dict(cluster["env"], PYTHONPATH=str(ROOT))
    job = subprocess.run(
        [str(cluster["home"] / "bin" / "spark-submit"), "--master", cluster["url"],
         "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
         "--conf", "spark.executor.memory=1g", "--conf", "spark.cores.max=2",
         "--conf", "spark.sql.shuffle.partitions=4", "--conf", "spark.ui.enabled=false",
         "--conf", f"spark.executorEnv.PYTHONPATH={ROOT}",
         str(ROOT / "reach_cli" / "spark_job.py"), "--lake", str(lake)],
        env=env, capture_output=True, text=True, timeout=900)
    assert job.returncode == 0, job.stderr[-3000:]
    # the application ran on the cluster's executors, not in local mode
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster['ui']}/json/", timeout=5) as r:
        apps = json.load(r)["completedapps"]
    assert apps and apps[-1]["cores"] >= 1
    got = {m: Lake.open(lake).read_mart(m) for m in SPARK_MARTS}
    assert all(got[m].height for m in ("reach", "cascades"))
    assert_same(got, polars)
