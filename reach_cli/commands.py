"""What each subcommand does. Each returns the process exit code."""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from pathlib import Path

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from reach.errors import UsageError
from reach.spreadsheet import write_csv

from .main import err, out


@contextmanager
def _progress():
    """A live spinner with the current step and elapsed time; each finished step is
    logged with how long it took, then the total."""
    start = time.perf_counter()
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                   console=err, transient=True)
    task = bar.add_task("starting", total=None)
    last = {"msg": None, "at": start}

    def finished() -> None:
        now = time.perf_counter()
        if last["msg"]:
            err.print(f"[dim]{now - last['at']:6.1f}s[/] {last['msg']}")
        last["at"] = now

    def say(msg: str) -> None:
        finished()
        last["msg"] = msg
        bar.update(task, description=msg)
    with bar:
        yield say
    if last["msg"]:
        finished()
        err.print(f"[dim]{time.perf_counter() - start:6.1f}s[/] in all · done")


def sample(args: argparse.Namespace) -> int:
    from etl.sample import generate
    with _progress() as say:
        counts = generate(args.out, seed=args.seed, scale=args.scale,
                          campaigns=args.campaigns, fmt=args.fmt, progress=say)
    _print_counts(f"sample written to {args.out}", counts)
    return 0


def _print_counts(title: str, counts: dict[str, int], label: str = "table") -> None:
    """A two-column table: name, rows."""
    t = Table(title=title)
    t.add_column(label)
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        t.add_row(name, f"{n:,}")
    out.print(t)


def etl(args: argparse.Namespace) -> int:
    from etl.load import load
    from etl.sources import extract
    with _progress() as say:
        from etl.dburl import safe_url
        from etl.readers.database import looks_like_url
        say(f"reading {safe_url(args.source) if looks_like_url(args.source) else args.source}")
        ext = extract(args.source, fmt=args.fmt, network=args.network,
                      undirected=args.undirected, queries=args.queries,
                      db_schema=args.db_schema, mapping=args.mapping,
                      campaign_rule=args.campaign_rule, progress=say)
        report = load(ext, args.lake, progress=say)
    _print_load(report, args.lake)
    return 0


def _print_load(report, lake: Path) -> None:
    for w in report.warnings:
        err.print(f"[yellow]warning:[/] {w}")
    for n in report.notes:
        out.print(f"[cyan]note:[/] {n}")
    if report.skipped:
        return
    t = Table(title=f"batch {report.batch_id} loaded into {lake}")
    for col in ("table", "rows in", "accepted", "quarantined", "replaced"):
        t.add_column(col, justify="left" if col == "table" else "right")
    for name, c in report.counts.items():
        t.add_row(name, f"{c.rows_in:,}", f"{c.accepted:,}",
                  f"[red]{c.quarantined:,}[/]" if c.quarantined else "0", f"{c.replaced:,}")
    out.print(t)
    if report.repairs:
        _print_counts("repaired or dropped by the reader's rules",
                      {rule: n for rule, n in report.repairs.items() if n}, "rule")
    for table, reasons in report.quarantine_reasons.items():
        shown = ", ".join(f"{rule} ({n:,})" for rule, n in reasons.items())
        out.print(f"[red]quarantined[/] {table}: {shown} → {lake}/quarantine/{table}/")
        for example in report.quarantine_examples.get(table, []):
            out.print(f"  e.g. {example}", markup=False, highlight=False)


def collect(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from etl.collect_bluesky import PUBLIC_APPVIEW, Limits, collect_bluesky
    try:
        since = (datetime.fromisoformat(args.since).replace(tzinfo=UTC) if args.since
                 else None)
    except ValueError:
        raise UsageError(f"--since {args.since!r}: expected a date such as 2026-03-01"
                         ) from None
    limits = Limits(max_posts=args.max_posts, since=since, max_followers=args.max_followers,
                    depth=args.depth)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                   TextColumn("[dim]{task.fields[requests]:,} requests"), TimeElapsedColumn(),
                   console=err, transient=True)
    task = bar.add_task("starting", total=None, requests=0)
    with bar:
        counts = collect_bluesky(
            args.actor, args.out, appview=args.appview or PUBLIC_APPVIEW, limits=limits,
            report=lambda p: bar.update(task, description=p.stage, requests=p.requests))
    _print_counts(f"Bluesky collection of {args.actor} in {args.out} (load it with `reach "
                  f"etl {args.out} --lake LAKE`)", counts, "collected")
    return 0


