from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


MEASURED: list[str] = []  # statistical checks report here; printed after the run


@pytest.fixture
def measured():
    """Append a line (e.g. an interval coverage) to the summary printed after the tests."""
    return MEASURED.append


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.section("measured by the statistical tests")
        for line in MEASURED:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def write_marts(lake: Path, marts: dict) -> None:
    """Write marts as `reach compute` does (the warehouse and dashboard read them there)."""
    from etl.lake import Lake
    Lake.open(lake).write_marts(marts)


def load_and_compute(source: Path, lake: Path, **compute_kw):
    from etl.lake import Lake
    from etl.load import load
    from etl.sources import extract
    from reach.engine.marts import ComputeSpec, compute_marts
    load(extract(str(source)), lake)
    lk = Lake.open(lake)
    tables = {t: lk.scan(t) for t in ("campaigns", "accounts", "follows", "posts", "shares",
                                       "conversions", "_account_keys")}
    return compute_marts(tables, spec=ComputeSpec(**compute_kw))


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    from etl.sample import generate
    out = tmp_path_factory.mktemp("sample")
    generate(out, seed=3, scale=0.2, campaigns=4)
    return out


@pytest.fixture(scope="session")
def sample_lake(sample_dir, tmp_path_factory) -> tuple[Path, dict[str, pl.DataFrame]]:
    lake = tmp_path_factory.mktemp("lake") / "lake"
    marts = load_and_compute(sample_dir, lake)
    write_marts(lake, marts)
    return lake, marts


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server (tests/pg.py), or a skip where none is installed.

    CI sets REACH_REQUIRE_POSTGRES=1 after installing it, so there a missing server fails.
    """
    from .pg import Server, find_bindir
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("REACH_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                        "`make system-deps` installs Debian's postgresql")
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    server = Server(bindir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty warehouse: an SQLite file, or a fresh database on the throwaway server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    return request.getfixturevalue("pg_server").new_database()
