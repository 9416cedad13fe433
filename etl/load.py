"""Extract → validate → load one batch into the lake.

Every input row ends up either accepted into ``tables/`` or in ``quarantine/`` with a
reason naming the file, the line, the column, the value and the rule, so that
rows in = accepted + quarantined holds for every table of every load. A batch whose
files were loaded before (same hashes) changes nothing. Keys already in the lake are
replaced by the newer batch's rows (upsert); duplicates inside one batch keep the
first row and quarantine the rest.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from reach.errors import LakeError, ReachError
from reach.schema import LOAD_ORDER, TABLES, Table

from .context import posts_context, shares_context
from .follows_load import FollowsLoad
from .id_numbers import HashCollision, warm_up
from .lake import KEYS_TABLE, Lake, LoadCommit, check_new_lake
from .parse import to_canonical
from .quarantine import as_text, combine, rejected, tally
from .readers.base import Extract
from .rules import default_params, row_violations
from .storage import Location

#: sort order inside each partition (follows: etl.follows_load, by followee key)
SORT_KEYS = {
    "campaigns": ["campaign_id"],
    "accounts": ["account_key"],
    "posts": ["created_at", "post_id"],
    "shares": ["post_id", "created_at", "share_id"],
    "conversions": ["converted_at", "account_key"],
}


#: follows are matched on their dense keys (one-to-one with the ids in a network): the
#: files are in followee_key order, so a MERGE reads only files whose range it touches
MERGE_KEYS = {"follows": ["network", "followee_key", "follower_key"]}
#: further attempts, each with other hash seeds, when two follows ids share a hash
COLLISION_RETRIES = 2


@dataclass
class TableCount:
    rows_in: int = 0
    accepted: int = 0
    quarantined: int = 0
    replaced: int = 0


@dataclass
class LoadReport:
    batch_id: str | None
    skipped: bool = False
    counts: dict[str, TableCount] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    repairs: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    quarantine_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    #: the first few quarantine reasons per table (file, line, column, value, rule)
    quarantine_examples: dict[str, list[str]] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def _exclusive(where: Location):
    """One load at a time: a lock file on local disk (README.md, "The lake" says what
    object stores need instead)."""
    if where.local is None:
        yield
        return
    check_new_lake(where)  # before the lock file: a refused folder is left as it was
    where.local.mkdir(parents=True, exist_ok=True)
    with open(where.local / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LakeError(f"another load is writing to {where}; wait for it to finish"
                            ) from exc
        yield


class _TableBatch:
    """One table's rows of this batch, typed, with reasons for the rejected ones.

    The raw values and the "file line N" locations are only materialised for the rows
    that end up in quarantine: at ten million rows, copies cost more than checks.
    """

    def __init__(self, spec: Table, extract: Extract):
        typed, raw, reasons, files, lines = [], [], [], [], []
        self.line_word = "line"
        for part in (p for p in extract.parts if p.table == spec.name):
            t, r = to_canonical(part.raw, spec)
            typed.append(t)
            raw.append(part.raw)
            reasons.append(r if part.reader_reason is None else combine(part.reader_reason, r))
            # One name per part, not ten million copies: rows get theirs when needed.
            files.append((part.files if part.files is not None else part.file,
                          part.raw.height))
            lines.append(part.lines.alias("line"))
            self.line_word = part.line_word
        self.spec = spec
        self.parts_raw = raw
        self.typed = (pl.concat(typed, how="diagonal") if typed
                      else pl.DataFrame(schema=spec.schema))
        flags = [c for c in self.typed.columns if c.startswith("__type_failed_")]
        self.typed = self.typed.with_columns(pl.col(flags).fill_null(False))
        self.file_parts = files
        self.line = pl.concat(lines) if lines else pl.Series("line", [], pl.Int64)
        self.type_reason = (pl.concat(reasons) if reasons
                            else pl.Series("reason", [], dtype=pl.String))

    @property
    def height(self) -> int:
        return self.typed.height

    def files(self, mask: pl.Series) -> pl.Series:
        """The source file of each row in ``mask``."""
        out, start = [], 0
        for names, height in self.file_parts:
            m = mask.slice(start, height)
            start += height
            out.append(names.filter(m) if isinstance(names, pl.Series)
                       else pl.repeat(names, int(m.sum()), eager=True, dtype=pl.String))
        return (pl.concat(out) if out else pl.Series([], dtype=pl.String)).alias("file")

    def where(self, mask: pl.Series | None = None) -> pl.Series:
        """ "posts.csv line 12" for the rows in ``mask`` (all rows if None)."""
        if mask is None:
            mask = pl.Series([True] * self.height)
        df = pl.DataFrame({"file": self.files(mask), "line": self.line.filter(mask)})
        return df.select(pl.format("{} {} {}", pl.col("file"), pl.lit(self.line_word),
                                   pl.col("line"))).to_series().alias("where")

    def raw_rows(self, mask: pl.Series) -> pl.DataFrame:
        """The rejected rows' original values, as text."""
        frames, start = [], 0
        for raw in self.parts_raw:
            m = mask.slice(start, raw.height)
            start += raw.height
            if m.any():
                frames.append(as_text(raw.filter(m)))
        return pl.concat(frames, how="diagonal") if frames else pl.DataFrame()


