"""Social-suite exports (Sprout Social, Meta Business Suite, LinkedIn, ...) read through a
mapping file (README.md, "Platform data: social-suite exports").

A suite exports CSV or XLSX with its own column names, dates and number formats. A short
TOML mapping names the canonical table, the export column for each canonical column, and
how to read the export's dates and numbers::

    [source]
    suite = "Sprout Social"           # shown in the load report
    table = "posts"                   # the canonical table the rows become
    skip_rows = 0                     # lines above the header (LinkedIn: 1)
    sheet = "All posts"               # XLSX: the sheet (default: the first)
    timestamp_format = "%m/%d/%Y %I:%M %p"   # strftime; default: ISO-8601
    timezone = "UTC"                  # zone of times written without one
    thousands = ","                   # "1,234" -> 1234
    decimal = "."

    [columns]                         # canonical column = "Export column"
    post_id = "Post ID"
    impressions = "Impressions"       # a suite's impressions / potential reach
    reach = "Reach"                   # its per-post unique reach, where exported

    [values]                          # constants for columns the export lacks
    network = "facebook"

    [network_names]                   # the export's network names -> reach's
    "Twitter" = "x"

Numbers: thousands separators are removed, a decimal comma is read, "12.5%" is 0.125 in a
number column (and a type error in a count column); a value that still does not read is
quarantined by the usual type rule, naming file, row and column. Mappings for three
suites ship in etl/mappings/ and are recognised from an export's header by themselves.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from reach.errors import TableError, UsageError
from reach.schema import TABLES, TIMESTAMP

from .base import Extract, TablePart, conform

SHIPPED = Path(__file__).resolve().parent.parent / "mappings"
EXPORT_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls")
SOURCE_KEYS = {"suite", "table", "skip_rows", "sheet", "timestamp_format", "timezone",
               "thousands", "decimal"}


@dataclass
class Mapping:
    path: Path
    suite: str
    table: str
    columns: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    network_names: dict[str, str] = field(default_factory=dict)
    skip_rows: int = 0
    sheet: str | None = None
    timestamp_format: str | None = None
    timezone: str = "UTC"
    thousands: str = ","
    decimal: str = "."


def shipped_mappings() -> dict[str, Path]:
    """name -> file of the mappings that ship with reach (e.g. 'sprout_social')."""
    return {p.stem: p for p in sorted(SHIPPED.glob("*.toml"))}


def resolve_mapping(name: str | Path) -> Path:
    """A mapping file's path: a path as given, or the name of a shipped mapping."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = shipped_mappings()
    key = str(name).lower().replace("-", "_").removesuffix(".toml")
    if key in shipped:
        return shipped[key]
    raise UsageError(f"--mapping {name}: no such file, and no shipped mapping of that name "
                     f"(shipped: {', '.join(shipped)})")


def read_mapping(path: Path) -> Mapping:
    where = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: not a readable TOML file ({exc})") from None
    src, cols = doc.get("source") or {}, doc.get("columns") or {}
    unknown = set(src) - SOURCE_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key `{sorted(unknown)[0]}` in [source]; the keys "
                         f"are {', '.join(sorted(SOURCE_KEYS))}")
    table = src.get("table")
    if table not in TABLES:
        raise UsageError(f"{where}: [source] table = {table!r} must name a canonical table "
                         f"({', '.join(TABLES)})")
    spec = TABLES[table]
    values = {k: str(v) for k, v in (doc.get("values") or {}).items()}
    for k in (*cols, *values):
        if k not in spec.names:
            raise UsageError(f"{where}: `{k}` is not a column of `{table}` (its columns: "
                             f"{', '.join(spec.names)})")
    missing = [c for c in spec.required if c not in cols and c not in values]
    if missing:
        raise UsageError(f"{where}: required column `{missing[0]}` of `{table}` is neither in "
                         "[columns] nor in [values]")
    return Mapping(path=path, suite=str(src.get("suite") or path.stem), table=table,
                   columns={k: str(v) for k, v in cols.items()}, values=values,
                   network_names={str(k): str(v) for k, v in
                                  (doc.get("network_names") or {}).items()},
                   skip_rows=int(src.get("skip_rows", 0)), sheet=src.get("sheet"),
                   timestamp_format=src.get("timestamp_format"),
                   timezone=str(src.get("timezone", "UTC")),
                   thousands=str(src.get("thousands", ",")), decimal=str(src.get("decimal", ".")))


