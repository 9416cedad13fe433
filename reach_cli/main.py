"""The ``reach`` command line. Thin: parse, call etl/reach/dashboards, print, exit.

Exit codes: 0 ok, 1 data failed validation (or a table-level fault), 2 usage error.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from reach.errors import ReachError, UsageError, message_lines

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def _cmd(sub, name: str, help_: str, example: str, func: Callable) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name, help=help_, description=help_,
        epilog="example:\n" + textwrap.indent(example.strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func)
    return p


def _lake_arg(p: argparse.ArgumentParser, required: bool = True) -> None:
    # text, not Path: Path("s3a://bucket/lake") would be s3a:/bucket/lake
    p.add_argument("--lake", required=required, metavar="LAKE",
                   help="the lake: a folder, or a file:, s3://, s3a://, gs:// or abfs:// URI "
                        "(created by `reach etl`; credentials from the environment)")


def _as_of_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--as-of", default=None, metavar="BATCH",
                   help=f"{what} the lake as it was right after load BATCH (a batch id from "
                        "`reach history`); default: the latest load")


def build_parser() -> argparse.ArgumentParser:
    from . import commands as c

    parser = argparse.ArgumentParser(
        prog="reach",
        description="Honest campaign reach: distinct people reached per campaign and network, "
                    "first and second degree, through whom, and whether it lifted engagement.",
        epilog=textwrap.dedent("""\
            typical session:
              reach sample --out data/                   # or bring your own tables
              reach run data/ --lake lake/               # etl + compute
              reach dashboard --lake lake/               # http://127.0.0.1:8050
            run `reach COMMAND --help` for each command's options and an example."""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"reach {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _cmd(sub, "demo", "make the sample data set, run the pipeline, serve the dashboard",
             "reach demo --workdir demo/ --port 8050", c.demo)
    p.add_argument("--workdir", type=Path, default=Path("demo"),
                   help="where the sample data and lake go (default: ./demo)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    _min_people_arg(p)
    p.add_argument("--no-serve", action="store_true", help="build everything, do not serve")

    p = _cmd(sub, "sample", "write a realistic sample data set in the canonical input format",
             "reach sample --out data/ --seed 7 --scale 1 --campaigns 6", c.sample)
    p.add_argument("--out", type=Path, required=True, help="folder to write the tables into")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiplies accounts and follow edges: 1 ≈ 200k edges, 50 ≈ 10M")
    p.add_argument("--campaigns", type=int, default=6, help="number of campaigns (default 6)")
    p.add_argument("--format", dest="fmt", default="csv", choices=("csv", "parquet", "ndjson"))

    p = _cmd(sub, "etl", "extract, validate and load a source into the lake",
             """reach etl data/ --lake lake/
reach etl search.jsonl --campaign-rule campaigns.toml --lake lake/   # twarc2 (X API v2)
reach etl bsky/ --lake lake/                           # from `reach collect bluesky`
reach etl post_performance.csv --lake lake/            # Sprout Social, Meta, LinkedIn exports
reach etl export.xlsx --mapping my_suite.toml --lake lake/
reach etl data/twitter15_16 --lake lake/               # Twitter15/16 propagation trees
reach etl follows.txt.gz --format snap --network x --lake lake/
reach etl postgresql+psycopg://analyst@db.example.com/social --lake lake/
reach etl sqlite:///crm.sqlite --queries tables.sql --lake lake/""", c.etl)
    _source_args(p)
    _lake_arg(p)

    p = _cmd(sub, "collect", "collect platform data from a public API into JSON lines for "
             "`reach etl`", """reach collect bluesky --actor acme.bsky.social --out bsky/
reach collect bluesky --actor acme.bsky.social --since 2026-03-01 --max-followers 5000 \\
    --out bsky/                     # run it again to continue where it stopped
reach etl bsky/ --campaign-rule campaigns.toml --lake lake/""", c.collect)
    p.add_argument("platform", choices=("bluesky",),
                   help="bluesky: the public AppView, no key needed")
    p.add_argument("--actor", required=True, metavar="HANDLE",
                   help="the brand's account: a handle (brand.bsky.social) or a DID")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for the responses (and _state.json, to resume)")
    p.add_argument("--since", default=None, metavar="DATE",
                   help="only the brand's posts from this date on (YYYY-MM-DD)")
    p.add_argument("--max-posts", type=int, default=None, metavar="N",
                   help="at most the N most recent posts (default: all)")
    p.add_argument("--max-followers", type=int, default=None, metavar="N",
                   help="read at most about N followers per account (default: all; a "
                        "partial list makes reach an estimate)")
    p.add_argument("--depth", type=int, default=3, metavar="N",
                   help="follow quotes of quotes this many levels deep (default 3)")
    p.add_argument("--appview", default=None, metavar="URL",
                   help="the AppView to ask (default https://public.api.bsky.app)")

    p = _cmd(sub, "compute", "build every mart from the lake: reach, frequency, cascades, "
             "amplifiers, waves, uplift, attribution and the rest of docs/marts.md",
             """reach compute --lake lake/
reach compute --lake lake/ --as-of 20261201T080000-1a2b3c4d   # the lake after that load
reach compute --lake s3://bucket/lake                          # tables on object storage""",
             c.compute)
    _lake_arg(p)
    _as_of_arg(p, "compute from")
    _compute_args(p)

    p = _cmd(sub, "history", "list the loads of a lake: batch ids (for --as-of), sources, rows",
             "reach history --lake lake/", c.history)
    _lake_arg(p)

    p = _cmd(sub, "run", "etl then compute", "reach run data/ --lake lake/", c.run)
    _source_args(p)
    _lake_arg(p)
    _compute_args(p)

    p = _cmd(sub, "attribution", "credit conversions to campaigns or networks under one model",
             """reach attribution --lake lake/ --model markov --by campaign
reach attribution --lake lake/ --model time_decay --half-life-days 3 --by network
reach attribution --lake lake/ --model shapley --by campaign_network --out credit.csv""",
             c.attribution)
    _lake_arg(p)
    from reach.attribution.models import CHANNEL_TYPES, MODELS
    p.add_argument("--model", choices=tuple(MODELS), default="markov",
                   help="attribution model (default markov): first_touch, last_touch, linear, "
                        "time_decay, position (40/20/40), markov (removal effects), shapley")
    p.add_argument("--by", choices=CHANNEL_TYPES, default="campaign",
                   help="what a channel is (default campaign)")
    p.add_argument("--out", type=Path, default=None,
                   help="also write the table (.csv, else Parquet)")
    _attribution_args(p)

    p = _cmd(sub, "validate", "re-run the expectation suites on the lake (exit 1 on failure)",
             "reach validate --lake lake/", c.validate)
    _lake_arg(p)
    p.add_argument("--no-docs", action="store_true",
                   help="skip writing Great Expectations data docs (HTML)")

    p = _cmd(sub, "dashboard", "serve the dashboard for a lake",
             """reach dashboard --lake lake/ --port 8050
reach dashboard --lake lake/ --workers 4          # 4 processes × 8 threads, one port
REACH_DASHBOARD_USER=ana REACH_DASHBOARD_PASSWORD=… REACH_VIEWER_PASSWORD=… \\
  reach dashboard --lake lake/ --host 0.0.0.0 --viewer-user team   # + a read-only login""",
             c.dashboard)
    _lake_arg(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; any other needs credentials)")
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--workers", type=int, default=1,
                   help="server processes sharing the port (default 1); each reads the marts")
    p.add_argument("--threads", type=int, default=8, help="threads per process (default 8)")
    p.add_argument("--viewer-user", default=None, metavar="NAME",
                   help="a second, read-only login (password in $REACH_VIEWER_PASSWORD): "
                        "every page, but no export, no report and no data docs")

    p = _cmd(sub, "export", "write one mart to a Parquet or CSV file for analysts",
             """reach export --lake lake/ --mart reach --out reach.csv --format csv --campaign c001
reach export --lake lake/ --for meridian --out rf.csv          # weekly R&F for Meridian
reach export --lake lake/ --for pymc-marketing --out rf_long.csv
reach export --lake lake/ --mart frequency --out f.csv --min-people 0   # no threshold
reach export --lake lake/ --mart reach --out then.csv --as-of 20261201T080000-1a2b3c4d""",
             c.export)
    _lake_arg(p)
    _as_of_arg(p, "export the mart computed from")
    p.add_argument("--mart", default=None, help="mart name, e.g. reach, cascades, amplifiers")
    p.add_argument("--for", dest="target", choices=("meridian", "pymc-marketing"), default=None,
                   help="weekly reach and frequency in the shape that media-mix model loads "
                        "(instead of --mart)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--format", dest="fmt", choices=("parquet", "csv"), default=None,
                   help="default: from --out's suffix, else parquet")
    p.add_argument("--campaign", action="append", default=None,
                   help="keep only this campaign (repeatable)")
    _min_people_arg(p)

    p = _cmd(sub, "report", "print a one-page campaign report (PDF or PNG) to mail",
             """reach report --lake lake/ --campaign c001 --out report.pdf
reach report --lake lake/ --campaign c001 --out report.png   # an image for a chat""",
             c.report)
    _lake_arg(p)
    p.add_argument("--campaign", required=True, help="the campaign's id")
    p.add_argument("--out", type=Path, required=True,
                   help="a .pdf (A4) or .png file; printed by headless Chromium")
    _min_people_arg(p)

    p = _cmd(sub, "publish", "write the marts to a SQL warehouse through SQLAlchemy",
             """reach publish --lake lake/                       # SQLite: lake/warehouse.sqlite
reach publish --lake lake/ --db postgresql+psycopg://reach@db.example.com/marts
PGPASSWORD=... reach publish --lake lake/ --db postgresql+psycopg://reach@db/marts""",
             c.publish)
    _lake_arg(p)
    p.add_argument("--db", default=None,
                   help="SQLAlchemy URL (default: $REACH_DB_URL, else an SQLite file in the "
                        "lake). Passwords may come from the environment (e.g. PGPASSWORD); "
                        "they are never printed")
    _min_people_arg(p)
    return parser