def _duplicate_reason(batch: _TableBatch, ok: pl.Series) -> pl.Series:
    """Reasons for later rows repeating the key of an earlier accepted row."""
    key = list(batch.spec.key)
    keys = batch.typed.select(key)
    none = pl.Series("reason", [None] * batch.height, dtype=pl.String)
    # One 64-bit hash per row first (strings compared only where hashes repeat).
    maybe = keys.select(pl.struct(key).hash()).to_series().is_duplicated()
    if not maybe.any():  # the common case: nothing to explain, nothing to build
        return none
    dup = maybe.clone().scatter(maybe.arg_true(), keys.filter(maybe).is_duplicated()) & ok
    if not dup.any():
        return none
    idx = pl.int_range(0, batch.height, eager=True).alias("_i")
    rows = keys.with_columns(idx, ok.alias("_ok")).filter(dup)
    firsts = (rows.filter(pl.col("_ok")).group_by(key, maintain_order=True)
              .agg(pl.col("_i").first().alias("_first")))
    j = rows.join(firsts, on=key, how="left", nulls_equal=True, maintain_order="left")
    later = j.filter(pl.col("_i") != pl.col("_first"))
    where_first = batch.where().gather(later["_first"])
    key_shown = later.select(pl.concat_str([pl.col(k).cast(pl.String) for k in key],
                                           separator=", ")).to_series()
    msgs = pl.DataFrame({"_i": later["_i"]}).with_columns(
        (pl.lit(f"duplicate key ({', '.join(key)}) = (") + key_shown + pl.lit("); the first, at ")
         + where_first + pl.lit(", was kept (rule: unique-key)")).alias("m"))
    out = pl.DataFrame({"_i": idx}).join(msgs, on="_i", how="left", maintain_order="left")
    return out["m"].alias("reason")


def _stored(lake_tables: dict[str, pl.LazyFrame], table: str, posts: pl.DataFrame,
            shares: pl.Series | None = None) -> pl.DataFrame:
    """The lake's rows of ``table`` about the batch's ``posts`` (its post_id values), and
    the ``shares`` its shares name as parents: all the cross-row rules look at (a daily
    batch reads a few row groups, not the table)."""
    wanted = pl.col("post_id").is_in(posts["post_id"].unique().drop_nulls().implode())
    if shares is not None:
        wanted = wanted | pl.col("share_id").is_in(shares.unique().drop_nulls().implode())
    return lake_tables[table].filter(wanted).select(TABLES[table].names).collect()