def looks_like_export(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(EXPORT_SUFFIXES)


def _read_export(path: Path, m: Mapping, header_only: bool = False) -> pl.DataFrame:
    try:
        if path.name.lower().endswith(".csv"):
            return pl.read_csv(path, infer_schema=False, skip_rows=m.skip_rows,
                               truncate_ragged_lines=True, encoding="utf8-lossy",
                               n_rows=0 if header_only else None)
        frame = pl.read_excel(path, sheet_name=m.sheet, infer_schema_length=0,
                              read_options={"header_row": m.skip_rows})
        return frame.with_columns(pl.all().cast(pl.String))
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise TableError(f"{path.name}: not a readable {path.suffix[1:].upper()} export "
                         f"({str(exc).splitlines()[0][:200]})") from None


def detect_mapping(path: Path) -> Path | None:
    """The shipped mapping whose export columns all appear in this export's header."""
    for mpath in shipped_mappings().values():
        m = read_mapping(mpath)
        try:
            header = _read_export(path, m, header_only=True).columns
        except TableError:
            continue
        if set(m.columns.values()) <= set(header):
            return mpath
    return None


def _number(s: pl.Series, m: Mapping, whole: bool) -> pl.Series:
    """ "1,234" -> "1234", "1.234,5" -> "1234.5" (decimal comma), "12.5%" -> "0.125"."""
    s = s.str.strip_chars()
    if m.thousands:
        s = s.str.replace_all(m.thousands, "", literal=True)
    if m.decimal != ".":
        s = s.str.replace_all(m.decimal, ".", literal=True)
    pct = s.str.ends_with("%")
    if whole:  # a percentage is no count: left as written, so the type rule names it
        return s
    value = s.str.strip_suffix("%").cast(pl.Float64, strict=False) / 100
    return pl.select(pl.when(pct & value.is_not_null()).then(value.cast(pl.String))
                     .otherwise(s)).to_series()


def _timestamp(s: pl.Series, m: Mapping) -> pl.Series:
    """Parsed with the mapping's format, written as ISO; an unreadable value stays as it
    was, so the type rule quarantines it with the value shown."""
    if not m.timestamp_format:
        return s
    parsed = s.str.strip_chars().str.to_datetime(m.timestamp_format, strict=False,
                                                 time_unit="us")
    if parsed.dtype.time_zone is None:
        parsed = parsed.dt.replace_time_zone(m.timezone, ambiguous="earliest",
                                             non_existent="null")
    iso = parsed.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
    return pl.select(pl.coalesce(iso, s)).to_series()


def read_export(path: Path, mapping: Path | None, *, network: str | None = None) -> Extract:
    mpath = mapping or detect_mapping(path)
    if mpath is None:
        raise UsageError(
            f"{path}: a CSV or spreadsheet file is read as a social-suite export, and its "
            "header matches no shipped mapping. Give one with --mapping FILE (shipped: "
            f"{', '.join(shipped_mappings())}; the format is in README.md, 'social-suite "
            "exports')")
    m = read_mapping(mpath)
    raw = _read_export(path, m)
    absent = [f"`{src}` (for {col})" for col, src in m.columns.items() if src not in raw.columns]
    if absent:
        raise TableError(
            f"{path.name}: the mapping {mpath.name} ({m.suite}) names column {absent[0]}, "
            f"which the export does not have (its columns: {', '.join(raw.columns[:25])}). "
            "Fix the mapping's [columns] or export the report with that column.")
    spec = TABLES[m.table]
    out = []
    for col, src in m.columns.items():
        s = raw[src].alias(col)
        dtype = spec.column(col).dtype
        if dtype == TIMESTAMP:
            s = _timestamp(s, m)
        elif dtype in (pl.Int64, pl.Float64):
            s = _number(s, m, whole=dtype == pl.Int64)
        out.append(s)
    frame = pl.DataFrame(out, height=raw.height)
    consts = {**m.values, **({"network": network} if network else {})}
    frame = frame.with_columns(pl.lit(v, pl.String).alias(k) for k, v in consts.items())
    if "network" in frame.columns and "network" in m.columns and not network:
        names = {k.lower(): v for k, v in m.network_names.items()}
        low = frame["network"].str.strip_chars().str.to_lowercase()
        frame = frame.with_columns(low.replace(names).str.replace_all(" ", "_").alias("network"))
    ext = Extract(fmt="suite", source=str(path), root=path.parent, files=[path, mpath])
    frame = conform(frame, m.table, path.name, "fix the mapping's [columns]", ext.warnings)
    first = m.skip_rows + 2  # the header's line, then 1-based
    ext.parts = [TablePart(m.table, frame, path.name,
                           pl.int_range(first, first + frame.height, eager=True), "row")]
    ext.notes.append(f"{path.name} read as a {m.suite} export (mapping {mpath.name})")
    if m.table in ("posts", "shares"):
        who = "account_id" if m.table == "posts" else "sharer_id"
        accounts = frame.select("network", pl.col(who).alias("account_id")).drop_nulls(
        ).unique(maintain_order=True)
        ext.parts.insert(0, TablePart("accounts", accounts, f"{path.name} (authors)",
                                      pl.int_range(1, accounts.height + 1, eager=True),
                                      "account"))
    return ext
