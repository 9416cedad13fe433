"""What a rejected row looks like: its values as text, where it was, and why.

Every table's quarantine file has the row's own columns (text, as received), then
``file``, ``line``, ``reason`` ("posts.csv line 12: `likes` is -3; ... (rule: ...)") and
``batch_id``. The loader builds them here, whether a table is checked whole or in pieces.
"""

from __future__ import annotations

import polars as pl


def combine(*reasons: pl.Series) -> pl.Series:
    """Per row, every non-null reason joined with "; " (null where there is none)."""
    df = pl.DataFrame({f"r{i}": r for i, r in enumerate(reasons)})
    out = df.select(pl.concat_str(pl.all(), separator="; ", ignore_nulls=True).alias("reason"))
    return out.select(pl.when(pl.col("reason").str.len_bytes() > 0)
                      .then(pl.col("reason"))).to_series()


def as_text(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.all().cast(pl.String, strict=False))


def _rule_of(reason: pl.Expr) -> pl.Expr:
    """The rules a reason names ("(rule: type)" ...), joined."""
    return reason.str.extract_all(r"\(rule: ([^)]+)\)").list.eval(
        pl.element().str.slice(7).str.strip_chars_end(")")).list.join(", ")


def rejected(values: pl.DataFrame, file: pl.Series, line: pl.Series, line_word: str,
             reason: pl.Series, batch_id: str) -> pl.DataFrame:
    """Quarantine rows: the values as text, file, line, "FILE line N: reason", batch."""
    where = pl.DataFrame({"file": file.alias("file"), "line": line.alias("line")})
    return pl.concat([as_text(values), where], how="horizontal").with_columns(
        pl.format("{} {} {}: {}", pl.col("file"), pl.lit(line_word), pl.col("line"),
                  reason).alias("reason"),
        pl.lit(batch_id).alias("batch_id"))


def tally(q: pl.DataFrame) -> dict[str, int]:
    """Rows per rule, most frequent first."""
    return dict(q.select(_rule_of(pl.col("reason")).alias("rule")).group_by("rule").len()
                .sort("len", descending=True).iter_rows())