def _validate(batch: _TableBatch, lake_tables: dict[str, pl.LazyFrame],
              accepted: dict[str, pl.DataFrame], params: dict[str, Any]) -> pl.Series:
    """Reason per row (null = accepted) for one table's batch.

    Rows are also checked against the lake's shares: a post may not move after a share
    already loaded, nor a share after a reshare already loaded, whatever else the batch
    holds (the corrected shares are loaded first, then the post)."""
    name = batch.spec.name
    typed = batch.typed
    if name != "shares":
        checked = (posts_context(typed, _stored(lake_tables, "shares",
                                                typed.select("network", "post_id")))
                   if name == "posts" else typed)
        rules = row_violations(checked, name, params)
        reason = combine(batch.type_reason, rules)
        return combine(reason, _duplicate_reason(batch, reason.is_null()))
    batch_posts = typed.select("network", "post_id")
    lake_shares = _stored(lake_tables, "shares", batch_posts, typed["parent_id"])
    posts = _stored(lake_tables, "posts", batch_posts)
    if "posts" in accepted:  # a batch may hold shares and no posts
        posts = pl.concat([posts, accepted["posts"].select(TABLES["posts"].names)])
    ok = pl.Series([True] * batch.height, dtype=pl.Boolean)  # typed even when empty
    # A share whose parent is rejected loses its parent too: repeat until stable.
    for _ in range(64):
        candidates = pl.concat([lake_shares, typed.filter(ok).select(lake_shares.columns)])
        rules = row_violations(shares_context(typed, posts, candidates, lake_shares), name,
                               params)
        reason = combine(batch.type_reason, rules)
        reason = combine(reason, _duplicate_reason(batch, reason.is_null()))
        new_ok = reason.is_null()
        if (new_ok == ok).all():
            break
        ok = new_ok
    return reason


def _check_tables(extract: Extract, lake: Lake, batch_id: str,
                  accepted: dict[str, pl.DataFrame], quarantined: dict[str, pl.DataFrame],
                  report: LoadReport, say: Callable[[str], None]) -> None:
    """Check every table but the follows, whole and in load order: cross-row rules (a
    share's post, a post's campaign) hold against the batch and the lake."""
    lake_tables = {t: lake.scan(t) for t in ("posts", "shares")}
    campaigns_known = lake.read("campaigns")["campaign_id"].to_list()
    for name in LOAD_ORDER:
        spec = TABLES[name]
        if name == "follows":
            continue
        batch = _TableBatch(spec, extract)
        if batch.height == 0 and not any(p.table == name for p in extract.parts):
            continue
        say(f"validating {name} ({batch.height:,} rows)")
        if name == "posts":
            ids = campaigns_known + accepted.get("campaigns", pl.DataFrame(
                schema={"campaign_id": pl.String}))["campaign_id"].to_list()
            params = default_params(ids)
        else:
            params = default_params()
        reason = _validate(batch, lake_tables, accepted, params)
        good = reason.is_null()
        accepted[name] = batch.typed.filter(good).select(spec.names)
        bad = ~good
        q = rejected(batch.raw_rows(bad), batch.files(bad), batch.line.filter(bad),
                     batch.line_word, reason.filter(bad), batch_id
                     ) if bad.any() else pl.DataFrame()
        quarantined[name] = q
        report.counts[name] = TableCount(batch.height, int(good.sum()), int(bad.sum()))
        if extract.files:  # raw/ is copied from the files: the parsed text can go
            for part in extract.parts:
                if part.table == name:
                    part.raw = part.raw.clear()
        del batch
        if q.height:
            report.quarantine_reasons[name] = tally(q)
            report.quarantine_examples[name] = q["reason"].head(3).to_list()


