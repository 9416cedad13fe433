"""The command line as a person meets it: help, exit codes, messages."""

from __future__ import annotations

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