def _min_people_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-people", type=int, default=None, metavar="N",
                   help="privacy threshold: cells describing fewer than N distinct people "
                        "(and cells that would give them away) are left empty and named in a "
                        "`suppressed` column (default 50, or $REACH_MIN_PEOPLE; 0 turns it off)")


def _source_args(p: argparse.ArgumentParser) -> None:
    from etl.sources import FORMATS
    p.add_argument("source", help="a folder or file of a format below, or a database URL")
    p.add_argument("--format", dest="fmt", default=None, choices=tuple(FORMATS),
                   help="source format (default: recognised from the files). "
                        + "; ".join(f"{k}: {v}" for k, v in FORMATS.items()))
    p.add_argument("--network", default=None,
                   help="network name for formats that carry none (X API: x; Bluesky: "
                        "bluesky; SNAP: from the file name; Twitter15/16: twitter)")
    p.add_argument("--mapping", default=None, metavar="FILE",
                   help="social-suite exports: the TOML mapping of its columns, or a shipped "
                        "one by name (sprout_social, meta_business_suite, linkedin_page; "
                        "default: the shipped one the header matches)")
    p.add_argument("--campaign-rule", type=Path, default=None, metavar="FILE",
                   help="assign posts to campaigns by hashtag, mention, link or author and "
                        "dates (TOML; README.md, 'Campaign rules')")
    p.add_argument("--undirected", action="store_true",
                   help="SNAP: each line is a friendship (both follow each other)")
    p.add_argument("--queries", type=Path, default=None, metavar="FILE",
                   help="database sources: a .sql file with `-- table: NAME` sections, one "
                        "query per canonical table (default: read the tables by name)")
    p.add_argument("--db-schema", default=None,
                   help="database sources: the schema holding the tables (default: the "
                        "connection's)")


