"""The follower graph is loaded in bounded pieces: the same lake as a whole-file oracle,
true line numbers across piece boundaries, and memory that does not grow with the file."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from etl import follows_load
from etl.lake import Lake
from etl.load import load
from etl.readers import pieces
from etl.sources import extract

from .gen import make_tables, write

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_pieces(monkeypatch):
    """Pieces of a few rows and buckets of a few dozen, so every boundary is crossed."""
    monkeypatch.setattr(pieces, "FIRST_BYTES", 64)
    monkeypatch.setattr(pieces, "PIECE_ROWS", 5)
    monkeypatch.setattr(follows_load, "BUCKET_ROWS", 40)


def _follows_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> list[int]:
    """Write rows (quoted where they hold a comma or newline); return each row's line."""
    lines, line = [], 2
    text = ["network,follower_id,followee_id,followed_at\n"]
    for r in rows:
        cells = [f'"{c}"' if ("," in c or "\n" in c) else c for c in r]
        text.append(",".join(cells) + "\n")
        lines.append(line)
        line += text[-1].count("\n")
    path.write_text("".join(text))
    return lines


def _oracle(rows, lines):
    """Accepted edges (first of each key) and the quarantine reasons, by plain Python."""
    first, accepted, reasons = {}, [], []
    for r, line in zip(rows, lines, strict=True):
        net, a, b, at = r
        if a == b:
            reasons.append(f"follows.csv line {line}: `follower_id` is '{a}'; followee_id is "
                           "the same account; an account cannot follow itself "
                           "(rule: no-self-follow)")
            continue
        if (net, a, b) in first:
            reasons.append(f"follows.csv line {line}: duplicate key (network, follower_id, "
                           f"followee_id) = ({net}, {a}, {b}); the first, at follows.csv "
                           f"line {first[(net, a, b)]}, was kept (rule: unique-key)")
            continue
        first[(net, a, b)] = line
        accepted.append((net, a, b, at))
    return accepted, reasons


def _rows(seed: int, n: int) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        net = rng.choice(["x", "bluesky"])
        a, b = str(rng.randrange(30)), str(rng.randrange(30))
        if rng.random() < 0.1:
            a = f"multi\nline {a}"  # a quoted id spanning lines
        out.append((net, a, b, f"2026-01-{1 + i % 28:02d}T10:00:00Z"))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pieces_give_the_whole_file_answer(tiny_pieces, tmp_path, seed):
    src = write(make_tables(5), tmp_path / "src")
    rows = _rows(seed, 300)
    lines = _follows_csv(src / "follows.csv", rows)
    report = load(extract(str(src)), tmp_path / "lake")
    accepted, reasons = _oracle(rows, lines)
    got = Lake.open(tmp_path / "lake").read("follows")
    assert sorted(got.select("network", "follower_id", "followee_id").iter_rows()) == sorted(
        (n, a, b) for n, a, b, _ in accepted)
    q = pl.read_parquet(tmp_path / "lake" / "quarantine" / "follows" /
                        f"{report.batch_id}.parquet")
    assert sorted(q["reason"].to_list()) == sorted(reasons)
    c = report.counts["follows"]
    assert (c.rows_in, c.accepted, c.quarantined) == (300, len(accepted), len(reasons))
    # stored in followee-key order within each network, keys matching the ids
    keys = Lake.open(tmp_path / "lake").read("_account_keys")
    for (net,), part in got.partition_by("network", as_dict=True).items():
        k = dict(keys.filter(network=net).select("account_id", "account_key").iter_rows())
        assert part["followee_key"].to_list() == [k[i] for i in part["followee_id"]]
        assert part["follower_key"].to_list() == [k[i] for i in part["follower_id"]]


def test_ids_are_numbered_in_order_and_a_shared_hash_is_caught():
    from etl.id_numbers import HashCollision, IdNumbers
    numbers = IdNumbers(0, capacity=4)  # grows as ids arrive
    ids = [f"id{i % 37}" for i in range(0, 500, 3)]
    first = numbers.number(pl.Series(ids[:60]))
    again = numbers.number(pl.Series(ids))
    order = list(dict.fromkeys(ids))
    assert again.tolist() == [order.index(i) for i in ids]
    assert first.tolist() == again[:60].tolist()
    assert numbers.texts.to_list() == order
    # a table hash that puts every id on one of 4 values: ids share numbers, and the
    # second hash tells them apart
    weak = IdNumbers(0)
    weak.hashes = lambda s: (s.hash(0).to_numpy() % 4, s.hash(1).to_numpy())
    with pytest.raises(HashCollision):
        weak.number(pl.Series(ids))


