"""SNAP edge lists as a follower graph.

Format: one ``a b`` pair per line (whitespace separated), ``#`` starts a comment,
optionally gzipped (``.txt.gz``). In a directed list (ego-Twitter) ``a`` follows ``b``.
In an undirected list (ego-Facebook, ``--undirected``, recognised from a file name
containing "facebook") each line is a friendship: both follow each other, so it
becomes two follow rows.

Maps to: ``follows`` (network, follower_id, followee_id) and ``accounts`` (every id
seen, with no handle and no followers_count). What it lacks: posts, shares,
campaigns — load those from another source into the same lake. Self-loops and
repeated pairs are passed on and quarantined by the follows suite, so they are counted.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from reach.errors import TableError, UsageError

from .base import Extract, TablePart, gunzip


def looks_like_snap(path: Path) -> bool:
    files = [path] if path.is_file() else [p for p in path.iterdir() if p.is_file()]
    return any(re.search(r"\.(txt|edges|tsv)(\.gz)?$", p.name) for p in files)


def _network_from_name(path: Path) -> str:
    stem = path.name.split(".")[0].lower()
    for known in ("twitter", "facebook", "instagram", "linkedin", "tiktok"):
        if known in stem:
            return known
    return re.sub(r"[^a-z0-9_]+", "_", stem).strip("_") or "snap"


def read_snap(path: Path, *, network: str | None = None, undirected: bool | None = None
              ) -> Extract:
    files = [path] if path.is_file() else sorted(
        p for p in path.iterdir() if p.is_file() and re.search(r"\.(txt|edges|tsv)(\.gz)?$",
                                                               p.name))
    if not files:
        raise UsageError(f"{path}: no SNAP edge-list files (*.txt, *.txt.gz) found")
    root = path if path.is_dir() else path.parent
    ext = Extract(fmt="snap", source=str(path), root=root)
    ext.notes.append("SNAP edge lists carry only the follower graph: load posts, shares and "
                     "campaigns from another source into the same lake to compute reach")
    for f in files:
        net = network or _network_from_name(f)
        und = undirected if undirected is not None else "facebook" in f.name.lower()
        data = gunzip(f, f.name) if f.name.endswith(".gz") else f.read_bytes()
        try:
            df = pl.read_csv(io.BytesIO(data), has_header=False, separator=" ",
                             comment_prefix="#", new_columns=["a", "b"],
                             schema_overrides={"a": pl.String, "b": pl.String},
                             truncate_ragged_lines=True)
        except Exception as exc:
            raise TableError(f"{f.name}: not a SNAP edge list ('a b' per line): "
                             f"{str(exc).splitlines()[0]}") from exc
        # Line numbers: count lines that are not comments or blank.
        text_lines = data.decode("utf-8", "replace").splitlines()
        numbers = [i + 1 for i, ln in enumerate(text_lines)
                   if ln.strip() and not ln.lstrip().startswith("#")]
        if len(numbers) != df.height:
            numbers = list(range(1, df.height + 1))
        lines = pl.Series("line", numbers, dtype=pl.Int64)
        follows = df.select(pl.lit(net).alias("network"), pl.col("a").alias("follower_id"),
                            pl.col("b").alias("followee_id"))
        if und:
            back = df.select(pl.lit(net).alias("network"), pl.col("b").alias("follower_id"),
                             pl.col("a").alias("followee_id"))
            follows = pl.concat([follows, back])
            lines = pl.concat([lines, lines])
            ext.repairs[f"{f.name}: friendships made into two follow rows"] = df.height
        ext.files.append(f)
        ext.parts.append(TablePart("follows", follows, f.name, lines))
        ids = pl.concat([df["a"], df["b"]]).unique(maintain_order=True)
        ext.parts.append(TablePart(
            "accounts", pl.DataFrame({"network": pl.repeat(net, ids.len(), eager=True),
                                      "account_id": ids}),
            f"{f.name} (ids seen)", pl.int_range(1, ids.len() + 1, eager=True), "id"))
    return ext
