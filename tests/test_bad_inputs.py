"""Known-bad input files, one fault each, with the exact message a person would read."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from etl.lake import Lake
from etl.load import load
from etl.sources import extract
from reach.errors import TableError

CASES = sorted(p for p in (Path(__file__).parent / "data" / "bad").iterdir() if p.is_dir())


def tree_state(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".lock" not in p.name}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Path, tmp_path: Path):
    expected = json.loads((case / "_expected.json").read_text())
    lake_root = tmp_path / "lake"
    if expected["kind"] == "table_error":
        Lake.open(lake_root, create=True)
        before = tree_state(lake_root)
        with pytest.raises(TableError) as info:
            load(extract(str(case)), lake_root)
        assert str(info.value).startswith(expected["message"])
        assert tree_state(lake_root) == before, "a failed load must leave the lake as it was"
        return
    report = load(extract(str(case)), lake_root)
    if expected["kind"] == "warning":
        assert expected["message"] in report.warnings
        return
    table = expected["table"]
    q = pl.read_parquet(lake_root / "quarantine" / table / "*.parquet")
    assert q["reason"].to_list() == [expected["message"]]
    counts = report.counts[table]
    assert counts.rows_in == counts.accepted + counts.quarantined
    assert counts.quarantined == 1


def test_every_rule_has_a_bad_file():
    """Each row rule of each suite is exercised by at least one case above."""
    rules = set()
    for case in CASES:
        msg = json.loads((case / "_expected.json").read_text())["message"]
        if "(rule: " in msg:
            rules.add(msg.rsplit("(rule: ", 1)[1].rstrip(")"))
    assert {"non-negative-count", "type", "not-in-future", "sentiment-range", "known-campaign",
            "unique-key", "no-self-follow", "network-name", "required", "not-before-post",
            "known-parent", "ends-after-start"} <= rules
