"""Known-bad input files, one fault each, with the exact message a person would read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


@pytest.mark.parametrize("table,row,message", [
    ("posts", "x,p1,a,2026-01-06T10:00:00Z,c1,10,0.5",
     "posts.csv line 2: `first_share_at` is 2026-01-05 11:00:00 UTC but `created_at` is "
     "2026-01-06 10:00:00 UTC; a share of this post already in the lake is earlier; a post "
     "cannot move after shares already loaded (load the corrected shares first, then the "
     "post) (rule: not-after-shares)"),
    ("shares", "x,s1,p1,b,2026-01-05T13:00:00Z,p1",
     "shares.csv line 2: `first_reshare_at` is 2026-01-05 12:00:00 UTC but `created_at` is "
     "2026-01-05 13:00:00 UTC; a reshare of this share already in the lake is earlier; a "
     "share cannot move after reshares already loaded (load the corrected reshares first) "
     "(rule: not-after-reshares)"),
])
def test_a_later_batch_cannot_reorder_what_is_loaded(table, row, message, tmp_path):
    """Cross-batch time order: a post moved after its loaded shares, or a share after its
    loaded reshares, is quarantined (it used to be accepted, and cascades then reported a
    negative time_to_half_s)."""
    first = tmp_path / "first"
    shutil.copytree(CASES[0], first)
    for f in first.glob("_*"):
        f.unlink()
    (first / "posts.csv").write_text(
        "network,post_id,account_id,created_at,campaign_id,likes,sentiment\n"
        "x,p1,a,2026-01-05T10:00:00Z,c1,10,0.5\n")
    (first / "shares.csv").write_text(
        "network,share_id,post_id,sharer_id,created_at,parent_id\n"
        "x,s1,p1,b,2026-01-05T11:00:00Z,p1\nx,s2,p1,c,2026-01-05T12:00:00Z,s1\n")
    lake_root = tmp_path / "lake"
    load(extract(str(first)), lake_root)
    second = tmp_path / "second"
    second.mkdir()
    header = (first / f"{table}.csv").read_text().splitlines()[0]
    (second / f"{table}.csv").write_text(f"{header}\n{row}\n")
    report = load(extract(str(second)), lake_root)
    assert report.counts[table].quarantined == 1
    q = pl.read_parquet(lake_root / "quarantine" / table / f"{report.batch_id}.parquet")
    assert q["reason"].to_list() == [message]


def test_a_decompression_bomb_is_refused_in_bounded_memory(tmp_path):
    """A ~1 MB follows.csv.gz that would expand to 1 GB: refused with a message naming the
    limits, after reading at most the limit, in a process whose peak memory stays small."""
    import gzip
    src = tmp_path / "src"
    shutil.copytree(CASES[0], src)
    for f in [*src.glob("_*"), src / "follows.csv"]:
        f.unlink()
    row = b"x,b,a\n" * (1 << 20)  # 6 MiB of the same row
    with gzip.open(src / "follows.csv.gz", "wb", compresslevel=9) as fh:
        fh.write(b"network,follower_id,followee_id\n")
        for _ in range(170):  # ~1 GiB expanded
            fh.write(row)
    script = ("import resource, sys\nfrom etl.sources import extract\n"
              "from etl.load import load\nfrom reach.errors import TableError\n"
              "try:\n    load(extract(sys.argv[1]), sys.argv[2])\n"
              "except TableError as e:\n    print(e)\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    # follows are read piece by piece while loading: the refusal comes from the load
    run = subprocess.run([sys.executable, "-c", script, str(src), str(tmp_path / "lake")],
                         env=env, capture_output=True, text=True, timeout=300)
    message, peak_mb = run.stdout.strip().rsplit("\n", 1)
    size = (src / "follows.csv.gz").stat().st_size
    assert message == (
        f"follows.csv.gz: refused, it expands past {size * 200:,} bytes ({size:,} compressed; "
        f"the limits are 200x its size and {4 << 30:,} bytes). If the file is genuine, raise "
        "REACH_GZIP_MAX_RATIO or REACH_GZIP_MAX_BYTES.")
    print(f"decompression bomb: {size:,} bytes of gzip refused; peak memory {peak_mb} MB")
    assert int(peak_mb) < 1024
    assert not list((tmp_path / "lake").glob("tables/*"))  # nothing written


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_table_file_with_no_rows_loads_nothing_and_does_not_fail(tmp_path, suffix):
    """An export with a header and no rows (an empty shares file) is a batch of zero
    shares, not a crash (it raised a TypeError in the shares checks)."""
    from .gen import make_tables, write
    src = write(make_tables(3), tmp_path / "src")
    empty = pl.read_csv(src / "shares.csv", infer_schema=False).head(0)
    (src / "shares.csv").unlink()
    if suffix == "csv":
        empty.write_csv(src / "shares.csv")
    else:
        empty.write_parquet(src / "shares.parquet")
    report = load(extract(str(src)), tmp_path / "lake")
    assert report.counts["shares"].rows_in == 0
    assert report.counts["posts"].accepted > 0