def _compute_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=("polars", "spark"), default="polars",
                   help="polars (one machine, every mart) or spark (reach, two_hop, cascades, "
                        "amplifiers, timeline on a cluster; see the README)")
    p.add_argument("--spark-master", default=None, metavar="URL",
                   help="spark: the master (default local[*]; e.g. spark://host:7077, yarn)")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="spark: configuration passed through (repeatable), e.g. "
                        "spark.executor.memory=8g")
    p.add_argument("--approx", action="store_true",
                   help="use theta sketches for every reach union (method=sketch)")
    _attribution_args(p)


def _attribution_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window-days", type=float, default=30,
                   help="a touchpoint counts if it came at most this long before the "
                        "conversion (default 30)")
    p.add_argument("--half-life-days", type=float, default=7,
                   help="time_decay: a touchpoint this old gets half the weight (default 7)")
    p.add_argument("--order", type=int, default=1,
                   help="markov: chain order (states are the last N channels; default 1)")
    p.add_argument("--with-nonconverting", action="store_true",
                   help="markov/shapley: also build the paths of reached accounts that did "
                        "not convert (conversion rates instead of conversions only; costly "
                        "on large graphs)")


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("reach")
    except Exception:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ReachError as exc:
        label = "usage error" if isinstance(exc, UsageError) else "error"
        err.print(f"[bold red]{label}:[/] {escape(str(exc))}", soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted; the lake is unchanged unless a commit had finished")
        return 130
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # anything unforeseen (a Rust panic too): a message
        if os.environ.get("REACH_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] {escape(unexpected(args.command, exc))}",
                  soft_wrap=True, highlight=False)
        return 1


def unexpected(command: str, exc: BaseException) -> str:
    """What went wrong, in one line, with the file it names and what to do."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"the disk is full (writing {exc.filename or 'a file'}); free some space and "
                f"run `reach {command}` again. A load that did not finish changed nothing.")
    first = (message_lines(exc) or [type(exc).__name__])[0]
    return (f"`reach {command}` failed: {type(exc).__name__}: {first}. If a file in the lake "
            "is damaged (a mart: run `reach compute` again; a table: reload the lake from its "
            "raw/ inputs with `reach etl`). REACH_DEBUG=1 shows the traceback.")


if __name__ == "__main__":
    sys.exit(main())