def compute(args: argparse.Namespace) -> int:
    from etl.lake import Lake
    from reach.engine.marts import compute_marts
    if args.engine == "spark":
        return _compute_spark(args)
    as_of = getattr(args, "as_of", None)  # `reach run` computes what it just loaded
    lake = Lake.open(args.lake, as_of=as_of)
    with _progress() as say:
        tables = _lake_tables(lake)
        marts = compute_marts(tables, spec=_spec(args), progress=say)
        say("writing marts")
        lake.write_marts(marts)
    when = f" (the lake as of batch {as_of})" if as_of else ""
    _print_marts(f"marts written to {lake.location.join('marts')}{when}", marts,
                 _partial_accounts(tables, marts))
    return 0


def _partial_accounts(tables: dict, marts: dict):
    """The accounts whose lists are partial, where some reach cell was estimated from them."""
    from reach.audience.sampled import partial_accounts
    return (partial_accounts(tables) if (marts["reach"]["method"] == "sampled").any()
            else None)


def _lake_tables(lake) -> dict:
    """The tables compute reads, each file checked first (a damaged one is named)."""
    from etl.lake import KEYS_TABLE
    tables = ("campaigns", "accounts", "follows", "posts", "shares", "conversions", KEYS_TABLE)
    lake.verify(tables)
    return {t: lake.scan(t) for t in tables}


def history(args: argparse.Namespace) -> int:
    from etl.lake import Lake
    lake = Lake.open(args.lake)
    loads = lake.history()
    t = Table(title=f"loads of {lake.root} (oldest first; a batch id works with --as-of)")
    for col in ("batch", "loaded at (UTC)", "source", "format", "rows in", "accepted",
                "quarantined"):
        t.add_column(col, justify="right" if col in ("rows in", "accepted", "quarantined")
                     else "left", no_wrap=col in ("batch", "loaded at (UTC)"))
    for e in loads:
        counts = e.get("tables", {}).values()
        t.add_row(e["batch_id"], e["loaded_at"][:19].replace("T", " "), str(e["source"]),
                  e["format"], f"{sum(c['rows_in'] for c in counts):,}",
                  f"{sum(c['accepted'] for c in counts):,}",
                  f"{sum(c['quarantined'] for c in counts):,}")
    out.print(t)
    if not loads:
        out.print(f"nothing loaded yet: reach etl SOURCE --lake {args.lake}")
    return 0


def _print_marts(title: str, marts: dict, partial=None) -> None:
    _print_counts(title, {name: df.height for name, df in marts.items() if name != "sketches"},
                  "mart")
    _print_methods(marts["reach"], partial)
    _print_headline(marts["reach"])


def _print_methods(reach, partial=None) -> None:
    """Per network, which method the reach cells used, and why (for ``sampled``: how
    much of the partial accounts' followers their lists hold)."""
    import polars as pl

    from reach.audience.distinct import METHODS
    held = {} if partial is None else {
        n: (c, listed / rep if rep else 0.0) for n, c, listed, rep in partial.group_by(
            "network").agg(pl.len(), pl.col("listed").sum(), pl.col("reported").sum())
        .iter_rows()}
    cells = reach.filter(pl.col("network") != "all")
    if cells.height == 0:
        return
    t = Table(title="how each network's reach was obtained")
    for col in ("network", "method", "cells", "median ± (of total)", "why"):
        t.add_column(col, justify="right" if col in ("cells", "median ± (of total)") else "left")
    summary = (cells.group_by("network", "method")
               .agg(pl.len().alias("cells"), pl.col("rel_error").median().alias("err"))
               .sort("network", "method"))
    sampled = False
    for r in summary.iter_rows(named=True):
        spread = "" if r["err"] is None or r["method"] == "exact" else f"{r['err']:.1%}"
        why = METHODS.get(r["method"], ("", ""))[1]
        sampled = sampled or r["method"] == "sampled"
        if r["method"] == "sampled" and r["network"] in held:
            count, share = held[r["network"]]
            why += f" ({count:,} accounts' lists hold {share:.0%} of their followers)"
        t.add_row(r["network"], r["method"], f"{r['cells']:,}", spread, why)
    out.print(t)
    if sampled:
        err.print("[yellow]note:[/] on networks with partial lists, frequency, the weekly "
                  "mart and two_hop count the people the lists show (method listed_only, "
                  "lower bounds); the reach, cascades, amplifiers and timeline marts carry "
                  "the estimate")


