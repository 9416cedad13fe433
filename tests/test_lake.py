"""The lake's promises: round trip, reload is a no-op, upserts, atomic loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl import lake as lake_mod
from etl.lake import Lake
from etl.load import load
from etl.sources import extract
from reach.errors import LakeError

from .gen import make_tables, write
from .test_bad_inputs import tree_state

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def snapshot_view(root: Path) -> dict[str, pl.DataFrame]:
    lk = Lake.open(root)
    return {t: lk.read(t) for t in ("campaigns", "accounts", "follows", "posts", "shares")}


def frames_equal(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> bool:
    return all(a[t].sort(a[t].columns).equals(b[t].sort(b[t].columns)) for t in a)


@pytest.fixture
def src(tmp_path) -> Path:
    return write(make_tables(11), tmp_path / "src")


def test_round_trip_keeps_every_value(src, tmp_path):
    tables = make_tables(11)
    load(extract(str(src)), tmp_path / "lake")
    lk = Lake.open(tmp_path / "lake")
    posts = lk.read("posts").sort("network", "post_id")
    want = pl.DataFrame(tables["posts"], infer_schema_length=None).sort("network", "post_id")
    assert posts["post_id"].to_list() == want["post_id"].to_list()
    assert posts["likes"].to_list() == want["likes"].to_list()
    assert posts["sentiment"].to_list() == pytest.approx(want["sentiment"].to_list())
    follows = lk.read("follows")
    assert follows.height == len(tables["follows"])
    # dense keys beside the string ids, one consistent mapping per network
    keys = lk.read("_account_keys")
    assert keys.group_by("network").agg(
        (pl.col("account_key").max() + 1 == pl.len()).alias("dense"))["dense"].all()
    j = follows.join(keys.rename({"account_id": "follower_id", "account_key": "k"}),
                     on=["network", "follower_id"])
    assert (j["k"] == j["follower_key"]).all()


def test_followers_are_sorted_by_followee(src, tmp_path):
    load(extract(str(src)), tmp_path / "lake")
    files = Lake.open(tmp_path / "lake").files("follows")
    assert files
    for f in files:
        assert pl.read_parquet(f)["followee_key"].is_sorted()


def test_reload_changes_nothing(src, tmp_path):
    root = tmp_path / "lake"
    load(extract(str(src)), root)
    before = tree_state(root)
    report = load(extract(str(src)), root)
    assert report.skipped
    assert tree_state(root) == before


def test_new_batch_upserts_by_key(src, tmp_path):
    root = tmp_path / "lake"
    load(extract(str(src)), root)
    batch2 = tmp_path / "batch2"
    batch2.mkdir()
    first = pl.read_csv(src / "posts.csv").head(1).with_columns(pl.lit(999).alias("likes"))
    first.write_csv(batch2 / "posts.csv")
    report = load(extract(str(batch2)), root)
    assert report.counts["posts"].replaced == 1
    posts = Lake.open(root).read("posts")
    assert posts.filter(pl.col("post_id") == first["post_id"][0])["likes"].to_list() == [999]
    assert posts.height == pl.read_csv(src / "posts.csv").height
    manifest = Lake.open(root).manifest()
    assert len(manifest["loads"]) == 2
    for entry in manifest["loads"]:
        for c in entry["tables"].values():
            assert c["rows_in"] == c["accepted"] + c["quarantined"]


def test_batches_append_new_rows_and_skip_unchanged_ones(src, tmp_path):
    """New keys are one append (no file rewritten); rows re-sent unchanged change nothing."""
    from deltalake import DeltaTable
    root = tmp_path / "lake"
    load(extract(str(src)), root)
    follows = pl.read_csv(src / "follows.csv")
    files_before = set(Lake.open(root).files("follows"))
    batch = tmp_path / "b"
    batch.mkdir()
    new = follows.head(1).with_columns(pl.lit("zz-new").alias("follower_id"))
    pl.concat([follows.head(5), new]).write_csv(batch / "follows.csv")  # 5 re-sent as they were
    report = load(extract(str(batch)), root)
    assert report.counts["follows"].replaced == 5
    lk = Lake.open(root)
    assert lk.read("follows").height == follows.height + 1
    assert files_before <= set(lk.files("follows"))  # nothing rewritten
    ops = [h["operation"] for h in DeltaTable(str(root / "tables" / "follows")).history()]
    assert "MERGE" not in ops


def test_new_accounts_keep_old_keys(src, tmp_path):
    root = tmp_path / "lake"
    load(extract(str(src)), root)
    old = Lake.open(root).read("_account_keys")
    batch2 = tmp_path / "b2"
    batch2.mkdir()
    pl.DataFrame({"network": ["x", "x"], "follower_id": ["zz-new", "x01"],
                  "followee_id": ["x00", "zz-new"]}).write_csv(batch2 / "follows.csv")
    load(extract(str(batch2)), root)
    new = Lake.open(root).read("_account_keys")
    assert old.join(new, on=["network", "account_id"], suffix="_new").filter(
        pl.col("account_key") != pl.col("account_key_new")).height == 0
    assert new.filter(pl.col("account_id") == "zz-new")["account_key"].item() == old.filter(
        pl.col("network") == "x")["account_key"].max() + 1


def test_failure_at_any_write_leaves_previous_lake(src, tmp_path, monkeypatch):
    """Fail the 1st, 2nd, … write of a load (files, Delta commits, the log row, and the
    roll-back of the failed attempt before): readers always see the lake as it was."""
    root = tmp_path / "lake"
    load(extract(str(src)), root)
    before = snapshot_view(root)
    batch2 = write(make_tables(12), tmp_path / "b2")
    real = lake_mod._step
    fail_at, failures = 1, 0
    while True:
        calls = {"n": 0}

        def flaky(fn, *args, _at=fail_at, _calls=calls, **kw):
            _calls["n"] += 1
            if _calls["n"] == _at:
                raise OSError("disk full (injected)")
            return real(fn, *args, **kw)
        monkeypatch.setattr(lake_mod, "_step", flaky)
        try:
            report = load(extract(str(batch2)), root)
        except OSError as exc:
            assert "injected" in str(exc)
            failures += 1
            monkeypatch.undo()
            assert frames_equal(snapshot_view(root), before), f"write {fail_at} leaked"
            fail_at += 1
            continue
        monkeypatch.undo()
        break
    assert failures >= 10  # raw files, quarantine, keys, six tables, the log row, roll-backs
    assert any("rolled back" in n for n in report.notes)
    assert Lake.open(root).read("posts").height > before["posts"].height
    assert len(Lake.open(root).history()) == 2


def test_time_travel_by_batch(src, tmp_path):
    root = tmp_path / "lake"
    first = load(extract(str(src)), root)
    after_first = snapshot_view(root)
    second = load(extract(str(write(make_tables(12), tmp_path / "b2"))), root)
    assert [e["batch_id"] for e in Lake.open(root).history()] == [first.batch_id,
                                                                   second.batch_id]
    then = Lake.open(root, as_of=first.batch_id)
    assert frames_equal({t: then.read(t) for t in after_first}, after_first)
    assert not frames_equal(snapshot_view(root), after_first)
    with pytest.raises(LakeError, match="no load of .* has that batch id"):
        Lake.open(root, as_of="19700101T000000-nope").read("posts")
    # each table's Delta commit carries the batch id
    from deltalake import DeltaTable
    meta = [h.get("reach.batch_id") for h in DeltaTable(str(root / "tables" / "posts")).history()]
    assert second.batch_id in meta and first.batch_id in meta


def test_killed_load_leaves_previous_lake_readable(tmp_path):
    from etl.sample import generate
    data = tmp_path / "data"
    generate(data, seed=1, scale=0.3, campaigns=2)
    root = tmp_path / "lake"
    small = write(make_tables(3), tmp_path / "small")
    load(extract(str(small)), root)
    before = snapshot_view(root)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    for delay in (0.8, 1.6, 2.4):
        proc = subprocess.Popen([sys.executable, "-m", "reach_cli.main", "etl", str(data),
                                 "--lake", str(root)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = snapshot_view(root)
        assert frames_equal(now, before) or now["posts"].height > before["posts"].height
        if not frames_equal(now, before):
            break  # the load had committed before the kill: also a consistent state


def test_reading_while_loads_commit_sees_whole_loads(tmp_path):
    """`reach compute`'s reads and the dashboard's, in a loop while loads commit in
    another process: never an error, and every read is the lake after some whole load."""
    from dashboards.queries import MartReader
    from reach.engine.marts import compute_marts
    root = tmp_path / "lake"
    load(extract(str(write(make_tables(3), tmp_path / "b0"))), root)
    batches = [write(make_tables(20 + i), tmp_path / f"b{i + 1}") for i in range(4)]
    script = ("import sys\nfrom etl.load import load\nfrom etl.sources import extract\n"
              "for b in sys.argv[2:]:\n    load(extract(b), sys.argv[1])\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-c", script, str(root), *map(str, batches)],
                            env=env, stderr=subprocess.PIPE, text=True)
    reads, seen = 0, set()
    while proc.poll() is None or reads == 0:
        lk = Lake.open(root)
        tables = {t: lk.scan(t) for t in ("campaigns", "accounts", "follows", "posts",
                                          "shares", "conversions", "_account_keys")}
        reach = compute_marts(tables, only=("reach",))["reach"]
        posts = lk.read("posts").height
        assert posts == lk.manifest()["tables"]["posts"]["rows"]  # one whole load
        assert reach.height > 0
        reader = MartReader(root)
        assert reader.manifest()["loads"]
        assert reader._table("campaigns").height > 0
        seen.add(len(lk.history()))
        reads += 1
    _, errors = proc.communicate()
    assert proc.returncode == 0, errors
    assert len(Lake.open(root).history()) == 5
    assert reads >= 3 and len(seen) >= 2, (reads, seen)  # reads overlapped the commits
    print(f"compute + dashboard reads during 4 commits: {reads}, none failed; they saw "
          f"{len(seen)} different loads")


@given(st.data())
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_batch_order_breaks_time_order(tmp_path_factory, data):
    """Posts, shares and reshares sent over two batches in any order, the second possibly
    moving posts and shares in time: the lake never holds a share before its post or its
    parent, and every row is accepted or quarantined."""
    root = tmp_path_factory.mktemp("lake") / "lake"
    t = lambda h: (T0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    posts = [{"network": "x", "post_id": f"p{i}", "account_id": "a", "created_at": t(i)}
             for i in range(3)]
    shares = []
    for j in range(data.draw(st.integers(1, 6))):
        post = data.draw(st.integers(0, 2))
        earlier = [s for s in shares if s["post_id"] == f"p{post}"]
        parent = data.draw(st.sampled_from([f"p{post}"] + [s["share_id"] for s in earlier]))
        shares.append({"network": "x", "share_id": f"s{j}", "post_id": f"p{post}",
                       "sharer_id": f"u{j}", "created_at": t(post + 1 + j),
                       "parent_id": parent})
    first = {"posts": posts, "shares": [s for s in shares if data.draw(st.booleans())]}
    moved_posts = [p | {"created_at": t(data.draw(st.integers(0, 12)))}
                   for p in posts if data.draw(st.booleans())]
    moved_shares = [s | {"created_at": t(data.draw(st.integers(0, 12)))}
                    for s in shares if data.draw(st.booleans())]
    second = {"posts": moved_posts,
              "shares": [s for s in shares if s not in first["shares"]] + moved_shares}
    for i, batch in enumerate((first, second)):
        folder = root.parent / f"b{i}"
        folder.mkdir()
        for table, rows in batch.items():
            if rows:
                pl.DataFrame(rows).write_csv(folder / f"{table}.csv")
        if any(batch.values()):
            report = load(extract(str(folder)), root)
            for c in report.counts.values():
                assert c.rows_in == c.accepted + c.quarantined
    lk = Lake.open(root)
    p, s = lk.read("posts"), lk.read("shares")
    j = s.join(p.select("post_id", pl.col("created_at").alias("post_at")), on="post_id")
    assert (j["created_at"] >= j["post_at"]).all()
    k = s.join(s.select(pl.col("share_id").alias("parent_id"),
                        pl.col("created_at").alias("parent_at")), on="parent_id")
    assert (k["created_at"] >= k["parent_at"]).all()


def test_a_second_load_at_the_same_time_is_refused_clearly(src, tmp_path):
    """Two loads at once: the one that comes second stops with a message and changes
    nothing; the first lands."""
    import fcntl
    root = tmp_path / "lake"
    load(extract(str(src)), root)
    before = snapshot_view(root)
    with open(root / ".lock", "w") as held:  # a load in progress holds this lock
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LakeError, match=f"another load is writing to {root}; wait for "
                                            "it to finish"):
            load(extract(str(write(make_tables(12), tmp_path / "b2"))), root)
    assert frames_equal(snapshot_view(root), before)
    load(extract(str(tmp_path / "b2")), root)  # once it is free, the load lands
    assert len(Lake.open(root).history()) == 2


def test_a_lake_written_before_a_column_existed_reads_and_grows(src, tmp_path, monkeypatch):
    """shares.kind and posts.reach came later: a lake without them reads them as empty,
    and the next load adds them (append and MERGE alike) without rewriting old files."""
    from dataclasses import replace

    from etl import rules
    from reach.schema import TABLES
    root = tmp_path / "lake"
    added = {"shares": "kind", "posts": "reach"}
    suite = rules.load_suite

    def old_suite(table):
        doc = suite(table)
        return {**doc, "expectations": [e for e in doc["expectations"]
                                        if e["kwargs"].get("column") != added.get(table)]}
    with monkeypatch.context() as m:
        for table, col in added.items():
            old = TABLES[table]
            m.setitem(TABLES, table, replace(old, columns=tuple(
                c for c in old.columns if c.name != col)))
        m.setattr(rules, "load_suite", old_suite)
        load(extract(str(src)), root)
    from deltalake import DeltaTable
    lk = Lake.open(root)

    def stored(table):
        return [f.name for f in DeltaTable(lk.table_uri(table)).schema().fields]
    assert "kind" not in stored("shares") and "reach" not in stored("posts")
    assert lk.read("shares")["kind"].null_count() == lk.read("shares").height
    assert lk.read("posts")["reach"].null_count() == lk.read("posts").height
    batch2 = tmp_path / "batch2"
    batch2.mkdir()
    shares = pl.read_csv(src / "shares.csv", infer_schema=False)
    shares.head(2).with_columns(pl.lit("quote").alias("kind")).write_csv(batch2 / "shares.csv")
    posts = pl.read_csv(src / "posts.csv", infer_schema=False)
    changed = posts.head(1).with_columns(pl.lit("77").alias("reach"))  # MERGE: a known key
    changed.write_csv(batch2 / "posts.csv")
    load(extract(str(batch2)), root)
    lk = Lake.open(root)
    got = lk.read("shares").filter(pl.col("kind").is_not_null())
    assert sorted(got["share_id"]) == sorted(shares["share_id"].head(2))
    assert lk.read("posts").filter(pl.col("reach") == 77)["post_id"].to_list() == [
        changed["post_id"][0]]
    assert lk.read("posts").height == posts.height
    assert "kind" in stored("shares") and "reach" in stored("posts")
