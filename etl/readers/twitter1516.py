"""Twitter15 / Twitter16 propagation trees (Ma, Gao & Wong, ACL 2017).

Layout: ``twitter15/`` and/or ``twitter16/``, each with ``label.txt``
(``label:source_tweet_id``) and ``tree/<source_tweet_id>.txt``, one edge a line:
``['uid', 'tweet_id', 'delay_minutes']->['uid', 'tweet_id', 'delay_minutes']``.

How it maps onto the canonical tables (network ``twitter`` unless ``--network``):

* ``campaigns``: one per data set and label, e.g. ``twitter15:false`` ("Twitter15 —
  false"), so marts compare rumour classes the way they compare campaigns;
* ``posts``: one per tree; ``post_id`` is the file's source tweet id, ``account_id`` the
  root's uid, ``created_at`` decoded from the tweet id (Twitter snowflake ids carry their
  creation time in milliseconds); engagement counts and sentiment are unknown (empty);
* ``shares``: one per non-root node; a node is the whole (uid, tweet_id, delay) triple,
  because retweets reuse the source tweet id; ``created_at`` = post time + delay;
  ``parent_id`` = the parent node's share id, or the post id when the parent is the root;
* ``accounts``: every uid seen, with nothing else known.

What it lacks: a follower graph. Reach (first/second degree) for this network stays
unknown (empty) unless a follower graph is loaded too; it is never invented.

Messy data is repaired by rule and every repair counted in the load report:
repeated lines and self-loops are dropped; a node with several parents keeps the
earliest; a negative delay is clamped to the post time; a parent later than its child
and nodes cut off from the root (cycles, orphans) get an empty ``parent_id``, to be
reconstructed; a tree whose root id differs from its file name keeps the file name;
a source tweet present in both sets is read from the first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from reach.errors import UsageError

from .base import Extract, TablePart

EDGE = (r"^\['([^']*)', '([^']*)', '([^']*)'\]->\['([^']*)', '([^']*)', '([^']*)'\]$")
SNOWFLAKE_EPOCH_MS = 1288834974657


def dataset_dirs(path: Path) -> list[Path]:
    if (path / "tree").is_dir():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / "tree").is_dir())


def looks_like_twitter1516(path: Path) -> bool:
    return path.is_dir() and bool(dataset_dirs(path))


def _read_lines(dirs: list[Path]) -> tuple[pl.DataFrame, pl.DataFrame, list[Path]]:
    rows, labels, files = [], [], []
    for d in dirs:
        lab = d / "label.txt"
        if lab.is_file():
            files.append(lab)
            for ln in lab.read_text().split():
                label, _, tid = ln.partition(":")
                labels.append((d.name, tid.strip(), label.strip()))
        for f in sorted((d / "tree").glob("*.txt")):
            files.append(f)
            for i, text in enumerate(f.read_text().splitlines(), start=1):
                rows.append((d.name, f.stem, f"{d.name}/tree/{f.name}", i, text.strip()))
    lines = pl.DataFrame(rows, schema=["dataset", "post_id", "file", "line", "text"],
                         orient="row")
    label_df = pl.DataFrame(labels, schema=["dataset", "post_id", "label"], orient="row")
    return lines, label_df, files


def read_twitter1516(path: Path, *, network: str | None = None) -> Extract:
    dirs = dataset_dirs(path)
    if not dirs:
        raise UsageError(f"{path}: no Twitter15/16 layout (expected <set>/tree/*.txt and "
                         "<set>/label.txt)")
    net = network or "twitter"
    ext = Extract(fmt="twitter15_16", source=str(path), root=path)
    ext.notes.append(f"Twitter15/16 has no follower graph: reach on `{net}` stays unknown "
                     "unless a follower graph is loaded; cascades come from the trees")
    lines, labels, files = _read_lines(dirs)
    ext.files = files
    rep = ext.repairs

    # Source tweets present in several sets: read from the first.
    first_set = lines.group_by("post_id").agg(pl.col("dataset").min().alias("keep"))
    dup_trees = first_set.join(lines.select("post_id", "dataset").unique(), on="post_id"
                               ).filter(pl.col("dataset") != pl.col("keep"))
    rep["trees present in both sets, read from the first"] = dup_trees.height
    lines = lines.join(first_set, on="post_id").filter(pl.col("dataset") == pl.col("keep")
                                                       ).drop("keep")

    e = lines.with_columns(pl.col("text").str.extract_groups(EDGE).alias("g")).unnest("g")
    e = e.rename({"1": "pu", "2": "pt", "3": "pd", "4": "cu", "5": "ct", "6": "cd"})
    rep["unreadable lines skipped"] = e.filter(pl.col("pu").is_null()).height
    e = e.filter(pl.col("pu").is_not_null()).with_columns(
        pl.col("pd").cast(pl.Float64, strict=False), pl.col("cd").cast(pl.Float64, strict=False))

    before = e.height
    e = e.unique(subset=["post_id", "pu", "pt", "pd", "cu", "ct", "cd"], keep="first",
                 maintain_order=True)
    rep["repeated lines dropped"] = before - e.height

    roots = (e.filter(pl.col("pu") == "ROOT").group_by("post_id", maintain_order=True)
             .agg(pl.col("cu").first().alias("root_uid"), pl.col("ct").first().alias("root_tid"),
                  pl.col("cd").first().alias("root_delay"), pl.col("dataset").first(),
                  pl.col("file").first(), pl.col("line").first()))
    rep["trees whose root tweet id differs from the file name (file name kept)"] = (
        roots.filter(pl.col("root_tid") != pl.col("post_id")).height)
    e = e.filter(pl.col("pu") != "ROOT").join(
        roots.select("post_id", "root_uid", "root_tid", "root_delay"), on="post_id")
    node = ["cu", "ct", "cd"]
    is_self = (pl.col("pu") == pl.col("cu")) & (pl.col("pt") == pl.col("ct")) & (
        pl.col("pd") == pl.col("cd"))
    rep["self-loops dropped"] = e.filter(is_self).height
    e = e.filter(~is_self)
    child_is_root = ((pl.col("cu") == pl.col("root_uid")) & (pl.col("ct") == pl.col("root_tid"))
                     & (pl.col("cd") == pl.col("root_delay")))
    rep["edges back into the root dropped"] = e.filter(child_is_root).height
    e = e.filter(~child_is_root)
    before = e.height
    e = e.sort("post_id", *node, "pd", "line").unique(subset=["post_id", *node], keep="first",
                                                       maintain_order=True)
    rep["extra parents dropped (a node keeps its earliest parent)"] = before - e.height

    # Share ids are the node triple; the root node maps to the post itself.
    sid = pl.concat_str([pl.col("post_id"), pl.col("cu"), pl.col("ct"), pl.col("cd")
                         .cast(pl.String)], separator=":")
    parent_is_root = ((pl.col("pu") == pl.col("root_uid")) & (pl.col("pt") == pl.col("root_tid"))
                      & (pl.col("pd") == pl.col("root_delay")))
    psid = pl.concat_str([pl.col("post_id"), pl.col("pu"), pl.col("pt"), pl.col("pd")
                          .cast(pl.String)], separator=":")
    e = e.with_columns(sid.alias("share_id"),
                       pl.when(parent_is_root).then(pl.col("post_id")).otherwise(psid)
                       .alias("parent_id"))
    rep["negative delays clamped to the post time"] = e.filter(pl.col("cd") < 0).height
    e = e.with_columns(pl.col("cd").clip(lower_bound=0.0).alias("delay"),
                       pl.col("pd").clip(lower_bound=0.0).alias("pdelay"))
    later_parent = pl.col("pdelay") > pl.col("delay")
    rep["parent later than child: parent_id left empty"] = e.filter(later_parent).height
    e = e.with_columns(pl.when(later_parent).then(None).otherwise(pl.col("parent_id"))
                       .alias("parent_id"))
    e = _cut_unreachable(e, rep)

    post_ms = (pl.col("post_id").cast(pl.Int64, strict=False) // (1 << 22)) + SNOWFLAKE_EPOCH_MS
    posts = roots.join(labels, on=["dataset", "post_id"], how="left").with_columns(
        pl.lit(net).alias("network"), pl.col("root_uid").alias("account_id"),
        post_ms.cast(pl.Datetime("ms", "UTC")).cast(pl.Datetime("us", "UTC"))
        .alias("created_at"),
        pl.when(pl.col("label").is_not_null())
        .then(pl.concat_str([pl.col("dataset"), pl.col("label")], separator=":"))
        .alias("campaign_id"))
    shares = e.join(posts.select("post_id", pl.col("created_at").alias("t0")), on="post_id"
                    ).with_columns(
        pl.lit(net).alias("network"), pl.col("cu").alias("sharer_id"),
        (pl.col("t0") + pl.duration(microseconds=(pl.col("delay") * 60e6).cast(pl.Int64)))
        .alias("created_at"))
    campaigns = posts.select("campaign_id", "dataset", "label").drop_nulls().unique().sort(
        "campaign_id").with_columns(
        pl.concat_str([pl.col("dataset").str.to_titlecase(), pl.lit(" — "), pl.col("label")]
                      ).alias("name"), pl.lit("research").alias("objective"))
    accounts = pl.concat([posts.select("account_id"), shares.select(
        pl.col("sharer_id").alias("account_id"))]).unique(maintain_order=True)

    ext.parts = [
        TablePart("campaigns", campaigns.select("campaign_id", "name", "objective"),
                  "label.txt", pl.int_range(1, campaigns.height + 1, eager=True), "label"),
        TablePart("accounts", accounts.with_columns(pl.lit(net).alias("network")),
                  "tree files (uids seen)", pl.int_range(1, accounts.height + 1, eager=True),
                  "id"),
        TablePart("posts", posts.select("network", "post_id", "account_id", "created_at",
                                        "campaign_id"), "tree roots", posts["line"], "line"),
        TablePart("shares", shares.select("network", "share_id", "post_id", "sharer_id",
                                          "created_at", "parent_id"),
                  "tree edges", shares["line"], "line"),
    ]
    ext.parts[2].files = posts["file"]
    ext.parts[3].files = shares["file"]
    return ext


def _cut_unreachable(e: pl.DataFrame, rep: dict[str, int]) -> pl.DataFrame:
    """Nodes whose parent chain never reaches the root (cycles, unknown parents) lose it.

    A chain may also end at a node with an empty parent_id: that node is reconstructed
    later, so its descendants keep their parents. Vectorised by pointer doubling.
    """
    n = e.height
    index = e.select("share_id").with_row_index("i")
    parent = (e.select("share_id", "parent_id", "post_id")
              .join(index.rename({"share_id": "parent_id", "i": "pi"}), on="parent_id",
                    how="left", maintain_order="left"))
    ends_well = (pl.col("parent_id").is_null() | (pl.col("parent_id") == pl.col("post_id")))
    flags = parent.select(ends_well.alias("good_end"),
                          (pl.col("pi").is_null() & ~ends_well).alias("bad_end"))
    terminal_good = flags["good_end"].to_numpy()
    terminal = terminal_good | flags["bad_end"].to_numpy()
    jump = parent["pi"].fill_null(0).to_numpy().astype(np.int64)
    jump[terminal] = np.flatnonzero(terminal)
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        jump = jump[jump]
    ok = terminal[jump] & terminal_good[jump]
    cut = (~ok) & e["parent_id"].is_not_null().to_numpy()
    rep["cut off from the root (cycle or unknown parent): parent_id left empty"] = int(cut.sum())
    if not cut.any():
        return e
    return e.with_columns(pl.when(pl.Series(cut)).then(None)
                          .otherwise(pl.col("parent_id")).alias("parent_id"))
