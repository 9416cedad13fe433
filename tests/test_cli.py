"""The command line as a person meets it: help, exit codes, messages."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from reach_cli.main import build_parser, main

COMMANDS = ["demo", "sample", "etl", "compute", "run", "validate", "dashboard", "export",
            "publish"]


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for c in COMMANDS:
        assert c in text


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert "example:" in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["etl", str(tmp_path / "nope"), "--lake", str(tmp_path / "l")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["compute"])  # --lake missing
    assert e.value.code == 2


def test_table_fault_exits_1(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "posts.csv").write_text("network,post_id\nx,1\n")
    assert main(["etl", str(src), "--lake", str(tmp_path / "lake")]) == 1
    assert "required column `account_id`" in capsys.readouterr().err


def test_a_quarantined_row_is_shown_with_its_line(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "posts.csv").write_text("network,post_id,account_id,created_at\n"
                                   "x,p1,a1,2026-01-05T16:40:57Z\n"
                                   "x,p2,a1,2026/01/05 16:40\n")
    assert main(["etl", str(src), "--lake", str(tmp_path / "lake")]) == 0
    out = capsys.readouterr().out
    assert "quarantined posts: type (1)" in out
    assert "e.g. posts.csv line 3: `created_at`" in out


def test_bad_database_url_is_a_usage_error(tmp_path, capsys):
    assert main(["etl", "nosuchdriver://x/y", "--lake", str(tmp_path / "lake")]) == 2
    assert "not a usable SQLAlchemy URL" in capsys.readouterr().err


def test_compute_and_export(sample_lake, tmp_path, capsys):
    lake, marts = sample_lake
    assert main(["compute", "--lake", str(lake)]) == 0
    out = tmp_path / "reach.csv"
    cid = marts["reach"]["campaign_id"][0]
    assert main(["export", "--lake", str(lake), "--mart", "reach", "--out", str(out),
                 "--campaign", cid]) == 0
    back = pl.read_csv(out)
    assert set(back["campaign_id"]) == {cid}
    assert back.height == marts["reach"].filter(pl.col("campaign_id") == cid).height
    assert main(["export", "--lake", str(lake), "--mart", "../../etc/passwd",
                 "--out", str(tmp_path / "x.csv")]) == 2


def test_validate_passes_on_the_sample(sample_lake, capsys):
    lake, _ = sample_lake
    assert main(["validate", "--lake", str(lake), "--no-docs"]) == 0
    assert "passed" in capsys.readouterr().out


def test_dashboard_refuses_public_bind_without_credentials(sample_lake, monkeypatch, capsys):
    lake, _ = sample_lake
    monkeypatch.delenv("REACH_DASHBOARD_USER", raising=False)
    assert main(["dashboard", "--lake", str(lake), "--host", "0.0.0.0"]) == 2
    assert "REACH_DASHBOARD_USER" in capsys.readouterr().err


def test_csv_exports_neutralise_formulas(tmp_path):
    """OWASP's CSV-injection rule: text cells starting with = + - @ tab or CR are written
    with a leading quote; numbers and Parquet keep their exact values."""
    import polars as pl

    from reach.spreadsheet import write_csv
    df = pl.DataFrame({"handle": ['=HYPERLINK("http://evil","x")', "+1", "-x", "@me",
                                  "\tTAB", "plain", None],
                       "value": [-5, 1, 2, 3, 4, 5, 6]})
    write_csv(df, tmp_path / "out.csv")
    back = pl.read_csv(tmp_path / "out.csv")
    assert back["handle"].to_list() == ['\'=HYPERLINK("http://evil","x")', "'+1", "'-x",
                                        "'@me", "'\tTAB", "plain", None]
    assert back["value"].to_list() == [-5, 1, 2, 3, 4, 5, 6]


@pytest.fixture
def small_lake(tmp_path):
    from .gen import make_tables, write
    lake = tmp_path / "lake"
    assert main(["run", str(write(make_tables(2), tmp_path / "src")), "--lake", str(lake)]) == 0
    return lake


def _said(capsys) -> str:
    return " ".join(capsys.readouterr().err.split())


def test_a_broken_lake_is_a_message_never_a_traceback(small_lake, capsys, monkeypatch):
    """Damaged table file, mart file, log of loads; an unforeseen failure (a Rust panic):
    exit 1 and a line that names what is broken and what to do."""
    from etl.lake import Lake
    capsys.readouterr()
    table_file = Lake.open(small_lake).files("posts")[0]
    Path(table_file).write_bytes(b"garbage")
    assert main(["compute", "--lake", str(small_lake)]) == 1
    said = _said(capsys)
    assert f"table `posts` of {small_lake} has a damaged file: {table_file}" in said
    assert "rebuild the lake from its raw/ inputs" in said
    (small_lake / "marts" / "reach.parquet").write_bytes(b"junk")
    assert main(["export", "--lake", str(small_lake), "--mart", "reach",
                 "--out", str(small_lake.parent / "r.csv")]) == 1
    assert (f"{small_lake / 'marts' / 'reach.parquet'} is not a readable Parquet file"
            in _said(capsys))
    log = sorted((small_lake / "_loads" / "_delta_log").glob("*.json"))[-1]
    log.write_text("{bad")
    assert main(["history", "--lake", str(small_lake)]) == 1
    assert "_delta_log) is damaged" in _said(capsys)

    class Panic(BaseException):  # what pyo3 raises for a Rust panic
        pass

    def boom(_args):
        raise Panic("called `Result::unwrap()` on an `Err` value")
    monkeypatch.setattr("reach_cli.commands.validate", boom)
    assert main(["validate", "--lake", str(small_lake)]) == 1
    assert "`reach validate` failed: Panic: called `Result::unwrap()`" in _said(capsys)
    monkeypatch.setenv("REACH_DEBUG", "1")
    with pytest.raises(Panic):
        main(["validate", "--lake", str(small_lake)])


def test_disk_full_is_a_message_and_the_lake_is_unchanged(small_lake, tmp_path, capsys,
                                                          monkeypatch):
    import errno

    from etl import lake as lake_mod
    from etl.lake import Lake

    from .gen import make_tables, write
    before = Lake.open(small_lake).read("posts")

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device", "part-0001.parquet")
    monkeypatch.setattr(lake_mod, "_step", full)
    capsys.readouterr()
    assert main(["etl", str(write(make_tables(9), tmp_path / "more")), "--lake",
                 str(small_lake)]) == 1
    said = _said(capsys)
    assert "the disk is full (writing part-0001.parquet); free some space and run `reach etl`" \
        in said
    monkeypatch.undo()
    assert Lake.open(small_lake).read("posts").equals(before)


def test_history_and_compute_as_of(small_lake, tmp_path, capsys):
    from etl.lake import Lake

    from .gen import make_tables, write
    first = Lake.open(small_lake).history()[0]["batch_id"]
    assert main(["etl", str(write(make_tables(7), tmp_path / "b2")), "--lake",
                 str(small_lake)]) == 0
    capsys.readouterr()
    assert main(["history", "--lake", str(small_lake)]) == 0
    assert first in capsys.readouterr().out
    assert main(["compute", "--lake", str(small_lake), "--as-of", first]) == 0
    assert f"(the lake as of batch {first})" in " ".join(capsys.readouterr().out.split())
    then = Lake.open(small_lake).read_mart("reach")
    assert main(["compute", "--lake", str(small_lake)]) == 0
    assert not Lake.open(small_lake).read_mart("reach").equals(then)  # the second load counts
    assert main(["compute", "--lake", str(small_lake), "--as-of", "nope"]) == 1
    assert "--as-of nope: no load of" in _said(capsys)


def test_demo_builds_everything_it_serves(tmp_path):
    """`reach demo --no-serve` runs sample, etl and compute with the parser's own defaults
    (it once hand-built their arguments and broke when etl gained options)."""
    from reach_cli.main import main
    assert main(["demo", "--workdir", str(tmp_path / "demo"), "--no-serve"]) == 0
    assert (tmp_path / "demo" / "lake" / "marts" / "reach.parquet").exists()
