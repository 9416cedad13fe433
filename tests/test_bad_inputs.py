"""Known-bad input files, one fault each, with the exact message a person would read."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from etl.lake import Lake
from etl.load import load
from etl.sources import extract
from reach.errors import LakeError, TableError

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


@pytest.mark.parametrize("kind", ["dangling symlink", "symlink loop", "empty folder",
                                  "folder with files", "fifo"])
def test_a_table_file_that_is_not_a_file_refuses_the_load(kind, tmp_path):
    """posts.csv that cannot be read is never skipped in silence: the load stops, names the
    entry and what it is, and leaves the lake as it was."""
    src = tmp_path / "src"
    shutil.copytree(CASES[0], src)
    for f in src.glob("_*"):
        f.unlink()
    (src / "posts.csv").unlink()
    posts = src / "posts.csv"
    if kind == "dangling symlink":
        posts.symlink_to(tmp_path / "gone.csv")
        why = f"posts.csv is a symbolic link to {tmp_path / 'gone.csv'}, which does not exist"
    elif kind == "symlink loop":
        posts.symlink_to(src / "posts.csv")
        why = "posts.csv is a symbolic link that loops back on itself"
    elif kind.endswith("folder") or kind == "folder with files":
        posts.mkdir()
        if kind == "folder with files":
            (posts / "part.csv").write_text("network,post_id\nx,p1\n")
        why = "posts.csv is a folder, not a file"
    else:
        os.mkfifo(posts)
        why = "posts.csv is not a regular file (a pipe, socket or device)"
    lake_root = tmp_path / "lake"
    Lake.open(lake_root, create=True)
    before = tree_state(lake_root)
    with pytest.raises(TableError) as info:
        load(extract(str(src)), lake_root)
    assert str(info.value) == (f"{why}. Replace it with the posts file (or remove it) and "
                               "load again.")
    assert tree_state(lake_root) == before


def test_a_folder_that_is_not_a_lake_is_left_as_it_was(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(LakeError, match="exists and is not empty, and is not a reach lake"):
        load(extract(str(CASES[0])), foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["cat.jpg"]  # no .lock left behind