def _compute_spark(args: argparse.Namespace) -> int:
    from reach.engine.registry import SPARK_MARTS
    from reach.engine.spark import compute_spark, read_lake, session
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError("--engine spark needs PySpark: pip install 'reach[spark]' (and a "
                         "Java runtime)") from None
    conf = {}
    for item in args.spark_conf:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--spark-conf {item!r}: expected KEY=VALUE")
        conf[key] = value
    from etl.lake import Lake
    lake = Lake.open(args.lake, as_of=getattr(args, "as_of", None))
    tables = _lake_tables(lake)
    with _progress() as say:
        say("starting Spark")
        # no --spark-master: spark-submit's, or local[*] when run plainly
        spark = session(args.spark_master, conf)
        marts = compute_spark(spark, read_lake(spark, lake), approx=args.approx, progress=say)
        say("writing marts")
        lake.write_marts(marts)
    _print_marts(f"marts written by Spark to {lake.location.join('marts')}", marts,
                 _partial_accounts(tables, marts))
    out.print(f"Spark computes {', '.join(SPARK_MARTS)}; the other marts come from "
              "`reach compute --engine polars`.")
    return 0


def _spec(args: argparse.Namespace):
    from reach.attribution.models import AttributionSpec
    from reach.engine.marts import ComputeSpec
    if args.half_life_days <= 0 or args.order < 1:
        raise UsageError("--half-life-days must be > 0 and --order >= 1")
    return ComputeSpec(approx=getattr(args, "approx", False), window_days=args.window_days,
                       nonconverting=args.with_nonconverting,
                       attribution=AttributionSpec(half_life_days=args.half_life_days,
                                                   order=args.order))


def attribution(args: argparse.Namespace) -> int:
    from etl.lake import Lake
    from reach.attribution.models import attribution_rows
    from reach.attribution.touchpoints import with_channels
    from reach.engine.marts import attribution_paths
    spec = _spec(args)
    lake = Lake.open(args.lake)
    tables = {t: lake.scan(t) for t in ("follows", "posts", "shares", "conversions",
                                         "_account_keys")}
    with _progress() as say:
        say("building conversion paths")
        paths, touches = attribution_paths(tables, spec)
        say(f"attributing {int(paths['converted'].sum()):,} conversions ({args.model})")
        rows = attribution_rows(args.model, args.by, paths, with_channels(touches, args.by),
                                spec.attribution)
    t = Table(title=f"{args.model} attribution by {args.by} · {int(paths['converted'].sum()):,} "
                    f"conversions, {touches.height:,} touchpoints, {args.window_days:g}-day window")
    weight = {"markov": "removal effect", "shapley": "Shapley value"}.get(args.model)
    for col in (args.by, "conversions", "value", "share") + ((weight,) if weight else ()):
        t.add_column(col, justify="left" if col == args.by else "right")
    for r in rows.iter_rows(named=True):
        cells = [r["channel"], f"{r['conversions_credited']:,.1f}", f"{r['value_credited']:,.2f}",
                 f"{r['share_of_total']:.1%}" if r["share_of_total"] is not None else "-"]
        if weight:
            w, se = r["weight"], r["weight_se"]
            cells.append("" if w is None else f"{w:.4g}" + (f" ± {se:.2g}" if se else ""))
        t.add_row(*cells)
    out.print(t)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.out.suffix.lower() == ".csv":
            write_csv(rows, args.out)  # formula-like text neutralised
        else:
            rows.write_parquet(args.out)
        out.print(f"wrote {rows.height:,} rows to {args.out}")
    return 0