def _assign_keys(existing: pl.DataFrame, accepted: dict[str, pl.DataFrame],
                 more: Sequence[pl.DataFrame] = ()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Extend the per-network account-key map with every new account id, deterministically.

    ``more``: further (network, account_id) frames (the streamed follows' ids).
    Returns (every key, the new ones): keys never change, so a load only appends."""
    seen = [df.select("network", pl.col(col).alias("account_id")).unique()
            for t, df in accepted.items() for col in TABLES[t].account_keys] + list(more)
    if not seen:
        return existing, existing.clear()
    ids = pl.concat(seen).drop_nulls().unique()
    new = ids.join(existing, on=["network", "account_id"], how="anti").sort("network",
                                                                             "account_id")
    base = existing.group_by("network").agg(pl.col("account_key").max().alias("_max"))
    new = (new.join(base, on="network", how="left")
           .with_columns((pl.col("_max").fill_null(-1) + 1
                          + pl.int_range(pl.len()).over("network")).cast(pl.Int32)
                         .alias("account_key")).drop("_max"))
    new = new.select("network", "account_id", "account_key")
    return pl.concat([existing.select("network", "account_id", "account_key"), new]), new


def _with_keys(df: pl.DataFrame, spec: Table, keys: pl.DataFrame) -> pl.DataFrame:
    """Add the dense key columns; ``df`` and ``keys`` hold one network."""
    for col, key_col in spec.account_keys.items():
        k = keys.select(pl.col("account_id").alias(col), pl.col("account_key").alias(key_col))
        df = df.join(k, on=col, how="left", maintain_order="left")
    return df


def load(extract: Extract, lake_root: str | Path | Location, *,
         progress: Callable[[str], None] | None = None) -> LoadReport:
    """Validate ``extract`` and commit it to the lake as one atomic batch."""
    say = progress or (lambda _m: None)
    where = Location(lake_root)
    with _exclusive(where), _staging(where) as staging:
        if any(p.table == "follows" for p in extract.parts):
            threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
        lake = Lake.open(where, create=True)
        say("hashing inputs")
        files = [{"path": (f.relative_to(extract.root).as_posix()
                           if extract.root and f.is_relative_to(extract.root) else f.name),
                  "sha256": file_sha256(f), "bytes": f.stat().st_size} for f in extract.files]
        frames_hash = [hashlib.sha256(
            p.raw.hash_rows().to_numpy().tobytes()).hexdigest()
            for p in extract.parts] if not extract.files else []
        input_hash = hashlib.sha256(
            "\n".join([extract.fmt] + [f"{x['path']}:{x['sha256']}" for x in files]
                      + frames_hash).encode()).hexdigest()
        manifest = lake.manifest()
        for prior in manifest["loads"]:
            if prior["input_hash"] == input_hash:
                return LoadReport(batch_id=prior["batch_id"], skipped=True,
                                  notes=[f"these inputs were already loaded as batch "
                                         f"{prior['batch_id']} on {prior['loaded_at']}; "
                                         "nothing changed"])
        batch_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + input_hash[:8]
        report = LoadReport(batch_id=batch_id, warnings=list(extract.warnings),
                            repairs=dict(extract.repairs), notes=list(extract.notes))
        accepted: dict[str, pl.DataFrame] = {}
        quarantined: dict[str, pl.DataFrame] = {}
        # the graph is checked piece by piece, never whole, on a thread of its own while
        # the other tables are checked here (both mostly in Polars, which frees the GIL)
        stop = threading.Event()
        with ThreadPoolExecutor(1, thread_name_prefix="follows") as pool:
            checking = pool.submit(_check_follows, extract, staging, batch_id, say, stop)
            try:
                _check_tables(extract, lake, batch_id, accepted, quarantined, report, say)
            except BaseException:
                stop.set()  # the load fails: do not finish checking the graph
                raise
            follows = checking.result()
        say("assigning account keys")
        keys, new_keys = _assign_keys(
            lake.read(KEYS_TABLE).select("network", "account_id", "account_key"), accepted,
            [follows.account_ids()] if follows else [])
        commit = LoadCommit(lake, batch_id)
        undone = commit.recover()
        if undone:
            report.notes.append("rolled back what an interrupted earlier load had written "
                                f"to: {', '.join(undone)}")
        _write_batch(commit, extract, accepted, quarantined, keys, new_keys, report, say,
                     follows)
        report.counts = {t: report.counts[t] for t in LOAD_ORDER if t in report.counts}
        say("committing")
        commit.finish({
            "batch_id": batch_id, "loaded_at": datetime.now(UTC).isoformat(),
            "source": extract.source, "format": extract.fmt, "input_hash": input_hash,
            "files": files,
            "tables": {t: vars(c) for t, c in report.counts.items()},
            "quarantine_reasons": report.quarantine_reasons,
            "repairs": report.repairs, "warnings": report.warnings, "notes": report.notes,
        })
        return report


@contextmanager
def _staging(where: Location):
    """A scratch folder for the load's staged rows, emptied whatever happens: inside a
    local lake (same disk as the tables), else a temporary folder."""
    path = (Path(where.local) / ".staging" if where.local
            else Path(tempfile.mkdtemp(prefix="reach-load-")))
    shutil.rmtree(path, ignore_errors=True)  # a killed load's leftovers (one load at a time)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _check_follows(extract: Extract, staging: Path, batch_id: str,
                   say: Callable[[str], None], stop: threading.Event) -> FollowsLoad | None:
    """Pass 1 of the streamed follows (etl.follows_load): check every piece."""
    parts = [p for p in extract.parts if p.table == "follows"]
    if not parts:
        return None
    for seed in range(COLLISION_RETRIES + 1):
        shutil.rmtree(staging, ignore_errors=True)  # a previous attempt's files
        staging.mkdir(parents=True, exist_ok=True)
        follows = FollowsLoad(staging, batch_id, default_params(), say, seed=seed, stop=stop)
        try:
            follows.check(parts)
            return follows
        except HashCollision:  # two ids share a hash under this seed: check again
            say("account ids collided under one hash seed; checking follows again")
    raise ReachError(f"account ids of the follows collided under {COLLISION_RETRIES + 1} "
                     "hash seeds, which random ids essentially never do; please report it")


def _write_follows(commit: LoadCommit, follows: FollowsLoad, keys: pl.DataFrame,
                   report: LoadReport, say: Callable[[str], None]) -> None:
    """Passes 2 and 3 of the streamed follows, then their quarantine and one commit."""
    follows.arrange(keys, commit.lake)
    rows = follows.rows_out()
    say(f"writing follows ({rows:,} rows)")
    commit.add_quarantine_parts("follows", follows.quarantine_files())
    if follows.merges:  # the batch changes stored rows
        commit.merge_stream("follows", follows.batches(), rows, MERGE_KEYS["follows"])
    else:
        commit.append_files("follows", follows.buckets(), rows)
    report.counts["follows"] = TableCount(follows.rows_in, follows.accepted,
                                          follows.quarantined, follows.replaced)
    if follows.quarantined:
        report.quarantine_reasons["follows"] = dict(follows.reasons.most_common())
        report.quarantine_examples["follows"] = follows.examples


def _write_batch(commit: LoadCommit, extract: Extract, accepted: dict[str, pl.DataFrame],
                 quarantined: dict[str, pl.DataFrame], keys: pl.DataFrame,
                 new_keys: pl.DataFrame, report: LoadReport, say: Callable[[str], None],
                 follows: FollowsLoad | None) -> None:
    """Files first (nothing points at them until the log row), then one commit per table."""
    say("copying inputs to raw/")
    if extract.files:
        commit.add_raw(extract.files, extract.root)
    else:
        for part in extract.parts:
            commit.add_raw_frame(Path(part.file).stem, as_text(part.raw))
    for name, q in quarantined.items():
        if q.height:
            commit.add_quarantine(name, q)
    commit.append(KEYS_TABLE, new_keys.sort("network", "account_key"))
    if follows:
        _write_follows(commit, follows, keys, report, say)
    net_keys = keys.partition_by("network", as_dict=True, include_key=False)
    for name, df in accepted.items():
        spec = TABLES[name]
        if df.height == 0:
            continue
        say(f"writing {name} ({df.height:,} rows)")
        if spec.partitioned:
            df = pl.concat([_with_keys(part, spec, net_keys[(network,)])
                            for (network,), part in df.partition_by("network", as_dict=True)
                            .items()])
        df = df.sort(SORT_KEYS[name], maintain_order=True)  # within each network's rows
        report.counts[name].replaced = commit.upsert(name, df,
                                                     MERGE_KEYS.get(name, list(spec.key)))
