"""Files read beside the packages (sql/, docs/, expectations/) are found in a checkout and
after `pip install`, and pyproject ships every one of them."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from reach import resources
from reach.errors import ReachError

ROOT = Path(__file__).resolve().parents[1]


def test_the_checkout_comes_first(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert resources.resource("sql", "spark") == ROOT / "sql" / "spark"


def test_an_installed_copy_is_found_without_a_checkout(monkeypatch, tmp_path):
    shared = tmp_path / "prefix" / "share" / "reach" / "sql" / "spark"
    shared.mkdir(parents=True)
    monkeypatch.setattr(resources, "CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert resources.resource("sql", "spark") == shared
    with pytest.raises(ReachError, match=r"cannot find docs/marts.md .*REACH_DOCS"):
        resources.resource("docs", "marts.md", env="REACH_DOCS")
    monkeypatch.setenv("REACH_DOCS", str(shared))
    assert resources.resource("docs", "marts.md", env="REACH_DOCS") == shared


def test_pyproject_ships_every_file_the_code_reads():
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["data-files"]
    shipped = {(Path(dest), p) for dest, globs in data_files.items() for g in globs
               for p in ROOT.glob(g)}
    for p in [*ROOT.glob("sql/**/*.sql"), ROOT / "docs" / "marts.md",
              *ROOT.glob("expectations/*.json")]:
        rel = p.relative_to(ROOT)
        assert (Path("share/reach") / rel.parent, p) in shipped, f"{rel} is not installed"


def test_pyproject_lists_every_python_package():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["packages"])
    for top in ("reach", "etl", "dashboards", "reach_cli"):
        for init in (ROOT / top).rglob("__init__.py"):
            name = ".".join(init.parent.relative_to(ROOT).parts)
            assert name in listed, f"{name} would be missing from the wheel"