def _print_headline(reach) -> None:
    import polars as pl
    rows = reach.filter(pl.col("network") == "all", pl.col("total_reach").is_not_null())
    if rows.height == 0:
        return
    t = Table(title="distinct people reached (all networks) vs the potential reach others report")
    for col in ("campaign", "first degree", "+ second degree", "total", "potential", "dedup"):
        t.add_column(col, justify="left" if col == "campaign" else "right")
    for r in rows.iter_rows(named=True):
        t.add_row(r["campaign_id"], f"{r['first_degree_reach']:,}",
                  f"{r['second_degree_reach']:,}", f"{r['total_reach']:,}",
                  f"{r['potential_reach']:,}",
                  f"{r['dedup_ratio']:.0%}" if r["dedup_ratio"] is not None else "-")
    out.print(t)


def run(args: argparse.Namespace) -> int:
    code = etl(args)
    return code or compute(args)


def validate(args: argparse.Namespace) -> int:
    from etl.gx import validate_lake
    from etl.lake import Lake
    lake = Lake.open(args.lake)
    err.print("running the expectation suites through Great Expectations ...")
    report = validate_lake(lake, docs=not args.no_docs)
    t = Table(title=f"validation of {lake.root}: "
              + ("[green]passed[/]" if report.success else "[red]FAILED[/]"))
    for col in ("table", "rule", "columns", "result", "unexpected", "examples"):
        t.add_column(col, justify="right" if col == "unexpected" else "left")
    for r in report.results:
        t.add_row(r.table, r.rule, r.columns, "ok" if r.success else "[red]failed[/]",
                  f"{r.unexpected:,}", ", ".join(map(str, r.sample[:3])))
    out.print(t)
    for p in report.manifest_problems:
        out.print(f"[red]manifest:[/] {p}")
    if report.docs_index:
        out.print(f"data docs: file://{report.docs_index}")
    return 0 if report.success else 1


def dashboard(args: argparse.Namespace) -> int:
    from dashboards.app import serve
    from etl.lake import Lake
    lake = Lake.open(args.lake)
    if lake.location.local is None:
        raise UsageError(f"the dashboard serves a lake on this machine's disk; {lake.root} is "
                         "on object storage. Copy it down first (e.g. aws s3 sync), or "
                         "publish the marts to a warehouse: reach publish")
    out.print(f"dashboard for {lake.root} at http://{args.host}:{args.port} ({args.workers} "
              f"process{'es' if args.workers > 1 else ''} × {args.threads} threads; Ctrl+C "
              "stops)")
    serve(lake.root, host=args.host, port=args.port, min_people=min_people(args),
          workers=args.workers, threads=args.threads, viewer_user=args.viewer_user)
    return 0