def test_a_hash_collision_loads_again_with_other_seeds(tiny_pieces, tmp_path, monkeypatch):
    """Under the first seeds every id shares one of three hashes: the load notices, checks
    the follows again with other seeds, and gives the oracle's lake."""
    from etl.id_numbers import IdNumbers
    real = IdNumbers.hashes

    def weak_first(self, ids):
        table, check = real(self, ids)
        return (table % 3 if self.seeds == (0, 1) else table), check
    monkeypatch.setattr(IdNumbers, "hashes", weak_first)
    src = write(make_tables(5), tmp_path / "src")
    rows = _rows(7, 200)
    lines = _follows_csv(src / "follows.csv", rows)
    said: list[str] = []
    load(extract(str(src)), tmp_path / "lake", progress=said.append)
    assert any("collided" in m for m in said)
    accepted, _ = _oracle(rows, lines)
    got = Lake.open(tmp_path / "lake").read("follows")
    assert sorted(got.select("network", "follower_id", "followee_id").iter_rows()) == sorted(
        (n, a, b) for n, a, b, _ in accepted)
    assert not (tmp_path / "lake" / ".staging").exists()


def test_a_second_batch_appends_merges_and_skips_as_a_dict_would(tiny_pieces, tmp_path):
    src = write(make_tables(5), tmp_path / "src")
    first = [("x", str(a), str(b), "2026-01-01T00:00:00Z")
             for a in range(12) for b in range(12) if a != b]
    _follows_csv(src / "follows.csv", first)
    load(extract(str(src)), tmp_path / "lake")
    uri = str(tmp_path / "lake" / "tables" / "follows")
    version = DeltaTable(uri).version()
    # the next batch: half re-sent unchanged, a few changed, some new
    second = first[::2] + [(n, a, b, "2026-02-01T00:00:00Z") for n, a, b, _ in first[1:28:4]]
    second += [("x", str(a), "99", "2026-02-02T00:00:00Z") for a in range(12)]
    batch = tmp_path / "batch"
    batch.mkdir()
    _follows_csv(batch / "follows.csv", second)
    report = load(extract(str(batch)), tmp_path / "lake")
    want = {(n, a, b): at for n, a, b, at in first} | {(n, a, b): at for n, a, b, at in second}
    got = Lake.open(tmp_path / "lake").read("follows")
    assert {(n, a, b): at.strftime("%Y-%m-%dT%H:%M:%SZ") for n, a, b, at in
            got.select("network", "follower_id", "followee_id", "followed_at").iter_rows()
            } == want
    assert report.counts["follows"].replaced == len(first[::2]) + len(first[1:28:4])
    assert DeltaTable(uri).version() == version + 1  # one commit for the table (a MERGE)
    # a batch of new edges only: files added to the table in one transaction
    third = [("x", "99", str(b), "2026-03-01T00:00:00Z") for b in range(12)]
    third += [("bluesky", "a", "b", "2026-03-01T00:00:00Z")]  # a network new to the table
    batch3 = tmp_path / "batch3"
    batch3.mkdir()
    _follows_csv(batch3 / "follows.csv", third)
    load(extract(str(batch3)), tmp_path / "lake")
    want |= {(n, a, b): at for n, a, b, at in third}
    got = Lake.open(tmp_path / "lake").read("follows")
    assert {(n, a, b): at.strftime("%Y-%m-%dT%H:%M:%SZ") for n, a, b, at in
            got.select("network", "follower_id", "followee_id", "followed_at").iter_rows()
            } == want
    assert DeltaTable(uri).version() == version + 2
    assert Lake.open(tmp_path / "lake").manifest()["tables"]["follows"]["rows"] == len(want)


def test_memory_does_not_grow_with_the_follower_graph(tmp_path):
    """Load 0.4M and 2.4M edges (the same 20,000 accounts) in separate processes with
    small pieces: the larger file costs at most a little more memory."""
    peaks = {}
    for n in (400_000, 2_400_000):
        src = tmp_path / f"src{n}"
        write(make_tables(5), src)
        rng = random.Random(n)
        with open(src / "follows.csv", "w") as fh:
            fh.write("network,follower_id,followee_id,followed_at\n")
            fh.writelines(f"x,{rng.randrange(20_000)},{rng.randrange(20_000)},"
                          f"2026-01-0{1 + i % 9}T00:00:00Z\n" for i in range(n))
        script = ("import json, resource, sys\n"
                  "from etl import follows_load\nfrom etl.readers import pieces\n"
                  "pieces.PIECE_ROWS = 100_000\nfollows_load.BUCKET_ROWS = 200_000\n"
                  "from etl.load import load\nfrom etl.sources import extract\n"
                  "r = load(extract(sys.argv[1]), sys.argv[2])\n"
                  "print(json.dumps([r.counts['follows'].rows_in, "
                  "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024]))\n")
        run = subprocess.run([sys.executable, "-c", script, str(src), str(tmp_path / f"l{n}")],
                             env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                             text=True, timeout=600, check=True)
        rows, peaks[n] = json.loads(run.stdout.strip().splitlines()[-1])
        assert rows == n
    print(f"follows load peak memory: 0.4M edges {peaks[400_000]} MB, "
          f"2.4M edges {peaks[2_400_000]} MB")
    assert peaks[2_400_000] < peaks[400_000] + 200