def report(args: argparse.Namespace) -> int:
    from dashboards.queries import MartReader
    from dashboards.report import render, report_html
    from etl.lake import Lake
    lake = Lake.open(args.lake)
    if lake.location.local is None:
        raise UsageError(f"the report reads a lake on this machine's disk; {lake.root} is on "
                         "object storage")
    reader = MartReader(Path(lake.root), min_people(args))
    if not reader.available():
        raise UsageError(f"no marts in {lake.root}: run reach compute --lake {lake.root}")
    path = render(report_html(reader, args.campaign), args.out)
    out.print(f"report for {args.campaign} → {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0


def min_people(args: argparse.Namespace) -> int:
    """--min-people, else $REACH_MIN_PEOPLE, else the default; never negative."""
    import os

    from reach.engine.privacy import DEFAULT_MIN_PEOPLE
    value = getattr(args, "min_people", None)
    if value is None:
        env = os.environ.get("REACH_MIN_PEOPLE", "")
        if env and not env.isdigit():
            raise UsageError(f"REACH_MIN_PEOPLE={env!r}: expected a whole number (0 = off)")
        value = int(env) if env else DEFAULT_MIN_PEOPLE
    if value < 0:
        raise UsageError(f"--min-people {value}: expected 0 (off) or more")
    return value


def export(args: argparse.Namespace) -> int:
    import polars as pl

    from etl.lake import Lake
    from reach.engine.privacy import SUPPRESSED, suppress
    from reach.engine.registry import MARTS
    lake = Lake.open(args.lake, as_of=args.as_of)
    if (args.mart is None) == (args.target is None):
        raise UsageError("give either --mart NAME or --for meridian|pymc-marketing")
    name = args.mart or "reach_frequency_weekly"
    known = lake.mart_names()
    if name not in MARTS or (name not in known and not args.as_of):
        hint = f"available: {', '.join(m for m in known if m in MARTS)}" if known else (
            f"no marts yet; run: reach compute --lake {args.lake}")
        raise UsageError(f"--mart '{name}' is not in {lake.location.join('marts')} ({hint}; "
                         f"documented marts: {', '.join(MARTS)})")
    fmt = args.fmt or ("csv" if args.out.suffix.lower() == ".csv" else "parquet")
    if args.as_of:  # marts are not versioned: compute this one from the lake back then
        from reach.engine.marts import compute_marts
        with _progress() as say:
            df = compute_marts(_lake_tables(lake), only=(name,), progress=say)[name]
    else:
        df = lake.read_mart(name)
    if args.campaign:
        if "campaign_id" not in df.columns:
            raise UsageError(f"mart '{name}' has no campaign_id; drop --campaign")
        df = df.filter(pl.col("campaign_id").is_in(args.campaign))
    threshold = min_people(args)
    df = suppress(MARTS[name], df, threshold)
    hidden = df[SUPPRESSED].drop_nulls().len() if SUPPRESSED in df.columns else 0
    if args.target:
        if args.campaign:
            raise UsageError("--for writes the channels (every campaign together); drop "
                             "--campaign, or export --mart reach_frequency_weekly for one")
        df = _media_mix(args.target, df, lake)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        write_csv(df, args.out)  # formula-like text neutralised
    else:
        df.write_parquet(args.out, compression="zstd")
    what = f"`{name}`" + (f" for {args.target}" if args.target else "")
    out.print(f"wrote {df.height:,} rows of {what} to {args.out} ({fmt})")
    if threshold:
        out.print(f"privacy threshold {threshold} people: {hidden:,} rows of `{name}` had "
                  "cells suppressed (left empty; named in its `suppressed` column); "
                  "--min-people 0 turns it off")
    return 0


def _media_mix(target: str, weekly, lake):
    from reach.audience.mmm import meridian_columns, meridian_frame, pymc_frame
    if target == "pymc-marketing":
        return pymc_frame(weekly)
    conversions = lake.read("conversions") if lake.has("conversions") else None
    frame = meridian_frame(weekly, conversions)
    args = ", ".join(f"{k}={v!r}" for k, v in meridian_columns(frame).items())
    out.print("load it in Meridian (add your spend columns as rf_spend):\n"
              "  from meridian.data import load\n"
              f"  load.CsvDataLoader(csv_path=..., kpi_type='non_revenue', "
              f"coord_to_columns=load.CoordToColumns({args}, rf_spend=[...]))",
              markup=False, highlight=False)
    return frame


def publish(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn

    from etl.dburl import safe_url
    from etl.lake import Lake
    from etl.warehouse import default_url
    from etl.warehouse import publish as publish_marts
    lake = Lake.open(args.lake)
    url = args.db or default_url(lake.root)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=err, transient=True)
    with bar:
        task = bar.add_task("publishing", total=None)

        def progress(table: str, done: int, total: int) -> None:
            bar.update(task, description=f"publishing {table}", completed=done, total=total)
        counts = publish_marts(lake.root, url, progress=progress, min_people=min_people(args))
    _print_counts(f"published to {safe_url(url)} (one transaction)", counts)
    out.print("analyst queries to start from: sql/analyst/*.sql")
    return 0


def demo(args: argparse.Namespace) -> int:
    from .main import build_parser
    work = args.workdir
    data, lake = work / "data", work / "lake"

    def parsed(*argv: str) -> argparse.Namespace:
        """The same arguments, defaults included, as typing the command would give."""
        return build_parser().parse_args([str(a) for a in argv])
    if not (data / "posts.csv").exists():
        sample(parsed("sample", "--out", data))
    etl(parsed("etl", data, "--lake", lake))
    compute(parsed("compute", "--lake", lake))
    out.print(f"\nnext: reach validate --lake {lake}   ·   reach export --lake {lake} "
              f"--mart reach --out reach.csv")
    if args.no_serve:
        return 0
    return dashboard(parsed("dashboard", "--lake", lake, "--host", args.host, "--port",
                            args.port))
